-- 012: where each memory and each turn was said, so a reply in a server channel uses only what was said in
-- that channel (docs/memory.md, "Who may hear a memory"). A NULL origin channel means private: said in a DM,
-- or stored before this migration (unknown origin is treated as private, the safe default).
ALTER TABLE memories ADD COLUMN origin_channel_id VARCHAR(100);
ALTER TABLE memories ADD COLUMN origin_guild_id VARCHAR(100);
ALTER TABLE memories ADD CONSTRAINT ck_memories_origin_guild_needs_channel
    CHECK (origin_guild_id IS NULL OR origin_channel_id IS NOT NULL);

-- A channel's recall scans only that channel's rows of the user.
CREATE INDEX ix_memories_user_origin_channel ON memories (user_id, origin_channel_id, created_at DESC)
    WHERE deleted_at IS NULL AND origin_channel_id IS NOT NULL;

-- Turns: private (a DM, the terminal, or logged before this migration) or said in a server channel.
ALTER TABLE interactions ADD COLUMN is_dm BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE interactions ADD COLUMN guild_id VARCHAR(100);
CREATE INDEX ix_interactions_user_channel_created ON interactions (user_id, channel_id, created_at DESC)
    WHERE NOT is_dm;

-- A proactive opener's channel-safe text (built without memories or persona): the only text the bot may
-- post in a server channel when the user's DMs are closed. NULL: the opener may go to the DM only.
ALTER TABLE proactive_messages ADD COLUMN channel_message TEXT;
