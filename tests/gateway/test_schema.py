"""The schema enforces what the original plan left open: ownership, one current state, typed vectors,
cascades."""

from __future__ import annotations

import asyncpg
import pytest

from gateway.memory.repository import OWNED_WORDS, OWNER_QUERY


async def make_user(conn: asyncpg.Connection, user_id: str) -> None:
    await conn.execute("INSERT INTO user_profiles (user_id, username) VALUES ($1, 'someone')", user_id)


async def insert_state(conn: asyncpg.Connection, user_id: str, is_current: bool = True) -> int:
    return int(
        await conn.fetchval(
            """INSERT INTO personality_state (user_id, openness, conscientiousness, extraversion, agreeableness,
                   neuroticism, is_current) VALUES ($1, 0.5, 0.5, 0.5, 0.5, 0.5, $2) RETURNING id""",
            user_id,
            is_current,
        )
    )


async def test_profile_defaults_fill_the_plans_gaps(db_conn: asyncpg.Connection, user_id: str) -> None:
    """A new profile is active, in UTC, opted in to proactive messages, with no Letta agent yet."""
    await make_user(db_conn, user_id)
    row = await db_conn.fetchrow("SELECT * FROM user_profiles WHERE user_id = $1", user_id)
    assert row["status"] == "active"
    assert row["timezone"] == "UTC"
    assert row["proactive_enabled"] is True
    assert row["letta_agent_id"] is None
    assert row["last_proactive_at"] is None


async def test_only_one_current_personality_row(db_conn: asyncpg.Connection, user_id: str) -> None:
    """A second current row for the same user is rejected; history rows are not."""
    await make_user(db_conn, user_id)
    await insert_state(db_conn, user_id)
    await insert_state(db_conn, user_id, is_current=False)
    with pytest.raises(asyncpg.UniqueViolationError):
        await insert_state(db_conn, user_id)


async def test_pad_out_of_range_is_rejected(db_conn: asyncpg.Connection, user_id: str) -> None:
    """PAD values outside [-1, 1] never reach the table."""
    await make_user(db_conn, user_id)
    state_id = await insert_state(db_conn, user_id)
    with pytest.raises(asyncpg.CheckViolationError):
        await db_conn.execute("UPDATE personality_state SET pleasure = 1.5 WHERE id = $1", state_id)


async def test_rows_need_an_owner(db_conn: asyncpg.Connection, user_id: str) -> None:
    """Per-user rows cannot exist without their user's profile."""
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db_conn.execute(
            "INSERT INTO memories (user_id, memory_type, content) VALUES ($1, 'episodic', 'hi')", user_id
        )


async def test_memory_vector_is_tagged_and_searchable(db_conn: asyncpg.Connection, user_id: str) -> None:
    """A memory stores its vector with model and dims; pgvector orders by cosine distance; text is indexed."""
    await make_user(db_conn, user_id)
    for content, vector in (("I adopted a puppy", "[1,0,0]"), ("taxes are due", "[0,1,0]")):
        await db_conn.execute(
            """INSERT INTO memories (user_id, memory_type, content, embedding, embedding_model, embedding_dims)
               VALUES ($1, 'episodic', $2, $3::vector, 'test-model', 3)""",
            user_id,
            content,
            vector,
        )
    nearest = await db_conn.fetchval(
        "SELECT content FROM memories WHERE user_id = $1 ORDER BY embedding <=> '[0.9,0.1,0]'::vector LIMIT 1",
        user_id,
    )
    assert nearest == "I adopted a puppy"
    hit = await db_conn.fetchval(
        "SELECT content FROM memories WHERE user_id = $1 AND content_tsv @@ plainto_tsquery('english', 'tax')",
        user_id,
    )
    assert hit == "taxes are due"


async def test_vector_dims_must_match_its_tag(db_conn: asyncpg.Connection, user_id: str) -> None:
    """A vector whose length disagrees with embedding_dims is refused."""
    await make_user(db_conn, user_id)
    with pytest.raises(asyncpg.CheckViolationError):
        await db_conn.execute(
            """INSERT INTO memories (user_id, memory_type, content, embedding, embedding_model, embedding_dims)
               VALUES ($1, 'episodic', 'x', '[1,0]'::vector, 'm', 3)""",
            user_id,
        )


async def test_deleting_a_user_deletes_their_rows(db_conn: asyncpg.Connection, user_id: str) -> None:
    """Removing the profile removes state, memories (and their words), conflicts and incidents with it."""
    await make_user(db_conn, user_id)
    await insert_state(db_conn, user_id)
    ids = [
        await db_conn.fetchval(
            "INSERT INTO memories (user_id, memory_type, content) VALUES ($1, 'episodic', $2) RETURNING id",
            user_id,
            text,
        )
        for text in ("I like tea", "I hate tea")
    ]
    await db_conn.execute(
        """INSERT INTO memory_conflicts (user_id, memory_id_1, memory_id_2, conflict_type)
           VALUES ($1, $2, $3, 'contradiction')""",
        user_id,
        *ids,
    )
    await db_conn.execute(
        """INSERT INTO security_incidents (user_id, message, threat_type, confidence, severity, detection_method)
           VALUES ($1, 'ignore previous instructions', 'instruction_injection', 0.9, 'high', 'rules')""",
        user_id,
    )
    assert await db_conn.fetchval("SELECT count(*) FROM memory_words WHERE user_id = $1", user_id) == 2
    await db_conn.execute("DELETE FROM user_profiles WHERE user_id = $1", user_id)
    for table in ("personality_state", "memories", "memory_words", "memory_conflicts", "security_incidents"):
        assert await db_conn.fetchval(f"SELECT count(*) FROM {table} WHERE user_id = $1", user_id) == 0  # noqa: S608


async def test_conflict_pair_is_recorded_once(db_conn: asyncpg.Connection, user_id: str) -> None:
    """The same two memories cannot be recorded as a conflict twice, in either order."""
    await make_user(db_conn, user_id)
    a, b = [
        await db_conn.fetchval(
            "INSERT INTO memories (user_id, memory_type, content) VALUES ($1, 'episodic', $2) RETURNING id",
            user_id,
            text,
        )
        for text in ("a", "b")
    ]
    insert = """INSERT INTO memory_conflicts (user_id, memory_id_1, memory_id_2, conflict_type)
                VALUES ($1, $2, $3, 'contradiction')"""
    await db_conn.execute(insert, user_id, a, b)
    with pytest.raises(asyncpg.UniqueViolationError):
        await db_conn.execute(insert, user_id, b, a)


async def test_memories_and_turns_of_unknown_origin_are_private(
    db_conn: asyncpg.Connection, user_id: str
) -> None:
    """Rows written without an origin (as before migration 013) are private: no channel, a DM turn."""
    await make_user(db_conn, user_id)
    await db_conn.execute(
        "INSERT INTO memories (user_id, memory_type, content) VALUES ($1, 'episodic', 'old secret')", user_id
    )
    await db_conn.execute(
        "INSERT INTO interactions (user_id, assistant_response, channel_id) VALUES ($1, 'hi', '42')", user_id
    )
    assert (
        await db_conn.fetchval("SELECT origin_channel_id FROM memories WHERE user_id = $1", user_id) is None
    )
    assert await db_conn.fetchval("SELECT is_dm FROM interactions WHERE user_id = $1", user_id) is True


async def test_a_memory_origin_server_needs_its_channel(db_conn: asyncpg.Connection, user_id: str) -> None:
    """A server without a channel is no origin: the row is refused."""
    await make_user(db_conn, user_id)
    with pytest.raises(asyncpg.CheckViolationError):
        await db_conn.execute(
            "INSERT INTO memories (user_id, memory_type, content, origin_guild_id) VALUES ($1, 'episodic', 'x', 'g')",
            user_id,
        )


async def test_the_full_text_index_takes_new_words_at_once(db_conn: asyncpg.Connection) -> None:
    """Every recall's full-text query would otherwise scan GIN's pending list of queued words (up to 4 MB,
    every user's) from end to end: fastupdate is off on the full-text index (migration 017, then 019 and 020)."""
    options = await db_conn.fetchval(
        "SELECT reloptions FROM pg_class WHERE relname = 'ix_memory_words_owned_tsv' AND relkind = 'i'"
    )
    assert options is not None and "fastupdate=off" in options


@pytest.mark.parametrize("plan_cache_mode", ["force_custom_plan", "force_generic_plan"])
async def test_full_text_reads_only_the_users_own_words_from_the_index(
    db_conn: asyncpg.Connection, plan_cache_mode: str
) -> None:
    """The words' index holds each memory's owner with its words (migration 020), and the queries name it
    the way the index does: otherwise every user's matches are read and filtered, and nothing fails but
    time. Checked for the plan asyncpg's cached statements get after their fifth run, too."""
    await db_conn.execute(f"SET plan_cache_mode = {plan_cache_mode}")
    await db_conn.execute("SET enable_seqscan = off")
    await db_conn.execute(
        f"PREPARE words_of(text) AS SELECT m.memory_id FROM memory_words AS m "  # noqa: S608
        f"WHERE m.user_id = $1 AND {OWNED_WORDS} @@ (to_tsquery('english', 'sparky') && {OWNER_QUERY})"
    )
    try:
        plan = "\n".join(row[0] for row in await db_conn.fetch("EXPLAIN EXECUTE words_of('u-1')"))
    finally:
        await db_conn.execute("DEALLOCATE words_of")
        await db_conn.execute("RESET enable_seqscan")
        await db_conn.execute("RESET plan_cache_mode")
    assert "ix_memory_words_owned_tsv" in plan, plan


async def _words(db_conn: asyncpg.Connection, user_id: str) -> dict[str, tuple[str | None, str]]:
    rows = await db_conn.fetch(
        "SELECT memory_type, origin_channel_id, content_tsv::text AS words FROM memory_words WHERE user_id = $1",
        user_id,
    )
    return {row["words"]: (row["origin_channel_id"], row["memory_type"]) for row in rows}


async def test_full_text_words_follow_every_live_memory(db_conn: asyncpg.Connection, user_id: str) -> None:
    """Full text reads memory_words (migration 019): whatever writes memories, a memory's words are there
    exactly while it is live, with its current text, type and channel."""
    await make_user(db_conn, user_id)
    ids = [
        row["id"]
        for row in await db_conn.fetch(
            """INSERT INTO memories (user_id, memory_type, content, deleted_at)
               VALUES ($1, 'episodic', 'tea', NULL), ($1, 'episodic', 'coffee', NULL), ($1, 'episodic', 'juice', now())
               RETURNING id""",
            user_id,
        )
    ]
    assert await _words(db_conn, user_id) == {"'tea':1": (None, "episodic"), "'coffe':1": (None, "episodic")}

    await db_conn.execute(
        "UPDATE memories SET content = 'green tea', origin_channel_id = 'c-1', memory_type = 'semantic' WHERE id = $1",
        ids[0],
    )
    await db_conn.execute("UPDATE memories SET deleted_at = now() WHERE id = $1", ids[1])
    await db_conn.execute("UPDATE memories SET deleted_at = NULL WHERE id = $1", ids[2])
    assert await _words(db_conn, user_id) == {
        "'green':1 'tea':2": ("c-1", "semantic"),
        "'juic':1": (None, "episodic"),
    }

    # Recall's bookkeeping leaves the words' row as it was (no new row version for a count).
    before = await db_conn.fetchval("SELECT xmin::text FROM memory_words WHERE memory_id = $1", ids[0])
    await db_conn.execute(
        "UPDATE memories SET access_count = access_count + 1, strength = 2 WHERE id = $1", ids[0]
    )
    assert (
        await db_conn.fetchval("SELECT xmin::text FROM memory_words WHERE memory_id = $1", ids[0]) == before
    )
