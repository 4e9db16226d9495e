"""`python -m scripts reembed`: memories of old models (and without a vector) get the current model's vector
and are found by vector search afterwards; deleted memories are left alone."""

from __future__ import annotations

import asyncio
import io
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import numpy as np
import pytest

from gateway.integrations.embedding import EmbeddingClient
from gateway.memory.pgvector_index import PgVectorIndex
from scripts.reembed import reembed, run_reembed
from scripts.targets import Targets

USER = "reembed-user"
CONTENTS = {
    "legacy-a": ["I grew up in a village by the sea.", "My first bike was a red one."],
    "legacy-b": ["I play the violin in a community orchestra."],
    None: ["My favourite food is my grandmother's dumplings."],
}


def unit(dims: int) -> list[float]:
    vector = np.random.default_rng().standard_normal(dims).astype(np.float32)
    return list(vector / np.linalg.norm(vector))


async def _seed(dsn: str) -> dict[str, UUID]:
    ids: dict[str, UUID] = {}
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO user_profiles (user_id, username) VALUES ($1, $1)", USER)
        for model, texts in CONTENTS.items():
            dims = {"legacy-a": 8, "legacy-b": 16}.get(model or "", 0)
            for text in texts:
                ids[text] = uuid4()
                await conn.execute(
                    """INSERT INTO memories (id, user_id, memory_type, content, embedding, embedding_model,
                                             embedding_dims)
                       VALUES ($1, $2, 'episodic', $3, $4::real[]::vector, $5, $6)""",
                    ids[text],
                    USER,
                    text,
                    unit(dims) if model else None,
                    model,
                    dims or None,
                )
        ids["deleted"] = uuid4()
        await conn.execute(
            """INSERT INTO memories (id, user_id, memory_type, content, embedding, embedding_model, embedding_dims,
                                     deleted_at)
               VALUES ($1, $2, 'episodic', 'forgotten on request', $3::real[]::vector, 'legacy-a', 8, now())""",
            ids["deleted"],
            USER,
            unit(8),
        )
    finally:
        await conn.close()
    return ids


async def _tags(dsn: str) -> dict[UUID, tuple[Any, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, embedding_model, embedding_dims, indexed_at IS NOT NULL FROM memories WHERE user_id = $1",
            USER,
        )
        return {r[0]: tuple(r)[1:] for r in rows}
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def seeded(ops_database_url: str) -> dict[str, UUID]:
    return asyncio.run(_seed(ops_database_url))


def test_dry_run_counts_by_model_and_changes_nothing(
    ops_env: dict[str, str],
    ops_database_url: str,
    seeded: dict[str, UUID],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The dry run names how many memories of each model (and without a vector) would be re-embedded."""
    before = asyncio.run(_tags(ops_database_url))
    assert run_reembed(ops_env, model=None, batch=10, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "would re-embed 4 memories with all-MiniLM-L6-v2/384" in out, out
    assert "2 legacy-a/8" in out and "1 legacy-b/16" in out and "1 no vector" in out
    assert asyncio.run(_tags(ops_database_url)) == before


def test_model_option_limits_the_run_then_all_are_current(
    ops_env: dict[str, str], ops_database_url: str, seeded: dict[str, UUID]
) -> None:
    """--model legacy-a re-embeds only those; a full run then leaves every live memory on the current model,
    indexed and found by vector search, while the deleted memory keeps its old tag."""
    targets = Targets.resolve(ops_env)
    first = asyncio.run(reembed(targets, model="legacy-a", batch=1, out=io.StringIO()))
    assert first.stale == {"legacy-a/8": 2} and first.reembedded == 2
    tags = asyncio.run(_tags(ops_database_url))
    current = (first.space.model, first.space.dims, True)
    assert tags[seeded["I play the violin in a community orchestra."]] == ("legacy-b", 16, False)
    assert tags[seeded["My first bike was a red one."]] == current

    second = asyncio.run(reembed(targets, batch=1, out=io.StringIO()))
    assert second.stale == {"legacy-b/16": 1, "no vector": 1}
    assert second.reembedded == 2 and second.indexed == 2 and second.index_name == "pgvector"
    tags = asyncio.run(_tags(ops_database_url))
    assert tags.pop(seeded["deleted"]) == ("legacy-a", 8, False)
    assert set(tags.values()) == {current}

    third = asyncio.run(reembed(targets, out=io.StringIO()))
    assert third.stale == {} and third.reembedded == 0

    async def search(text: str) -> list[UUID]:
        embedding = EmbeddingClient(targets.embedding_url or "", timeout=30)
        pool = await asyncpg.create_pool(ops_database_url, min_size=1, max_size=2)
        assert pool is not None
        try:
            query = await embedding.embed_query(text)
            hits = await PgVectorIndex(pool).search(query.space, USER, query.vector, 1)
            return [hit.memory_id for hit in hits]
        finally:
            await pool.close()
            await embedding.aclose()

    assert asyncio.run(search("which instrument do I play?")) == [
        seeded["I play the violin in a community orchestra."]
    ]
    assert asyncio.run(search("what did I eat at my grandma's?")) == [
        seeded["My favourite food is my grandmother's dumplings."]
    ]


def test_nothing_to_do_says_so(
    ops_env: dict[str, str], seeded: dict[str, UUID], capsys: pytest.CaptureFixture[str]
) -> None:
    """Once every live memory is current, the command says so and exits 0."""
    assert run_reembed(ops_env, model=None, batch=100, dry_run=False) == 0
    assert "nothing to do" in capsys.readouterr().out
