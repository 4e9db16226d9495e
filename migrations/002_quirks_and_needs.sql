-- 002: quirks (mined from the companion's own replies, reinforced and faded) and needs (rise per hour).
CREATE TABLE quirks (
    id                 BIGSERIAL PRIMARY KEY,
    user_id            VARCHAR(100) NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    quirk_type         VARCHAR(50) NOT NULL CHECK (quirk_type IN ('speech_pattern', 'behavior', 'preference')),
    description        TEXT NOT NULL CHECK (length(description) > 0),
    strength           DOUBLE PRECISION NOT NULL DEFAULT 0.5 CHECK (strength BETWEEN 0 AND 1),
    times_expressed    INTEGER NOT NULL DEFAULT 0 CHECK (times_expressed >= 0),
    last_expressed_at  TIMESTAMPTZ,
    is_active          BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE UNIQUE INDEX ux_quirks_user_description ON quirks (user_id, lower(description));
CREATE INDEX ix_quirks_user_active_strength ON quirks (user_id, strength DESC) WHERE is_active;

CREATE TABLE needs (
    id                    BIGSERIAL PRIMARY KEY,
    user_id               VARCHAR(100) NOT NULL,
    need_type             VARCHAR(50) NOT NULL
                          CHECK (need_type IN ('social', 'intellectual', 'creative', 'rest', 'validation')),
    current_level         DOUBLE PRECISION NOT NULL DEFAULT 0.5 CHECK (current_level BETWEEN 0 AND 1),
    baseline              DOUBLE PRECISION NOT NULL DEFAULT 0.5 CHECK (baseline BETWEEN 0 AND 1),
    -- How much the need rises per hour without satisfaction (the plan's "decay").
    growth_per_hour       DOUBLE PRECISION NOT NULL DEFAULT 0.02 CHECK (growth_per_hour BETWEEN 0 AND 0.1),
    trigger_threshold     DOUBLE PRECISION NOT NULL DEFAULT 0.8 CHECK (trigger_threshold BETWEEN 0.5 AND 0.95),
    last_updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_satisfied_at     TIMESTAMPTZ,
    satisfaction_count    INTEGER NOT NULL DEFAULT 0 CHECK (satisfaction_count >= 0)
);

CREATE UNIQUE INDEX ux_needs_user_type ON needs (user_id, need_type);
