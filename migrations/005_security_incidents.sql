-- 005: every detected threat, with how it was detected and how far the user's escalation has gone.
CREATE TABLE security_incidents (
    id                  BIGSERIAL PRIMARY KEY,
    user_id             VARCHAR(100) NOT NULL REFERENCES user_profiles (user_id) ON DELETE CASCADE,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    message             TEXT NOT NULL,
    normalized_message  TEXT,
    threat_type         VARCHAR(50) NOT NULL
                        CHECK (threat_type IN ('role_playing', 'instruction_injection', 'system_prompt_extraction',
                                               'boundary_violation', 'memory_poisoning')),
    confidence          DOUBLE PRECISION NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    severity            VARCHAR(10) NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    detection_method    VARCHAR(20) NOT NULL
                        CHECK (detection_method IN ('rules', 'semantic', 'llm_judge', 'combined', 'manual')),
    indicators          JSONB NOT NULL DEFAULT '[]',
    -- 1 = warning, 2 = restriction, 3 = 24 h suspension (the level reached by this incident).
    escalation_level    SMALLINT NOT NULL DEFAULT 1 CHECK (escalation_level BETWEEN 1 AND 3),
    response            TEXT,
    interaction_id      BIGINT REFERENCES interactions (id) ON DELETE SET NULL,
    false_positive      BOOLEAN NOT NULL DEFAULT FALSE,
    reviewed_at         TIMESTAMPTZ,
    admin_note          TEXT
);

CREATE INDEX ix_security_incidents_user_created ON security_incidents (user_id, created_at DESC);
CREATE INDEX ix_security_incidents_type_created ON security_incidents (threat_type, created_at DESC)
    WHERE NOT false_positive;
