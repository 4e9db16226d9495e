-- 001: the companion's personality state (one row per version, one current row per user) and the turn log.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE personality_state (
    id                  BIGSERIAL PRIMARY KEY,
    user_id             VARCHAR(100) NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    profile             VARCHAR(50) NOT NULL DEFAULT 'curious_companion',
    -- Big Five: fixed at initialisation, copied unchanged into every later row.
    openness            DOUBLE PRECISION NOT NULL CHECK (openness BETWEEN 0 AND 1),
    conscientiousness   DOUBLE PRECISION NOT NULL CHECK (conscientiousness BETWEEN 0 AND 1),
    extraversion        DOUBLE PRECISION NOT NULL CHECK (extraversion BETWEEN 0 AND 1),
    agreeableness       DOUBLE PRECISION NOT NULL CHECK (agreeableness BETWEEN 0 AND 1),
    neuroticism         DOUBLE PRECISION NOT NULL CHECK (neuroticism BETWEEN 0 AND 1),
    -- Current PAD mood and the baseline it decays toward (the baseline drifts nightly).
    pleasure            DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (pleasure BETWEEN -1 AND 1),
    arousal             DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (arousal BETWEEN -1 AND 1),
    dominance           DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (dominance BETWEEN -1 AND 1),
    baseline_pleasure   DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (baseline_pleasure BETWEEN -1 AND 1),
    baseline_arousal    DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (baseline_arousal BETWEEN -1 AND 1),
    baseline_dominance  DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (baseline_dominance BETWEEN -1 AND 1),
    emotion_label       VARCHAR(50) NOT NULL DEFAULT 'neutral',
    is_current          BOOLEAN NOT NULL DEFAULT TRUE,
    reason              TEXT
);

-- Exactly one current row per user; history rows are unlimited.
CREATE UNIQUE INDEX ux_personality_state_current ON personality_state (user_id) WHERE is_current;
CREATE INDEX ix_personality_state_user_created ON personality_state (user_id, created_at DESC);

CREATE TABLE interactions (
    id                       BIGSERIAL PRIMARY KEY,
    user_id                  VARCHAR(100) NOT NULL,
    created_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    user_message             TEXT NOT NULL DEFAULT '',
    assistant_response       TEXT NOT NULL,
    personality_state_id     BIGINT REFERENCES personality_state (id) ON DELETE SET NULL,
    pad_before               JSONB,
    pad_after                JSONB,
    emotion_before           VARCHAR(50),
    emotion_after            VARCHAR(50),
    was_proactive            BOOLEAN NOT NULL DEFAULT FALSE,
    proactive_score          DOUBLE PRECISION,
    proactive_reason         TEXT,
    memories_retrieved       INTEGER NOT NULL DEFAULT 0,
    memory_ids               UUID[] NOT NULL DEFAULT '{}',
    response_latency_ms      INTEGER,
    tokens_used              INTEGER,
    model_used               VARCHAR(100),
    runtime                  VARCHAR(20),
    degraded                 TEXT[] NOT NULL DEFAULT '{}',
    security_threat_detected BOOLEAN NOT NULL DEFAULT FALSE,
    channel_id               VARCHAR(100)
);

CREATE INDEX ix_interactions_user_created ON interactions (user_id, created_at DESC);
CREATE INDEX ix_interactions_user_proactive ON interactions (user_id, created_at DESC) WHERE was_proactive;
CREATE INDEX ix_interactions_created ON interactions (created_at DESC);
