"""Consolidation and conflicts through the real service, with and without the fast LLM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest

from gateway.config import GroqSettings
from gateway.errors import BadRequestError, NotFoundError
from gateway.integrations.llm import FastLLM
from gateway.memory.consolidation import Consolidator, heuristic_contradiction
from gateway.memory.schemas import ConflictResolution, ConflictStatus, MemoryType
from gateway.memory.service import MemoryInput, MemoryService
from tests.fakes.openai_server import FakeOpenAIServer
from tests.gateway.memory.service_fixtures import add_user, memory_service

# Pairwise cosine 0.81-0.92 with the local model: one cluster at the 0.7 threshold.
CAT_STORIES = [
    "My cat Miso loves sleeping on my bed",
    "My cat Miso loves sleeping on the sofa",
    "My cat Miso loves sleeping in the sun",
]


@pytest.fixture
async def memory(
    database_url: str, redis_url: str, embedding_service_url: str
) -> AsyncIterator[MemoryService]:
    async with memory_service(database_url, redis_url, embedding_service_url) as service:
        yield service


async def test_related_memories_become_one_semantic_memory(memory: MemoryService, alice: str) -> None:
    """Three memories about the cat make one semantic memory that keeps them as sources."""
    sources = [await memory.store(alice, MemoryInput(text, importance=0.5)) for text in CAT_STORIES]
    await memory.store(alice, MemoryInput("The quarterly tax return is due in April", importance=0.5))
    result = await Consolidator(memory, None).consolidate(alice)
    assert result.semantic_memories_created == 1
    assert result.episodic_memories_processed == 3
    semantic = await memory.get(alice, result.semantic_memory_ids[0])
    assert semantic.memory_type is MemoryType.SEMANTIC
    assert set(semantic.source_memory_ids) == {s.id for s in sources}
    assert semantic.content in CAT_STORIES  # the extractive fallback picks the most central member
    assert semantic.importance == pytest.approx(0.6)
    for source in sources:
        assert (await memory.get(alice, source.id)).consolidated_into == semantic.id


async def test_private_and_channel_memories_are_consolidated_apart(memory: MemoryService, alice: str) -> None:
    """The same story told in a DM and in a channel makes two semantic memories, each keeping its origin:
    the DM's stays private, the channel's is the channel's alone."""
    private = [await memory.store(alice, MemoryInput(text, importance=0.5)) for text in CAT_STORIES]
    public = [
        await memory.store(
            alice, MemoryInput(text, importance=0.5, origin_channel_id="chan-a", origin_guild_id="guild-1")
        )
        for text in CAT_STORIES
    ]
    result = await Consolidator(memory, None).consolidate(alice)
    assert result.semantic_memories_created == 2
    semantic = [await memory.get(alice, memory_id) for memory_id in result.semantic_memory_ids]
    by_origin = {m.origin_channel_id: m for m in semantic}
    assert set(by_origin) == {None, "chan-a"}
    assert set(by_origin[None].source_memory_ids) == {m.id for m in private}
    assert set(by_origin["chan-a"].source_memory_ids) == {m.id for m in public}
    assert by_origin["chan-a"].origin_guild_id == "guild-1"


async def test_a_cluster_never_mixes_a_dm_with_a_channel(memory: MemoryService, alice: str) -> None:
    """Two DM memories and one channel memory of a story are no cluster: nothing channel-visible is made
    from private sources, and nothing private from a channel's."""
    for text in CAT_STORIES[:2]:
        await memory.store(alice, MemoryInput(text, importance=0.5))
    await memory.store(alice, MemoryInput(CAT_STORIES[2], importance=0.5, origin_channel_id="chan-a"))
    result = await Consolidator(memory, None).consolidate(alice)
    assert result.semantic_memories_created == 0


async def test_nothing_to_consolidate_below_three(memory: MemoryService, alice: str) -> None:
    """Two related memories are not enough for a cluster; they stay unconsolidated."""
    for text in CAT_STORIES[:2]:
        await memory.store(alice, MemoryInput(text))
    await memory.store(alice, MemoryInput("The quarterly tax return is due in April"))
    result = await Consolidator(memory, None).consolidate(alice)
    assert result.semantic_memories_created == 0


async def test_consolidation_uses_the_llm_summary_when_available(
    memory: MemoryService, alice: str, openai_fake: FakeOpenAIServer
) -> None:
    """With Groq available, the semantic memory is the LLM's summary of the cluster."""
    openai_fake.reply_for_model("fast", "Alice has a mischievous cat called Miso.")
    llm = FastLLM.from_settings(GroqSettings(api_key="k" * 20, base_url=openai_fake.base_url, model="fast"))
    assert llm is not None
    try:
        for text in CAT_STORIES:
            await memory.store(alice, MemoryInput(text, importance=0.5))
        result = await Consolidator(memory, llm).consolidate(alice)
    finally:
        await llm.aclose()
    semantic = await memory.get(alice, result.semantic_memory_ids[0])
    assert semantic.content == "Alice has a mischievous cat called Miso."
    prompt = openai_fake.chat_requests[0].json["messages"][-1]["content"]
    assert all(text in prompt for text in CAT_STORIES)


def test_heuristic_contradiction_reads_polarity() -> None:
    """Opposite polarity on the same topic is a contradiction; the same polarity is not."""
    assert heuristic_contradiction("Alice loves coffee", "Alice doesn't like coffee anymore")
    assert heuristic_contradiction("Alice loves coffee", "Alice hates coffee")
    assert not heuristic_contradiction("Alice loves coffee", "Alice really enjoys coffee")


async def semantic(memory: MemoryService, user: str, text: str) -> Any:
    return await memory.store(
        user, MemoryInput(text, memory_type=MemoryType.SEMANTIC, speaker=None, importance=0.6)
    )


async def test_conflict_is_recorded_and_resolved_by_recency(memory: MemoryService, alice: str) -> None:
    """A new semantic memory contradicting an older one is recorded; the newer wins, the older loses weight."""
    older = await semantic(memory, alice, "Alice loves drinking coffee every morning")
    newer = await semantic(memory, alice, "Alice no longer drinks coffee every morning")
    consolidator = Consolidator(memory, None)
    assert await consolidator.detect_conflicts(alice, newer.id, newer.created_at) == 1
    [conflict] = await consolidator.list_conflicts(alice, None)
    assert conflict.resolution_status is ConflictStatus.RESOLVED
    assert conflict.resolution_method == "recency"
    assert conflict.winner_memory_id == newer.id
    assert (await memory.get(alice, older.id)).retrieval_weight == pytest.approx(0.5)
    assert (await memory.get(alice, newer.id)).retrieval_weight == 1.0
    assert await consolidator.detect_conflicts(alice, newer.id, newer.created_at) == 0  # recorded once


async def test_user_can_overrule_or_ignore_a_conflict(memory: MemoryService, alice: str) -> None:
    """Keeping the older memory swaps the weights; ignoring restores both; nothing is deleted."""
    older = await semantic(memory, alice, "Alice loves drinking coffee every morning")
    newer = await semantic(memory, alice, "Alice no longer drinks coffee every morning")
    consolidator = Consolidator(memory, None)
    await consolidator.detect_conflicts(alice, newer.id, newer.created_at)
    [conflict] = await consolidator.list_conflicts(alice, None)
    kept = await consolidator.resolve(
        alice, conflict.id, ConflictResolution(action="keep", winner_memory_id=older.id)
    )
    assert kept.resolution_method == "user"
    assert (await memory.get(alice, older.id)).retrieval_weight == 1.0
    assert (await memory.get(alice, newer.id)).retrieval_weight == pytest.approx(0.5)
    ignored = await consolidator.resolve(alice, conflict.id, ConflictResolution(action="ignore"))
    assert ignored.resolution_status is ConflictStatus.IGNORED
    assert (await memory.get(alice, newer.id)).retrieval_weight == 1.0


async def test_conflict_resolution_is_scoped_and_validated(
    memory: MemoryService, alice: str, user_id: str
) -> None:
    """Another user's conflict id is 404; a winner outside the pair is 400."""
    older = await semantic(memory, alice, "Alice loves drinking coffee every morning")
    newer = await semantic(memory, alice, "Alice no longer drinks coffee every morning")
    consolidator = Consolidator(memory, None)
    await consolidator.detect_conflicts(alice, newer.id, newer.created_at)
    [conflict] = await consolidator.list_conflicts(alice, None)
    other = user_id + "9"
    await add_user(memory.pool, other)
    with pytest.raises(NotFoundError):
        await consolidator.resolve(other, conflict.id, ConflictResolution(action="ignore"))
    with pytest.raises(BadRequestError):
        await consolidator.resolve(
            alice, conflict.id, ConflictResolution(action="keep", winner_memory_id=uuid4())
        )
    assert (await memory.get(alice, older.id)).retrieval_weight == pytest.approx(
        0.5
    )  # unchanged by the refusal
