-- 004: one profile per Discord user. Every per-user row above belongs to a profile and goes with it.
CREATE TABLE user_profiles (
    user_id                     VARCHAR(100) PRIMARY KEY CHECK (user_id ~ '^[A-Za-z0-9_-]{1,100}$'),
    username                    VARCHAR(100) NOT NULL,
    display_name                VARCHAR(100),
    status                      VARCHAR(20) NOT NULL DEFAULT 'active'
                                CHECK (status IN ('active', 'dormant', 'inactive', 'banned')),
    -- Nullable: the profile exists before (and without) its Letta agent.
    letta_agent_id              VARCHAR(100) UNIQUE,
    personality_profile         VARCHAR(50) NOT NULL DEFAULT 'curious_companion'
                                CHECK (personality_profile IN ('curious_companion', 'supportive_friend',
                                                               'intellectual_mentor', 'creative_collaborator')),
    timezone                    VARCHAR(64) NOT NULL DEFAULT 'UTC',
    proactive_enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    quiet_hours_start           SMALLINT NOT NULL DEFAULT 22 CHECK (quiet_hours_start BETWEEN 0 AND 23),
    quiet_hours_end             SMALLINT NOT NULL DEFAULT 8 CHECK (quiet_hours_end BETWEEN 0 AND 23),
    last_proactive_at           TIMESTAMPTZ,
    unanswered_proactive_count  INTEGER NOT NULL DEFAULT 0 CHECK (unanswered_proactive_count >= 0),
    dm_channel_id               VARCHAR(100),
    last_channel_id             VARCHAR(100),
    total_interactions          INTEGER NOT NULL DEFAULT 0 CHECK (total_interactions >= 0),
    total_proactive_initiations INTEGER NOT NULL DEFAULT 0 CHECK (total_proactive_initiations >= 0),
    created_at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_active_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX ix_user_profiles_last_active ON user_profiles (last_active_at DESC);
CREATE INDEX ix_user_profiles_status ON user_profiles (status);

ALTER TABLE personality_state ADD CONSTRAINT fk_personality_state_user
    FOREIGN KEY (user_id) REFERENCES user_profiles (user_id) ON DELETE CASCADE;
ALTER TABLE interactions ADD CONSTRAINT fk_interactions_user
    FOREIGN KEY (user_id) REFERENCES user_profiles (user_id) ON DELETE CASCADE;
ALTER TABLE quirks ADD CONSTRAINT fk_quirks_user
    FOREIGN KEY (user_id) REFERENCES user_profiles (user_id) ON DELETE CASCADE;
ALTER TABLE needs ADD CONSTRAINT fk_needs_user
    FOREIGN KEY (user_id) REFERENCES user_profiles (user_id) ON DELETE CASCADE;
ALTER TABLE memories ADD CONSTRAINT fk_memories_user
    FOREIGN KEY (user_id) REFERENCES user_profiles (user_id) ON DELETE CASCADE;
ALTER TABLE memory_conflicts ADD CONSTRAINT fk_memory_conflicts_user
    FOREIGN KEY (user_id) REFERENCES user_profiles (user_id) ON DELETE CASCADE;
