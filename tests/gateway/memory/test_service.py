"""The memory service through its real path: Postgres, the embedding service, pgvector, Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from qdrant_client import AsyncQdrantClient

from gateway.config import QdrantSettings
from gateway.integrations.embedding import EmbeddingSpace
from gateway.integrations.qdrant import QdrantIndex, create_qdrant_client
from gateway.memory.pgvector_index import PgVectorIndex
from gateway.memory.reindex import index_backlog
from gateway.memory.schemas import MemoryType, Speaker
from gateway.memory.service import MemoryInput, MemoryNotFoundError, MemoryService
from scripts.localstack import free_port
from tests.gateway.memory.service_fixtures import add_user, memory_service


@pytest.fixture
async def memory(
    database_url: str, redis_url: str, embedding_service_url: str
) -> AsyncIterator[MemoryService]:
    async with memory_service(database_url, redis_url, embedding_service_url) as service:
        yield service


@pytest.fixture
async def bob(memory: MemoryService) -> str:
    other = "b" + uuid4().hex[:16]
    await add_user(memory.pool, other, "bob")
    return other


async def test_store_scores_embeds_and_indexes(memory: MemoryService, alice: str) -> None:
    """A stored memory gets a heuristic importance, a vector tagged with its model, and is marked indexed."""
    stored = await memory.store(alice, MemoryInput("My mother was diagnosed with cancer last week."))
    assert stored.importance_source == "heuristic"
    assert stored.importance >= 0.6
    assert stored.embedding_model == "all-MiniLM-L6-v2"
    indexed = await memory.pool.fetchval("SELECT indexed_at FROM memories WHERE id = $1", stored.id)
    assert indexed is not None


async def test_search_finds_the_relevant_memory_with_reasons(memory: MemoryService, alice: str) -> None:
    """A question about the dog recalls the puppy memory first, with its components and a reason."""
    for text in (
        "I adopted a puppy called Biscuit on Saturday",
        "The tax office closes early on Fridays",
        "My favourite band is playing in Leeds next month",
    ):
        await memory.store(alice, MemoryInput(text))
    outcome = await memory.search(alice, "what is my dog called?", k=3)
    assert outcome.degraded == []
    top = outcome.results[0]
    assert "Biscuit" in top.memory.content
    assert top.components.similarity is not None and top.components.similarity > 0.3
    assert 0 < top.components.retention <= 1
    assert top.reason


async def test_a_memory_both_sources_find_is_recalled_once_with_both_signals(
    memory: MemoryService, alice: str
) -> None:
    """A memory the vector index and full text both find comes back once (MMR at λ 1 would pick a second
    copy next), scored on its meaning and on its words."""
    puppy = await memory.store(alice, MemoryInput("I adopted a puppy called Biscuit on Saturday"))
    for text in (
        "The tax office closes early on Fridays",
        "My favourite band is playing in Leeds next month",
    ):
        await memory.store(alice, MemoryInput(text))
    outcome = await memory.search(alice, "my puppy Biscuit", k=3, mmr_lambda=1.0, record_access=False)
    ids = [result.memory.id for result in outcome.results]
    assert len(ids) == len(set(ids)) == 3
    top = outcome.results[0]
    assert top.memory.id == puppy.id
    assert top.components.similarity is not None and top.components.similarity > 0.3
    assert top.components.lexical == 1.0


async def test_recall_strengthens_the_memory(memory: MemoryService, alice: str) -> None:
    """Each recall counts an access, stamps it, and grows the memory's strength."""
    stored = await memory.store(alice, MemoryInput("I play the cello in a community orchestra"))
    await memory.search(alice, "cello orchestra", k=1)
    after = await memory.get(alice, stored.id)
    assert after.access_count == 1
    assert after.last_accessed_at is not None
    assert after.strength > stored.strength


async def test_search_without_recording_leaves_memories_untouched(memory: MemoryService, alice: str) -> None:
    """record_access=False reads without changing access stats (benchmarks and internal checks)."""
    stored = await memory.store(alice, MemoryInput("I grow tomatoes on my balcony"))
    await memory.search(alice, "tomatoes balcony", k=1, record_access=False)
    assert (await memory.get(alice, stored.id)).access_count == 0


async def test_users_never_see_each_other(memory: MemoryService, alice: str, bob: str) -> None:
    """Bob's search, get and delete never reach Alice's memory."""
    secret = await memory.store(alice, MemoryInput("My bank PIN is hidden under the blue vase"))
    outcome = await memory.search(bob, "bank PIN blue vase", k=10)
    assert all(r.memory.user_id == bob for r in outcome.results)
    assert secret.id not in {r.memory.id for r in outcome.results}
    with pytest.raises(MemoryNotFoundError):
        await memory.get(bob, secret.id)
    with pytest.raises(MemoryNotFoundError):
        await memory.delete(bob, secret.id)
    assert (await memory.get(alice, secret.id)).content.startswith("My bank PIN")


async def test_deleted_memory_is_gone_from_search_and_lists(memory: MemoryService, alice: str) -> None:
    """Deleting forgets at once: search and lists no longer return it."""
    stored = await memory.store(alice, MemoryInput("I secretly hate pineapple pizza"))
    await memory.delete(alice, stored.id)
    outcome = await memory.search(alice, "pineapple pizza", k=5)
    assert stored.id not in {r.memory.id for r in outcome.results}
    page = await memory.list_page(alice, MemoryType.EPISODIC, 50, 0)
    assert stored.id not in {m.id for m in page.items}
    with pytest.raises(MemoryNotFoundError):
        await memory.get(alice, stored.id)


async def test_embedding_outage_keeps_the_memory_and_full_text_still_finds_it(
    database_url: str, redis_url: str, alice: str
) -> None:
    """With the embedding service down, a write is kept without a vector and found by full text (degraded)."""
    dead_url = f"http://127.0.0.1:{free_port()}"
    async with memory_service(database_url, redis_url, dead_url) as offline:
        stored = await offline.store(alice, MemoryInput("Our anniversary dinner is at Luigi's trattoria"))
        assert stored.embedding_model is None
        outcome = await offline.search(alice, "where is the anniversary dinner?", k=3)
    assert outcome.degraded == ["embedding_service"]
    assert outcome.results[0].memory.id == stored.id
    assert outcome.results[0].components.similarity is None


async def test_an_import_during_an_embedding_outage_is_kept_whole_and_embedded_once_the_service_is_back(
    database_url: str, redis_url: str, embedding_service_url: str, alice: str
) -> None:
    """250 memories stored while the embedding service is down: every one is kept (after one failed call,
    not one per batch of 100), and the backlog gives each its vector, written into the same row, once the
    service answers again."""
    from benchmarks.harness import CallProbe
    from gateway.integrations.embedding import EmbeddingClient

    items = [MemoryInput(f"Imported diary line {n}: we planted {n} tulip bulbs") for n in range(250)]
    dead_url = f"http://127.0.0.1:{free_port()}"
    async with memory_service(database_url, redis_url, dead_url) as offline:
        with CallProbe([(EmbeddingClient, "embed_documents")]) as probe:
            ids = await offline.store_many(alice, items)
    assert len(probe.calls) == 1
    count = "SELECT count(*) FROM memories WHERE user_id = $1 AND embedding IS NULL AND id = ANY($2::uuid[])"
    async with memory_service(database_url, redis_url, embedding_service_url) as online:
        assert await online.pool.fetchval(count, alice, ids) == 250
        assert await online.embed_backlog() >= 250
        assert await online.pool.fetchval(count, alice, ids) == 0
        outcome = await online.search(alice, "how many tulip bulbs did we plant, 117?", k=3)
    assert outcome.degraded == []
    assert outcome.results[0].memory.content.startswith("Imported diary line 117:")
    assert outcome.results[0].components.similarity is not None


async def test_when_no_query_word_is_rare_full_text_selects_the_memories_holding_them_together(
    database_url: str, redis_url: str, alice: str
) -> None:
    """ "When I went camping": both words are in many memories, so neither selects alone (each would have all
    its memories ranked, the slow tail of recall); together they select the one memory that holds both."""
    from benchmarks.harness import CallProbe
    from gateway.memory.repository import MemoryRepository

    dead_url = f"http://127.0.0.1:{free_port()}"  # full text alone: no vector candidates
    async with memory_service(database_url, redis_url, dead_url) as offline:
        items = [MemoryInput(f"I went to the gym on day {n} of the plan") for n in range(40)]
        items += [MemoryInput(f"Camping gear list, item {n}: one more tent peg") for n in range(40)]
        items += [MemoryInput(f"Filler note number {n} about the weather") for n in range(20)]
        items.append(MemoryInput("The night we went camping by the lake it rained until dawn"))
        await offline.store_many(alice, items)
        with CallProbe([(MemoryRepository, "fulltext_search")]) as probe:
            outcome = await offline.search(alice, "when I went camping", k=5, record_access=False)
    [(_, _, hits)] = probe.calls
    assert isinstance(hits, list) and len(hits) == 1
    assert outcome.results[0].memory.content.startswith("The night we went camping")


async def test_a_question_about_a_time_recalls_what_was_said_then(memory: MemoryService, alice: str) -> None:
    """Three hikes told alike: "Where did we go hiking in May?" recalls May's first, although the October one
    is fresher in memory, and says why; without a time in the question, the fresher one comes first."""
    now = datetime(2023, 10, 20, 15, tzinfo=UTC)
    said = {
        "We went hiking in the hills with Sam today": datetime(2023, 5, 14, 18, tzinfo=UTC),
        "We went hiking in the hills with Jo today": datetime(2023, 8, 20, 18, tzinfo=UTC),
        "We went hiking in the hills with Al today": datetime(2023, 10, 15, 18, tzinfo=UTC),
    }
    other = ["The boiler needs fixing before winter", "I finally finished that crime novel"]
    other += ["Work has been stressful this month", "My sister is moving to Leeds"]
    said.update({text: datetime(2023, 9, day, 12, tzinfo=UTC) for day, text in enumerate(other, 1)})
    await memory.store_many(
        alice, [MemoryInput(text, importance=0.5, created_at=when) for text, when in said.items()]
    )
    in_may = await memory.search(alice, "Where did we go hiking in May?", k=3, now=now, record_access=False)
    assert in_may.results[0].memory.content == "We went hiking in the hills with Sam today"
    assert "said around 'in May'" in in_may.results[0].reason
    plain = await memory.search(alice, "Where did we go hiking?", k=3, now=now, record_access=False)
    assert plain.results[0].memory.content == "We went hiking in the hills with Al today"
    assert "said around" not in plain.results[0].reason


async def test_what_was_said_on_the_day_named_is_recalled_even_without_a_shared_word(
    memory: MemoryService, alice: str
) -> None:
    """ "What did we talk about yesterday?" shares no word with what was said yesterday, and 80 older memories
    of long chats sit nearer in meaning: the days a question names bring their memories as candidates of their
    own, and they make the ten recalled."""
    now = datetime(2023, 10, 20, 15, tzinfo=UTC)
    topics = ["the holiday", "the wedding", "the garden", "my car", "my job", "the flat", "my knee", "music"]
    topics += ["the kids", "your day", "films", "the news", "football", "the budget", "the weather", "books"]
    older = [f"We had a long chat about {topic}, {n} of many" for n in range(5) for topic in topics]
    items = [
        MemoryInput(text, importance=0.5, created_at=now - timedelta(days=30 + i))
        for i, text in enumerate(older)
    ]
    yesterday = ["I finally booked the dentist for Tuesday", "Mum rang about the surprise party"]
    items += [MemoryInput(text, importance=0.5, created_at=now - timedelta(days=1)) for text in yesterday]
    await memory.store_many(alice, items)
    outcome = await memory.search(
        alice, "What did we talk about yesterday?", k=10, now=now, record_access=False
    )
    found = {result.memory.content for result in outcome.results}
    assert found >= set(yesterday), [r.memory.content for r in outcome.results]


async def test_filters_by_type_and_importance(memory: MemoryService, alice: str) -> None:
    """memory_types and min_importance narrow the results."""
    await memory.store(alice, MemoryInput("ok lol", importance=0.05))
    semantic = await memory.store(
        alice,
        MemoryInput("Alice loves hiking in the Lake District", memory_type=MemoryType.SEMANTIC, speaker=None),
    )
    only_semantic = await memory.search(alice, "hiking", k=5, memory_types=[MemoryType.SEMANTIC])
    assert [r.memory.id for r in only_semantic.results] == [semantic.id]
    important = await memory.search(alice, "ok lol hiking", k=5, min_importance=0.2)
    assert all(r.memory.importance >= 0.2 for r in important.results)


async def test_retention_is_computed_for_the_given_now(memory: MemoryService, alice: str) -> None:
    """An imported memory from 2023 is fresh when searched "as of" 2023 and faded when searched today."""
    when = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    await memory.store(alice, MemoryInput("I went to a support group yesterday", created_at=when))
    then = await memory.search(alice, "support group", k=1, now=when + timedelta(days=1), record_access=False)
    today = await memory.search(alice, "support group", k=1, record_access=False)
    assert then.results[0].components.retention > 0.8
    assert today.results[0].components.retention < 0.01


async def test_mmr_trades_duplicates_for_diversity(memory: MemoryService, alice: str) -> None:
    """With a low lambda, near-duplicates give way to a different relevant memory."""
    for i in range(3):
        await memory.store(alice, MemoryInput(f"I love my cat Miso, she is the best cat {'!' * (i + 1)}"))
    other = await memory.store(alice, MemoryInput("My cat's vet appointment is on Tuesday"))
    relevance_only = await memory.search(alice, "my cat", k=3, mmr_lambda=1.0, record_access=False)
    diverse = await memory.search(alice, "my cat", k=3, mmr_lambda=0.3, record_access=False)
    assert other.id not in [r.memory.id for r in relevance_only.results][:2]
    assert other.id in [r.memory.id for r in diverse.results][:2]


async def test_assistant_replies_weigh_less(memory: MemoryService, alice: str) -> None:
    """The companion's own reply becomes a memory of lower importance than the user's same words."""
    text = "I just got promoted to senior engineer!"
    user_said = await memory.store(alice, MemoryInput(text))
    assistant_said = await memory.store(alice, MemoryInput(text, speaker=Speaker.ASSISTANT))
    assert assistant_said.importance < user_said.importance


async def test_export_holds_everything_of_one_user(memory: MemoryService, alice: str, bob: str) -> None:
    """Export returns all of Alice's memories and none of Bob's."""
    ids = {(await memory.store(alice, MemoryInput(f"fact number {i} about alice"))).id for i in range(3)}
    await memory.store(bob, MemoryInput("bob's own fact"))
    export = await memory.export(alice)
    assert {m.id for m in export.memories} == ids
    assert all(m.user_id == alice for m in export.memories)


async def test_index_outage_keeps_the_memory_and_backlog_indexes_it_later(
    database_url: str, redis_url: str, embedding_service_url: str, alice: str
) -> None:
    """With Qdrant down a write still lands in Postgres (unindexed), recall falls back to pgvector, and the
    backlog is indexed once Qdrant answers again."""
    dead = create_qdrant_client(QdrantSettings(url=f"http://127.0.0.1:{free_port()}", _env_file=None))  # type: ignore[call-arg]
    try:
        async with memory_service(
            database_url, redis_url, embedding_service_url, index=QdrantIndex(dead), fallback_index=None
        ) as degraded:
            degraded.fallback_index = PgVectorIndex(degraded.pool)
            stored = await degraded.store(alice, MemoryInput("I keep the spare key under the garden gnome"))
            assert stored.embedding_model == "all-MiniLM-L6-v2"
            assert (
                await degraded.pool.fetchval("SELECT indexed_at FROM memories WHERE id = $1", stored.id)
                is None
            )
            outcome = await degraded.search(alice, "where is the spare key?", k=3)
            assert outcome.degraded == ["qdrant"]
            assert outcome.results[0].memory.id == stored.id

            live = AsyncQdrantClient(location=":memory:")
            try:
                space = EmbeddingSpace("all-MiniLM-L6-v2", 384)
                assert await index_backlog(degraded.pool, QdrantIndex(live), space, limit=100) >= 1
                degraded.index = QdrantIndex(live)
                again = await degraded.search(alice, "where is the spare key?", k=3)
            finally:
                await live.close()
    finally:
        await dead.close()
    assert again.degraded == []
    assert again.results[0].memory.id == stored.id


def _chat_with_short_replies(start: datetime) -> list[MemoryInput]:
    """Sixty-odd memories: other conversations whose answers are as short and vague as ours."""
    topics = ["the cooking class", "the new job", "the concert", "the hike", "the dentist", "the exam"]
    replies = ["Yes!! it was amazing", "It was amazing, honestly", "Yes, it was lovely", "ugh, it was long"]
    items = []
    for n in range(64):
        at = start + timedelta(hours=n)
        items.append(
            MemoryInput(
                f"How did {topics[n % len(topics)]} go? ({n})",
                speaker=Speaker.ASSISTANT,
                conversation_id=f"c{n}",
                created_at=at,
            )
        )
        items.append(MemoryInput(replies[n % len(replies)], conversation_id=f"c{n}", created_at=at))
    return items


async def test_a_short_reply_is_recalled_with_the_question_it_answers(
    memory: MemoryService, alice: str
) -> None:
    """ "Yes!! it was amazing" shares nothing with "how was the dog show?": it comes back because it answered
    the question about the dog show just before it in the same conversation (contiguity)."""
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    await memory.store_many(alice, _chat_with_short_replies(start))
    at = start - timedelta(days=1)  # before the others: the same words said later would win a tie
    [_, reply] = await memory.store_many(
        alice,
        [
            MemoryInput(
                "Did you take Sparky to the dog show on Sunday?",
                speaker=Speaker.ASSISTANT,
                conversation_id="show",
                created_at=at,
            ),
            MemoryInput("Yes!! it was amazing", conversation_id="show", created_at=at + timedelta(seconds=5)),
        ],
    )
    outcome = await memory.search(alice, "How was the dog show?", k=3, now=start + timedelta(days=4))
    assert reply in [r.memory.id for r in outcome.results[:2]]


async def test_a_neighbour_said_in_a_dm_stays_out_of_a_channels_recall(
    memory: MemoryService, alice: str
) -> None:
    """Contiguity keeps the scope: the answer given in a DM does not come along with its question in a
    server channel, though both are one conversation."""
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    await memory.store_many(alice, _chat_with_short_replies(start))
    at = start - timedelta(days=1)
    question = MemoryInput(
        "Did you take Sparky to the dog show on Sunday?",
        conversation_id="show",
        created_at=at,
        origin_channel_id="chan-1",
        origin_guild_id="guild-1",
    )
    private = MemoryInput(
        "Yes!! it was amazing", conversation_id="show", created_at=at + timedelta(seconds=5)
    )
    [asked, answered] = await memory.store_many(alice, [question, private])
    later = start + timedelta(days=4)
    in_channel = await memory.search(alice, "How was the dog show?", k=5, now=later, channel_id="chan-1")
    assert [r.memory.id for r in in_channel.results] == [asked]
    in_dm = await memory.search(alice, "How was the dog show?", k=3, now=later)
    assert answered in [r.memory.id for r in in_dm.results[:2]]


async def test_a_vague_reply_is_as_close_to_a_question_as_the_conversation_it_was_said_in(
    memory: MemoryService,
) -> None:
    """Real vectors: "Yes!! it was amazing" alone is far from "How was the dog show?"; in its window (the
    messages just before and after it, MEMORY_CONTEXT_WEIGHT) it is close when they talk of the dog show,
    and not when they talk of something else."""
    import numpy as np

    from gateway.memory import retrieval

    texts = [
        "How was the dog show?",
        "Yes!! it was amazing",
        "Did you take Sparky to the dog show on Sunday?",
        "He won a ribbon for the best trick, the judges loved him",
        "Did you finish the tax return?",
        "Finally sent it to the accountant this morning",
    ]
    embedded = await memory.embedding.embed_documents(texts)
    assert embedded is not None
    query, reply, *others = (np.asarray(v, dtype=np.float32) for v in embedded.vectors)
    alone = float(np.dot(reply, query))
    own, (at_the_show, about_taxes, by_itself) = retrieval.similarities(
        [reply, reply, reply], [others[:2], others[2:], []], query
    )
    assert at_the_show is not None and about_taxes is not None
    assert at_the_show > alone + 0.1
    assert at_the_show > about_taxes + 0.15
    assert by_itself == pytest.approx(alone, abs=1e-6)
    assert own == pytest.approx([alone] * 3, abs=1e-6)


async def test_more_concurrent_searches_than_pooled_connections_all_finish(
    database_url: str, redis_url: str, embedding_service_url: str, alice: str
) -> None:
    """Twelve searches at once on a pool of two connections: each search waits for a connection only while
    holding none, so none waits forever on the others (the gateway's pool is shared by every request)."""
    import asyncio

    import redis.asyncio as aioredis

    from gateway.config import DatabaseSettings, MemorySettings
    from gateway.db import create_pool
    from gateway.integrations.embedding import EmbeddingClient
    from gateway.memory.importance import ImportanceScorer

    settings = DatabaseSettings(url=database_url, pool_min_size=1, pool_max_size=2, _env_file=None)  # type: ignore[call-arg]
    pool = await create_pool(settings)
    redis = aioredis.Redis.from_url(redis_url)
    embedding = EmbeddingClient(embedding_service_url, timeout=30)
    try:
        service = MemoryService(
            pool,
            embedding,
            PgVectorIndex(pool),
            ImportanceScorer(None, redis, 3600),
            MemorySettings(_env_file=None),  # type: ignore[call-arg]
        )
        await service.store_many(
            alice, [MemoryInput(f"Band practice number {n} ran late") for n in range(30)]
        )
        query = await embedding.embed_query("when did band practice run late?")
        searches = [
            service.search(alice, "when did band practice run late?", k=5, query_embedding=query)
            for _ in range(12)
        ]
        outcomes = await asyncio.wait_for(asyncio.gather(*searches), timeout=60)
    finally:
        await embedding.aclose()
        await redis.aclose()
        await pool.close()
    assert all(len(outcome.results) == 5 for outcome in outcomes)


async def test_concurrent_first_searches_check_the_vector_index_once(
    database_url: str, redis_url: str, embedding_service_url: str, alice: str
) -> None:
    """A gateway that just started gets many searches at once: one of them checks that the HNSW index exists
    (holding a connection while it waits for the build lock), the others wait for it holding none."""
    import asyncio

    from benchmarks.harness import CallProbe

    async with memory_service(database_url, redis_url, embedding_service_url) as writer:
        await writer.store_many(
            alice, [MemoryInput(f"Choir rehearsal {n} moved to Thursday") for n in range(20)]
        )
    async with memory_service(database_url, redis_url, embedding_service_url) as fresh:
        query = await fresh.embedding.embed_query("when is choir rehearsal?")
        with CallProbe([(PgVectorIndex, "ensure_ready")]) as probe:
            outcomes = await asyncio.gather(
                *(
                    fresh.search(alice, "when is choir rehearsal?", k=3, query_embedding=query)
                    for _ in range(8)
                )
            )
    assert len(probe.calls) == 1
    assert all(len(outcome.results) == 3 for outcome in outcomes)


async def test_concurrent_recalls_of_one_user_never_deadlock(memory: MemoryService, alice: str) -> None:
    """Recalls record themselves on the memories they return; many at once over overlapping memories (one
    user's API searches, two replicas) lock those rows in one order, so Postgres never aborts one."""
    import asyncio
    import random

    from gateway.memory.repository import MemoryRepository

    ids = await memory.store_many(alice, [MemoryInput(f"Garden note {n}: the roses") for n in range(60)])
    rng = random.Random(7)
    now = datetime(2026, 3, 1, tzinfo=UTC)

    async def recall(chosen: list) -> None:
        async with memory.pool.acquire() as conn:
            await MemoryRepository(conn).record_recall(alice, chosen, now, 1.5, 64.0)

    for _ in range(30):
        await asyncio.gather(*(recall(rng.sample(ids, 20)) for _ in range(8)))
    total = await memory.pool.fetchval("SELECT sum(access_count) FROM memories WHERE user_id = $1", alice)
    assert total == 30 * 8 * 20


@pytest.mark.parametrize(
    "question",
    [
        "What does Anna like to cook?",
        "what does anna like to cook",  # typed in lower case, as many people chat: Alice writes her name
        "WHAT DOES ANNA LIKE TO COOK?",
    ],
)
async def test_a_question_about_someone_recalls_what_was_said_about_them(
    memory: MemoryService, alice: str, question: str
) -> None:
    """Alice talks about her sister Anna all the time, so "Anna" is a common word of hers and counts for
    little in full text; "What does Anna like to cook?" still asks about Anna, not about Tom's cooking, however
    it is typed."""
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    daily = [
        "Anna called me this morning",
        "Anna and I went for a long walk",
        "Anna is stressed about her exams",
        "I watched a film with Anna",
        "Anna borrowed my bike again",
        "Anna says hi",
    ]
    items = [
        MemoryInput(text, conversation_id=f"d{n}", created_at=start + timedelta(hours=n))
        for n, text in enumerate(daily * 3)
    ]
    await memory.store_many(alice, items)
    at = start + timedelta(days=2)
    [tom, anna] = await memory.store_many(
        alice,
        [
            MemoryInput("Tom likes to cook spicy curry", conversation_id="t", created_at=at),
            MemoryInput("Anna's favourite dish to make is lasagna", conversation_id="a", created_at=at),
        ],
    )
    outcome = await memory.search(alice, question, k=3, now=at + timedelta(days=1))
    ranked = [r.memory.id for r in outcome.results]
    assert anna in ranked
    assert tom not in ranked[: ranked.index(anna)]


async def test_what_the_companion_promised_is_recalled_before_what_the_user_said(
    memory: MemoryService, alice: str
) -> None:
    """ "What did you promise me about the dentist?" asks for the companion's own words, though Alice's
    message about the dentist shares more of the question's words and weighs more (a reply weighs less)."""
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    [said, promised] = await memory.store_many(
        alice,
        [
            MemoryInput(
                "I have a dentist appointment on Friday and I promise I'm terrified of the dentist",
                conversation_id="c",
                created_at=at,
            ),
            MemoryInput(
                "I'll remind you on Thursday evening so you can get ready",
                speaker=Speaker.ASSISTANT,
                conversation_id="c",
                created_at=at + timedelta(seconds=5),
            ),
        ],
    )
    later = at + timedelta(days=1)
    outcome = await memory.search(alice, "What did you promise me about the dentist?", k=2, now=later)
    assert [r.memory.id for r in outcome.results] == [promised, said]
    mine = await memory.search(alice, "What did I tell you about the dentist?", k=2, now=later)
    assert [r.memory.id for r in mine.results] == [said, promised]


async def test_a_summary_of_what_was_said_answers_a_question_about_either_side(
    memory: MemoryService, alice: str
) -> None:
    """A semantic memory sums up the conversation, said by neither side: "What did I tell you…" does not sink
    it below a weaker memory of Alice's own."""
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    await memory.store_many(alice, _chat_with_short_replies(start))
    at = start + timedelta(days=3)
    [own] = await memory.store_many(
        alice, [MemoryInput("The dentist said my teeth are fine", conversation_id="d", created_at=at)]
    )
    [summary] = await memory.store_many(
        alice,
        [
            MemoryInput(
                "Alice is afraid of the dentist",
                memory_type=MemoryType.SEMANTIC,
                speaker=None,
                created_at=at,
            )
        ],
    )
    question = "What did I tell you about my fear of the dentist?"
    outcome = await memory.search(alice, question, k=2, now=at + timedelta(days=1))
    assert [r.memory.id for r in outcome.results] == [summary, own]
