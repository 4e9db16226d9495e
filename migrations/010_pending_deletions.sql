-- 010: external stores (vector index, Letta, Redis) that failed while a user was being deleted; the health
-- job retries them. No foreign key: the profile is gone by then.
CREATE TABLE pending_deletions (
    id           BIGSERIAL PRIMARY KEY,
    user_id      VARCHAR(100) NOT NULL,
    target       VARCHAR(30) NOT NULL CHECK (target IN ('vector_index', 'letta', 'redis')),
    external_id  VARCHAR(100),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT
);

CREATE INDEX ix_pending_deletions_created ON pending_deletions (created_at);
