-- 011: proactive messages (each initiation with its score components, inner thought, opener and delivery
-- outcome), the record of every scheduled or manual job run, and the profile's note when its stored time
-- zone is unknown (the proactive rules then use UTC and say so here).
ALTER TABLE user_profiles ADD COLUMN timezone_warning TEXT;

CREATE TABLE proactive_messages (
    id               BIGSERIAL PRIMARY KEY,
    user_id          VARCHAR(100) NOT NULL REFERENCES user_profiles (user_id) ON DELETE CASCADE,
    created_at       TIMESTAMPTZ NOT NULL,
    trigger          VARCHAR(20) NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    score            DOUBLE PRECISION NOT NULL CHECK (score BETWEEN 0 AND 1),
    -- need_urgency, timing, interaction_pattern, personality_factor, recent_penalty and their inputs.
    components       JSONB NOT NULL,
    reason           VARCHAR(40) NOT NULL,
    kind             VARCHAR(40) NOT NULL,  -- memory_follow_up | need:<type>
    memory_id        UUID,
    inner_thought    TEXT NOT NULL,
    thought_source   VARCHAR(20) NOT NULL,  -- chat_llm | groq | template
    message          TEXT NOT NULL,
    message_source   VARCHAR(20) NOT NULL,
    status           VARCHAR(20) NOT NULL
                     CHECK (status IN ('pending', 'delivered_dm', 'delivered_channel', 'failed', 'abandoned')),
    delivery_detail  TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_attempt_at  TIMESTAMPTZ,
    delivered_at     TIMESTAMPTZ,
    channel_id       VARCHAR(100),
    interaction_id   BIGINT REFERENCES interactions (id) ON DELETE SET NULL
);

CREATE INDEX ix_proactive_messages_user_created ON proactive_messages (user_id, created_at DESC);
CREATE INDEX ix_proactive_messages_retry ON proactive_messages (created_at) WHERE status = 'failed';

CREATE TABLE job_runs (
    id               BIGSERIAL PRIMARY KEY,
    job_name         VARCHAR(50) NOT NULL,
    trigger          VARCHAR(20) NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    instance         VARCHAR(100) NOT NULL,
    status           VARCHAR(20) NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    duration_ms      DOUBLE PRECISION,
    users_processed  INTEGER NOT NULL DEFAULT 0,
    errors           INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    report           JSONB NOT NULL DEFAULT '{}'
);

CREATE INDEX ix_job_runs_started ON job_runs (started_at DESC, id DESC);
CREATE INDEX ix_job_runs_name_started ON job_runs (job_name, started_at DESC);
