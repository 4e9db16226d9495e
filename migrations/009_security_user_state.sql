-- 009: each user's standing with the security layer. Offences are the rows of security_incidents (the
-- record); Redis counts them over a sliding window for speed. This table keeps what counting alone cannot
-- rebuild: when an admin last cleared the user's level and until when a suspension runs.
CREATE TABLE security_user_state (
    user_id          VARCHAR(100) PRIMARY KEY REFERENCES user_profiles (user_id) ON DELETE CASCADE,
    cleared_at       TIMESTAMPTZ,
    suspended_until  TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The Postgres fallback counts a user's recent real offences when Redis is unreachable.
CREATE INDEX ix_security_incidents_user_offences ON security_incidents (user_id, created_at DESC)
    WHERE NOT false_positive;
