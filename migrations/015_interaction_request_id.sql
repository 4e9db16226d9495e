-- 015: the id of the message a turn answered (the Discord message id), so a retried request returns the first
-- answer instead of a second turn. One turn per (user, message id); turns without one are not constrained.
ALTER TABLE interactions ADD COLUMN request_id VARCHAR(100);
CREATE UNIQUE INDEX ux_interactions_user_request ON interactions (user_id, request_id) WHERE request_id IS NOT NULL;
