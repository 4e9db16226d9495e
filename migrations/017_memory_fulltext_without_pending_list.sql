-- 017: the full-text index takes each memory's words at once instead of queueing them. With GIN's default
-- fastupdate, new entries wait in a pending list (up to gin_pending_list_limit, 4 MB) that every full-text
-- query scans from end to end, and that some unlucky insert then flushes. Measured at 10,000 memories of
-- one user: a word's capped document count took 24 ms with a full pending list and 2.8 ms without it.
ALTER INDEX ix_memories_content_tsv SET (fastupdate = off);
SELECT gin_clean_pending_list('ix_memories_content_tsv'::regclass);
