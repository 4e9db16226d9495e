-- 018: a retry claims a pending deletion with a lease instead of a row lock held in an open transaction: the
-- claim is one short statement, the deletion itself runs with no connection held, and a row whose retry died
-- (a crash, a shutdown) is free again when its lease has passed. NULL: nobody is working on it.
ALTER TABLE pending_deletions ADD COLUMN claimed_until TIMESTAMPTZ;
