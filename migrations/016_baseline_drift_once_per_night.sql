-- 016: which personality_state rows are a nightly baseline drift, so a drift is applied at most once per night
-- however many replicas (or operators) run the nightly job. Earlier drifts are found by their reason.
ALTER TABLE personality_state ADD COLUMN baseline_drift BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE personality_state SET baseline_drift = TRUE WHERE reason LIKE 'baseline drift%';
CREATE INDEX ix_personality_state_user_drift ON personality_state (user_id, created_at DESC) WHERE baseline_drift;
