-- 012: a user's cached embeddings (the embedding service's Redis, under the user's namespace) are deleted with
-- the user; when the embedding service cannot be reached, that deletion is retried like the other stores.
ALTER TABLE pending_deletions DROP CONSTRAINT pending_deletions_target_check;
ALTER TABLE pending_deletions ADD CONSTRAINT pending_deletions_target_check
    CHECK (target IN ('vector_index', 'letta', 'redis', 'embedding_cache'));
