-- 007: recall follows contiguity (a memory's neighbours in the same conversation come back with it),
-- which looks up the previous and next memory of a conversation by time.
CREATE INDEX ix_memories_user_conversation_created ON memories (user_id, conversation_id, created_at)
    WHERE deleted_at IS NULL AND conversation_id IS NOT NULL;
