-- 012: escalation an admin can explain and undo.
-- Whether an incident counts toward escalation is decided when it is recorded (only high-certainty detections
-- do, docs/security.md) and kept with it; borderline flags stay on record without raising the user's level.
ALTER TABLE security_incidents ADD COLUMN escalates BOOLEAN NOT NULL DEFAULT TRUE;
-- A borderline flag raises nothing, so the level it leaves the user at may be 0.
ALTER TABLE security_incidents DROP CONSTRAINT IF EXISTS security_incidents_escalation_level_check;
ALTER TABLE security_incidents ADD CONSTRAINT security_incidents_escalation_level_check
    CHECK (escalation_level BETWEEN 0 AND 3);

DROP INDEX IF EXISTS ix_security_incidents_user_offences;
CREATE INDEX ix_security_incidents_user_offences ON security_incidents (user_id, created_at DESC)
    WHERE escalates AND NOT false_positive;

-- Every lift of a user's escalation by an admin: who, why, and what it undid.
CREATE TABLE security_lifts (
    id                      BIGSERIAL PRIMARY KEY,
    user_id                 VARCHAR(100) NOT NULL REFERENCES user_profiles (user_id) ON DELETE CASCADE,
    lifted_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    lifted_by               VARCHAR(100) NOT NULL,
    reason                  TEXT NOT NULL,
    level_before            SMALLINT NOT NULL CHECK (level_before BETWEEN 0 AND 3),
    offences_before         INTEGER NOT NULL,
    suspended_until_before  TIMESTAMPTZ
);

CREATE INDEX ix_security_lifts_user_lifted ON security_lifts (user_id, lifted_at DESC);
