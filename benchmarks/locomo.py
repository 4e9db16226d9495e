"""LoCoMo retrieval recall of the memory service, against cosine-only and BM25-only baselines.

    python -m benchmarks.locomo [--data PATH] [--k 5 10] [--index pgvector|qdrant] [--embedding local|gemini]
                                [--conversations N] [--json OUT] [--dump-misses PATH] [--lowercase-questions]
                                [--chat-typing RATE]

For each conversation (``sample_id``) a fresh user gets every turn of every session as one memory, in time
order, through ``MemoryService.store_many`` (one batch per session): content ``"{speaker}: {text}"`` (plus
``[shares a photo of ...]`` for image turns), created at the session's date with one second between turns.
Each question whose evidence ids all name turns of the conversation is then searched with ``now`` = the
last session's date + 1 day and ``record_access=False``; recall@k = |evidence ∩ top-k| / |evidence| and
hit@k = 1 when any evidence turn is in the top k. Questions with empty or malformed evidence are skipped
(13 in locomo10.json) and counted.

The headline figure is the unweighted mean over categories 1-4 (multi-hop, temporal, open-domain,
single-hop) of each category's mean; the question-weighted mean over the same questions is given too, and
category 5 (adversarial) is reported apart. Baselines over the very same turns and questions:

- ``cosine``: every memory of the user ranked by cosine between the query embedding (the embedding
  service's ``/embed_query``, the same vector our search gets) and the stored vectors, read from Postgres;
- ``bm25``: benchmarks.bm25 (k1 1.5, b 0.75, lowercase word tokens) over the same content strings.

``--embedding`` picks the embedding service's provider: ``local`` (all-MiniLM-L6-v2, 384-d, the default) or
``gemini`` (gemini-embedding-001 at the service's ``EMBEDDING_DIMENSIONS``, 1536 by default), what production
runs. Gemini needs ``GEMINI_API_KEY`` in the environment (``GEMINI_BASE_URL`` optional; a .env file is not
read); without it the command stops at once with exit code 2. The report's ``embedding`` says which
provider, model and dimensions the service used.

``--lowercase-questions`` asks every question in lower case, as many people type in chat ("what does
caroline like"); the memories stay as written. ``--chat-typing RATE`` stores every turn as typed in a hurried
chat instead: lower case, no apostrophes, and RATE of its words with one typo (seeded). The report's
``questions_typed`` and ``turns_typed`` say which.

The data file is read in place (its license forbids copying it); any file in the LoCoMo layout works.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np

from benchmarks.bm25 import BM25
from benchmarks.data import LOCOMO
from benchmarks.harness import (
    EMBEDDING_PROVIDERS,
    CallProbe,
    StackError,
    embedding_in_use,
    embedding_settings,
    local_stack,
)

logger = logging.getLogger("benchmarks.locomo")

CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop", 5: "adversarial"}
HEADLINE_CATEGORIES = (1, 2, 3, 4)
DATE_FORMAT = "%I:%M %p on %d %B, %Y"  # "1:56 pm on 8 May, 2023"
README_BM25 = {"recall@5": 0.462, "recall@10": 0.539, "multi-hop recall@10": 0.212}
AVERAGING = (
    "recall@k and hit@k (headline): unweighted mean over categories 1-4 (multi-hop, temporal, open-domain, "
    "single-hop) of the per-category mean over that category's evaluated questions; 'question_weighted' "
    "is the plain mean over every evaluated question of categories 1-4; 'all_categories_question_weighted' "
    "is the plain mean over every evaluated question of categories 1-5 (the averaging that reproduces the data "
    "README's BM25 reference best); category 5 (adversarial) is otherwise in by_category only. "
    "recall@k = |evidence ∩ top-k| / |evidence| (evidence ids deduplicated), hit@k = 1 if any evidence turn "
    "is in the top k."
)
SYSTEMS = ("ours", "cosine", "bm25")
# The reordering ceiling: the recall of a perfect reranker of the N best turns by cosine and the N best by BM25.
CEILING_POOLS = (30, 60, 100)
CEILING = (
    "recall@k of a perfect reordering of a pool: the top N turns by cosine together with the top N by BM25 "
    "(the baselines' own rankings), each question's evidence in the pool put first. What no reranker of "
    "those two signals' candidates can exceed; ours reads about 60 of each."
)
_NESTED = ("question_weighted", "all_categories_question_weighted", "by_category")

_DIA_ID = re.compile(r"^D\d+:\d+$")
_SESSION_KEY = re.compile(r"^session_(\d+)$")
_CAPTION_PREFIX = re.compile(r"^(?:a |an )?(?:photo|photograph|photography|picture|image) of ", re.IGNORECASE)


# --- the data set -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    dia_id: str
    speaker: str
    content: str


@dataclass(frozen=True)
class Session:
    key: str  # "session_3": the memories' conversation_id
    number: int
    date: datetime
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class Question:
    question: str
    answer: str
    evidence: tuple[str, ...]
    category: int


@dataclass
class Conversation:
    sample_id: str
    sessions: list[Session]
    questions: list[Question]
    skipped: list[dict[str, Any]] = field(default_factory=list)

    @property
    def turns(self) -> list[Turn]:
        return [turn for session in self.sessions for turn in session.turns]

    @property
    def now(self) -> datetime:
        """The moment questions are asked: the last session's date plus one day."""
        return self.sessions[-1].date + timedelta(days=1)


def parse_session_date(value: str) -> datetime:
    """``"1:56 pm on 8 May, 2023"`` -> 2023-05-08 13:56 UTC."""
    return datetime.strptime(" ".join(value.split()), DATE_FORMAT).replace(tzinfo=UTC)


def turn_content(turn: dict[str, Any]) -> str:
    """``"{speaker}: {text}"``, with ``[shares a photo of ...]`` appended for an image turn with a caption."""
    content = f"{turn['speaker']}: {str(turn.get('text', '')).strip()}"
    caption = str(turn.get("blip_caption") or "").strip()
    if caption:
        content += f" [shares a photo of {_CAPTION_PREFIX.sub('', caption)}]"
    return content


def valid_evidence(evidence: object, known: set[str]) -> tuple[str, ...] | None:
    """The question's evidence ids (deduplicated, in order), or None when empty or any id is malformed or
    names no turn of the conversation."""
    if not isinstance(evidence, list) or not evidence:
        return None
    ids: dict[str, None] = {}
    for item in evidence:
        if not isinstance(item, str) or not _DIA_ID.match(item.strip()) or item.strip() not in known:
            return None
        ids[item.strip()] = None
    return tuple(ids)


def parse_conversation(sample: dict[str, Any]) -> Conversation:
    conversation = sample["conversation"]
    numbers = sorted(
        int(match.group(1))
        for key, value in conversation.items()
        if (match := _SESSION_KEY.match(key)) and isinstance(value, list) and value
    )
    sessions = []
    for number in numbers:
        key = f"session_{number}"
        turns = tuple(
            Turn(str(t["dia_id"]).strip(), str(t["speaker"]), turn_content(t)) for t in conversation[key]
        )
        sessions.append(Session(key, number, parse_session_date(conversation[f"{key}_date_time"]), turns))
    known = {turn.dia_id for session in sessions for turn in session.turns}
    questions, skipped = [], []
    for qa in sample.get("qa", []):
        evidence = valid_evidence(qa.get("evidence"), known)
        category = int(qa.get("category", 0))
        answer = qa.get("answer", qa.get("adversarial_answer", ""))
        if evidence is None:
            skipped.append(
                {"question": qa.get("question"), "evidence": qa.get("evidence"), "category": category}
            )
            continue
        questions.append(Question(str(qa["question"]), str(answer), evidence, category))
    return Conversation(str(sample["sample_id"]), sessions, questions, skipped)


def lowercased(conversations: Sequence[Conversation]) -> list[Conversation]:
    """The same conversations with every question in lower case (the turns unchanged)."""
    return [
        Conversation(
            c.sample_id,
            c.sessions,
            [dataclasses.replace(q, question=q.question.lower()) for q in c.questions],
            c.skipped,
        )
        for c in conversations
    ]


_TYPO_WORD = re.compile(r"[a-z]{4,}")
_KEYS = "qwertyuiopasdfghjklzxcvbnm"


def chat_typed(conversations: Sequence[Conversation], typo_rate: float, seed: int = 0) -> list[Conversation]:
    """The same conversations with every turn typed as in a hurried chat: its text (after ``"{speaker}: "``)
    in lower case, without apostrophes, and ``typo_rate`` of its words of four letters or more with one typo
    inside (a letter dropped, doubled, swapped with the next or replaced), reproducibly for ``seed``."""
    rng = random.Random(seed)

    def typo(match: re.Match[str]) -> str:
        word = match.group()
        if rng.random() >= typo_rate:
            return word
        i, edit = rng.randrange(1, len(word) - 1), rng.randrange(4)
        if edit == 0:
            return word[:i] + word[i + 1 :]
        if edit == 1:
            return word[:i] + word[i] + word[i:]
        if edit == 2:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        return word[:i] + rng.choice(_KEYS) + word[i + 1 :]

    def typed(turn: Turn) -> Turn:
        speaker, _, text = turn.content.partition(": ")
        text = text.lower().replace("'", "").replace("’", "")
        return dataclasses.replace(turn, content=f"{speaker}: {_TYPO_WORD.sub(typo, text)}")

    return [
        Conversation(
            c.sample_id,
            [dataclasses.replace(s, turns=tuple(typed(t) for t in s.turns)) for s in c.sessions],
            c.questions,
            c.skipped,
        )
        for c in conversations
    ]


def load_locomo(path: Path) -> list[Conversation]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of conversations")
    return [parse_conversation(sample) for sample in data]


# --- metrics ------------------------------------------------------------------------------------------------


def recall_at(evidence: Sequence[str], ranked: Sequence[str], k: int) -> float:
    wanted = set(evidence)
    return len(wanted & set(ranked[:k])) / len(wanted)


def hit_at(evidence: Sequence[str], ranked: Sequence[str], k: int) -> float:
    return 1.0 if set(evidence) & set(ranked[:k]) else 0.0


@dataclass(frozen=True)
class Outcome:
    """One question's ranked dia_ids under one system."""

    category: int
    evidence: tuple[str, ...]
    ranked: tuple[str, ...]
    conversation: str = ""


def summarize(outcomes: Iterable[Outcome], ks: Sequence[int]) -> dict[str, Any]:
    """Per-category means, the headline (unweighted over categories 1-4) and the question-weighted mean."""
    by_cat: dict[int, list[Outcome]] = {}
    for outcome in outcomes:
        by_cat.setdefault(outcome.category, []).append(outcome)
    categories: dict[str, Any] = {}
    for category in sorted(by_cat):
        items = by_cat[category]
        entry: dict[str, Any] = {
            "name": CATEGORIES.get(category, f"category {category}"),
            "questions": len(items),
        }
        for k in ks:
            entry[f"recall@{k}"] = _round(statistics.fmean(recall_at(o.evidence, o.ranked, k) for o in items))
            entry[f"hit@{k}"] = _round(statistics.fmean(hit_at(o.evidence, o.ranked, k) for o in items))
        categories[str(category)] = entry
    summary: dict[str, Any] = {}
    headline = [c for c in HEADLINE_CATEGORIES if c in by_cat]
    pooled = [o for c in headline for o in by_cat[c]]
    weighted: dict[str, Any] = {"questions": len(pooled)}
    for k in ks:
        for metric, fn in (("recall", recall_at), ("hit", hit_at)):
            name = f"{metric}@{k}"
            summary[name] = (
                _round(statistics.fmean(categories[str(c)][name] for c in headline)) if headline else None
            )
            weighted[name] = (
                _round(statistics.fmean(fn(o.evidence, o.ranked, k) for o in pooled)) if pooled else None
            )
    summary["question_weighted"] = weighted
    everything = [o for c in sorted(by_cat) for o in by_cat[c]]
    all_weighted: dict[str, Any] = {"questions": len(everything)}
    for k in ks:
        for metric, fn in (("recall", recall_at), ("hit", hit_at)):
            values = [fn(o.evidence, o.ranked, k) for o in everything]
            all_weighted[f"{metric}@{k}"] = _round(statistics.fmean(values)) if values else None
    summary["all_categories_question_weighted"] = all_weighted
    summary["by_category"] = categories
    return summary


def cross_validate(
    outcomes_by_value: dict[float, list[Outcome]], ks: Sequence[int], folds: int, k: int = 10
) -> dict[str, Any]:
    """Cross-validation by conversation: the conversations are cut into ``folds`` groups; for each group the
    value with the best headline recall@k on the *other* groups is chosen, and its outcomes on this group are
    kept. The summary of the kept outcomes is how the chosen setting does on conversations it was not chosen
    on."""
    conversations = sorted({o.conversation for items in outcomes_by_value.values() for o in items})
    groups = [conversations[i::folds] for i in range(min(folds, len(conversations)))]
    held: list[Outcome] = []
    chosen: list[dict[str, Any]] = []
    for group in groups:
        members = set(group)
        best = max(
            sorted(outcomes_by_value),
            key=lambda value: (
                summarize([o for o in outcomes_by_value[value] if o.conversation not in members], [k])[
                    f"recall@{k}"
                ]
                or 0.0
            ),
        )
        held.extend(o for o in outcomes_by_value[best] if o.conversation in members)
        chosen.append({"held_out": group, "chosen": best})
    return {"folds": chosen, **summarize(held, ks)}


def _round(value: float) -> float:
    return round(value, 4)


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# --- the run ------------------------------------------------------------------------------------------------


@dataclass
class Miss:
    sample_id: str
    question: Question
    top: list[dict[str, Any]]
    evidence: list[dict[str, Any]]


@dataclass
class RunState:
    outcomes: dict[str, list[Outcome]] = field(
        default_factory=lambda: {name: [] for name in (*SYSTEMS, *(f"ceiling:{n}" for n in CEILING_POOLS))}
    )
    search_ms: list[float] = field(default_factory=list)
    embed_ms: list[float] = field(default_factory=list)
    ingest_seconds: float = 0.0
    turns: int = 0
    turns_without_vector: int = 0  # the memory service keeps a memory unembedded when the provider fails
    misses: list[Miss] = field(default_factory=list)
    # --sweep: (setting, values); each value's outcomes under "sweep:<value>"
    sweep: tuple[str, tuple[float, ...]] | None = None


async def run_conversation(
    service: Any, conversation: Conversation, ks: Sequence[int], state: RunState, dump_misses: bool
) -> None:
    from gateway.memory.repository import MemoryRepository
    from gateway.memory.schemas import Speaker
    from gateway.memory.service import MemoryInput

    user_id = f"locomo-{conversation.sample_id}-{uuid.uuid4().hex[:8]}"
    await service.pool.execute(
        "INSERT INTO user_profiles (user_id, username) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        user_id,
        conversation.sample_id,
    )
    id_to_dia: dict[UUID, str] = {}
    content_of: dict[str, str] = {}
    started = time.perf_counter()
    for session in conversation.sessions:
        items = [
            MemoryInput(
                content=turn.content,
                created_at=session.date + timedelta(seconds=i),
                speaker=Speaker.USER,
                conversation_id=session.key,
            )
            for i, turn in enumerate(session.turns)
        ]
        ids = await service.store_many(user_id, items)
        for memory_id, turn in zip(ids, session.turns, strict=True):
            id_to_dia[memory_id] = turn.dia_id
            content_of[turn.dia_id] = turn.content
    state.ingest_seconds += time.perf_counter() - started
    state.turns += len(id_to_dia)

    # Baselines over the very same memories: stored vectors (cosine) and content strings (BM25).
    rows = await service.pool.fetch(
        "SELECT id, embedding FROM memories WHERE user_id = $1 AND deleted_at IS NULL AND embedding IS NOT NULL",
        user_id,
    )
    missing_vectors = len(id_to_dia) - len(rows)
    if missing_vectors:
        logger.warning("%s: %d memories have no vector", conversation.sample_id, missing_vectors)
        state.turns_without_vector += missing_vectors
    vector_dias = [id_to_dia[row["id"]] for row in rows]
    matrix = np.vstack([row["embedding"].to_numpy() for row in rows])
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    turns = conversation.turns
    bm25 = BM25([turn.content for turn in turns])
    top_n = max(ks)
    now = conversation.now
    context = _Context(conversation.sample_id, id_to_dia, content_of, vector_dias, matrix, turns, bm25)

    # With --dump-misses, the search's own candidate lists are captured to say where evidence got lost.
    targets = [(MemoryRepository, "fulltext_search"), (service.index, "search")] if dump_misses else []
    with CallProbe(targets) as probe:
        for question in conversation.questions:
            await _ask(service, user_id, question, probe, now, top_n, state, dump_misses, context)


@dataclass
class _Context:
    sample_id: str
    id_to_dia: dict[UUID, str]
    content_of: dict[str, str]
    vector_dias: list[str]
    matrix: Any
    turns: list[Turn]
    bm25: BM25


async def _ask(
    service: Any,
    user_id: str,
    question: Question,
    probe: CallProbe,
    now: datetime,
    top_n: int,
    state: RunState,
    dump_misses: bool,
    context: _Context,
) -> None:
    id_to_dia, content_of, vector_dias = context.id_to_dia, context.content_of, context.vector_dias
    matrix, turns, bm25 = context.matrix, context.turns, context.bm25
    t0 = time.perf_counter()
    query = await service.embedding.embed_query(question.question)
    probe.reset()
    t1 = time.perf_counter()
    outcome = await service.search(
        user_id, question.question, k=top_n, now=now, query_embedding=query, record_access=False
    )
    t2 = time.perf_counter()
    state.embed_ms.append((t1 - t0) * 1000)
    state.search_ms.append((t2 - t1) * 1000)
    ours = tuple(id_to_dia[r.memory.id] for r in outcome.results)
    q = np.asarray(query.vector, dtype=np.float32)
    q /= max(float(np.linalg.norm(q)), 1e-12)
    sims = matrix @ q
    cosine_order = np.argsort(-sims, kind="stable")
    cosine = tuple(vector_dias[i] for i in cosine_order[:top_n])
    lexical = tuple(turns[i].dia_id for i in bm25.top(question.question, top_n))
    for name, ranked in (("ours", ours), ("cosine", cosine), ("bm25", lexical)):
        state.outcomes[name].append(Outcome(question.category, question.evidence, ranked, context.sample_id))
    bm25_scores = bm25.scores(question.question)
    bm25_order = sorted(
        (i for i in range(len(turns)) if bm25_scores[i] > 0), key=lambda i: (-bm25_scores[i], i)
    )
    for pool_size in CEILING_POOLS:
        pool = {vector_dias[i] for i in cosine_order[:pool_size]} | {
            turns[i].dia_id for i in bm25_order[:pool_size]
        }
        ranked = tuple(dia for dia in dict.fromkeys(question.evidence) if dia in pool)
        state.outcomes[f"ceiling:{pool_size}"].append(
            Outcome(question.category, question.evidence, ranked, context.sample_id)
        )
    if state.sweep is not None:
        setting, values = state.sweep
        chosen = service.settings
        try:
            for value in values:
                service.settings = chosen.model_copy(update={setting: value})
                swept = await service.search(
                    user_id, question.question, k=top_n, now=now, query_embedding=query, record_access=False
                )
                ranked = tuple(id_to_dia[r.memory.id] for r in swept.results)
                state.outcomes.setdefault(f"sweep:{value}", []).append(
                    Outcome(question.category, question.evidence, ranked, context.sample_id)
                )
        finally:
            service.settings = chosen

    if dump_misses and recall_at(question.evidence, ours, top_n) < 1.0:
        cosine_rank = {vector_dias[i]: rank + 1 for rank, i in enumerate(cosine_order)}
        bm25_rank = {turns[i].dia_id: rank + 1 for rank, i in enumerate(bm25_order)}
        lexical_rank, vector_rank = _candidate_ranks(probe, id_to_dia)
        state.misses.append(
            Miss(
                context.sample_id,
                question,
                top=[
                    {
                        "rank": rank + 1,
                        "dia_id": id_to_dia[r.memory.id],
                        "evidence": id_to_dia[r.memory.id] in question.evidence,
                        "content": r.memory.content,
                        "created_at": r.memory.created_at.isoformat(),
                        "components": r.components.model_dump(),
                    }
                    for rank, r in enumerate(outcome.results)
                ],
                evidence=[
                    {
                        "dia_id": dia,
                        "content": content_of[dia],
                        "found_at": (ours.index(dia) + 1) if dia in ours else None,
                        "cosine_rank": cosine_rank.get(dia),
                        "vector_candidate_rank": vector_rank.get(dia),
                        "fulltext_candidate_rank": lexical_rank.get(dia),
                        "bm25_rank": bm25_rank.get(dia),
                    }
                    for dia in question.evidence
                ],
            )
        )


def _candidate_ranks(probe: CallProbe, id_to_dia: dict[UUID, str]) -> tuple[dict[str, int], dict[str, int]]:
    """Rank of each turn in the search's full-text and vector candidate lists (as captured by ``probe``)."""
    lexical: dict[str, int] = {}
    vector: dict[str, int] = {}
    for label, _, result in probe.calls:
        target = lexical if label.endswith("fulltext_search") else vector
        for rank, item in enumerate(result if isinstance(result, list) else []):
            memory_id = item[0] if isinstance(item, tuple) else getattr(item, "memory_id", None)
            if memory_id in id_to_dia:
                target.setdefault(id_to_dia[memory_id], rank + 1)
    return lexical, vector


async def run_benchmark(
    service: Any,
    conversations: Sequence[Conversation],
    ks: Sequence[int],
    *,
    index: str,
    data_path: Path,
    dump_misses: bool = False,
    progress: bool = True,
    sweep: tuple[str, tuple[float, ...]] | None = None,
    folds: int = 5,
) -> tuple[dict[str, Any], list[Miss]]:
    state = RunState(sweep=sweep)
    for number, conversation in enumerate(conversations, 1):
        started = time.perf_counter()
        await run_conversation(service, conversation, ks, state, dump_misses)
        if progress:
            print(
                f"[{number}/{len(conversations)}] {conversation.sample_id}: {len(conversation.turns)} turns, "
                f"{len(conversation.questions)} questions ({len(conversation.skipped)} skipped) "
                f"in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    skipped = [dict(s, sample_id=c.sample_id) for c in conversations for s in c.skipped]
    if skipped:
        logger.info("skipped %d questions with empty or malformed evidence", len(skipped))
    ours = summarize(state.outcomes["ours"], ks)
    report: dict[str, Any] = {
        "benchmark": "locomo",
        "data": str(data_path),
        "index": index,
        "embedding": await embedding_in_use(service),
        "ks": list(ks),
        "averaging": AVERAGING,
        **{key: value for key, value in ours.items() if key not in _NESTED},
        "question_weighted": ours["question_weighted"],
        "all_categories_question_weighted": ours["all_categories_question_weighted"],
        "by_category": ours["by_category"],
        "baselines": {
            "cosine": summarize(state.outcomes["cosine"], ks),
            "bm25": summarize(state.outcomes["bm25"], ks),
        },
        "reorder_ceiling": {
            "what": CEILING,
            "by_pool_size": {
                str(size): summarize(state.outcomes[f"ceiling:{size}"], ks) for size in CEILING_POOLS
            },
        },
        "readme_bm25_reference": README_BM25,
        "conversations": len(conversations),
        "turns_ingested": state.turns,
        "turns_without_vector": state.turns_without_vector,
        "questions_evaluated": len(state.outcomes["ours"]),
        "questions_skipped": len(skipped),
        "skipped": skipped,
        "ingest_seconds": round(state.ingest_seconds, 2),
        "ingest_per_s": round(state.turns / state.ingest_seconds, 1) if state.ingest_seconds else None,
        "search_p50_ms": _ms(percentile(state.search_ms, 50)),
        "search_p95_ms": _ms(percentile(state.search_ms, 95)),
        "search_timing": "MemoryService.search(k=max(ks), query_embedding given, record_access=False)",
        "embed_query_p50_ms": _ms(percentile(state.embed_ms, 50)),
        "embed_query_p95_ms": _ms(percentile(state.embed_ms, 95)),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "memory_settings": service.settings.model_dump(),
        "retrieval_constants": _retrieval_constants(),
    }
    if sweep is not None:
        setting, values = sweep
        by_value = {value: state.outcomes[f"sweep:{value}"] for value in values}
        report["sweep"] = {
            "setting": setting,
            "by_value": {str(value): summarize(items, ks) for value, items in by_value.items()},
            "chosen_by": f"headline recall@{max(ks)} on the other folds' conversations",
            "cross_validation_by_conversation": cross_validate(by_value, ks, folds, k=max(ks)),
        }
    return report, state.misses


def _retrieval_constants() -> dict[str, dict[str, float]]:
    """The numeric knobs of retrieval as this run found them (module-level UPPER_CASE numbers)."""
    import importlib

    out: dict[str, dict[str, float]] = {}
    for module_name in ("gateway.memory.retrieval", "gateway.memory.service"):
        module = importlib.import_module(module_name)
        out[module_name] = {
            name: value
            for name, value in vars(module).items()
            if name.isupper() and isinstance(value, int | float) and not isinstance(value, bool)
        }
    return out


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def summary_line(report: dict[str, Any]) -> str:
    k = max(report["ks"])
    key = f"recall@{k}"
    multi = report["by_category"].get("1", {}).get(key)
    return (
        f"LoCoMo {key} {report[key]:.3f} (cats 1-4) | cosine {report['baselines']['cosine'][key]:.3f}"
        f" | bm25 {report['baselines']['bm25'][key]:.3f} (README bm25 {README_BM25.get(key, float('nan')):.3f})"
        f" | multi-hop {multi if multi is None else f'{multi:.3f}'}"
        f" | search p95 {report['search_p95_ms']} ms | index {report['index']}"
        f" | embedding {describe_embedding(report['embedding'])}"
    )


def describe_embedding(embedding: dict[str, Any]) -> str:
    """``gemini gemini-embedding-001 1536-d``: the provider, model and dimensions a report was made with."""
    return f"{embedding['provider']} {embedding['model']} {embedding['dimensions']}-d"


def table(report: dict[str, Any]) -> str:
    """Per category and system, every recall@k / hit@k."""
    ks = report["ks"]
    systems = {"ours": report, "cosine": report["baselines"]["cosine"], "bm25": report["baselines"]["bm25"]}
    header = f"{'category':<22}{'n':>6}  " + "  ".join(
        f"{s + ' ' + m + '@' + str(k):>16}" for s in systems for m in ("R", "H") for k in ks
    )
    lines = [f"embedding: {describe_embedding(report['embedding'])}", header]
    rows = [(c, report["by_category"][c]) for c in report["by_category"]]
    for category, entry in rows:
        cells = []
        for system in systems.values():
            other = system["by_category"].get(category, {})
            for metric in ("recall", "hit"):
                cells += [f"{other.get(f'{metric}@{k}', float('nan')):>16.3f}" for k in ks]
        lines.append(f"{category + ' ' + entry['name']:<22}{entry['questions']:>6}  " + "  ".join(cells))
    views: tuple[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]], ...] = (
        ("cats 1-4 (unweighted)", lambda s: s),
        ("cats 1-4 (by question)", lambda s: s["question_weighted"]),
    )
    for label, pick in views:
        cells = []
        for system in systems.values():
            for metric in ("recall", "hit"):
                cells += [f"{pick(system)[f'{metric}@{k}']:>16.3f}" for k in ks]
        lines.append(f"{label:<22}{report['question_weighted']['questions']:>6}  " + "  ".join(cells))
    return "\n".join(lines)


def write_misses(path: Path, misses: Sequence[Miss], sample: int, seed: int = 0) -> int:
    """A reproducible sample of missed questions (spread over categories) as JSON; returns how many."""
    by_cat: dict[int, list[Miss]] = {}
    for miss in misses:
        by_cat.setdefault(miss.question.category, []).append(miss)
    rng = random.Random(seed)
    chosen: list[Miss] = []
    per_cat = max(1, sample // max(1, len(by_cat)))
    for category in sorted(by_cat):
        items = by_cat[category]
        chosen += rng.sample(items, min(per_cat, len(items)))
    lost = {
        "not_a_candidate": 0,
        "vector_candidate_only": 0,
        "fulltext_candidate_only": 0,
        "both_candidates": 0,
    }
    for miss in misses:
        for item in miss.evidence:
            if item.get("found_at") is not None:
                continue
            in_vector = item.get("vector_candidate_rank") is not None
            in_text = item.get("fulltext_candidate_rank") is not None
            key = ("both_candidates" if in_text else "vector_candidate_only") if in_vector else (
                "fulltext_candidate_only" if in_text else "not_a_candidate")  # fmt: skip
            lost[key] += 1
    payload = {
        "missed_evidence_turns": lost,
        "note": "questions whose evidence was not all in our top-k; found_at = rank in our results (None = "
        "missed), vector_candidate_rank / fulltext_candidate_rank = rank in the two candidate lists the search "
        "itself fetched (None = not a candidate), cosine_rank = exact rank by cosine over all turns, bm25_rank = "
        "rank by the BM25 baseline",
        "missed_total": len(misses),
        "missed_by_category": {str(c): len(v) for c, v in sorted(by_cat.items())},
        "sample": [
            {
                "sample_id": m.sample_id,
                "category": m.question.category,
                "category_name": CATEGORIES.get(m.question.category),
                "question": m.question.question,
                "answer": m.question.answer,
                "evidence": m.evidence,
                "top": m.top,
            }
            for m in chosen
        ],
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return len(chosen)


def parse_sweep(text: str) -> tuple[str, tuple[float, ...]]:
    """``"time_weight=0,0.5,1"`` as (setting, values); the setting must be one of MemorySettings'."""
    from gateway.config import MemorySettings

    name, _, values = text.partition("=")
    name = name.strip()
    if name not in MemorySettings.model_fields:
        raise argparse.ArgumentTypeError(
            f"{name!r} is not a memory setting ({', '.join(MemorySettings.model_fields)})"
        )
    kind = int if MemorySettings.model_fields[name].annotation is int else float
    try:
        parsed = tuple(kind(v) for v in values.split(",") if v.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"values must be numbers: {values!r}") from exc
    if not parsed:
        raise argparse.ArgumentTypeError("give at least one value: SETTING=V1,V2,...")
    return name, parsed


async def _main_async(
    args: argparse.Namespace, stack: Any, conversations: list[Conversation]
) -> dict[str, Any]:
    async with stack.memory_service(index=args.index) as service:
        report, misses = await run_benchmark(
            service,
            conversations,
            sorted(set(args.k)),
            index=args.index,
            data_path=args.data,
            dump_misses=args.dump_misses is not None,
            sweep=args.sweep,
            folds=args.folds,
        )
    report["questions_typed"] = "lower case" if args.lowercase_questions else "as written"
    report["turns_typed"] = (
        "as written"
        if args.chat_typing is None
        else {"lower_case": True, "apostrophes": False, "typo_rate": args.chat_typing}
    )
    if args.dump_misses is not None:
        count = write_misses(args.dump_misses, misses, args.dump_sample)
        print(f"wrote {count} of {len(misses)} misses to {args.dump_misses}", file=sys.stderr)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.locomo", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=LOCOMO, help="a LoCoMo-format JSON file (read in place)")
    parser.add_argument("--k", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--index", choices=("pgvector", "qdrant"), default="pgvector")
    parser.add_argument(
        "--embedding",
        choices=EMBEDDING_PROVIDERS,
        default="local",
        help="the embedding service's provider: local (all-MiniLM-L6-v2) or gemini (gemini-embedding-001; "
        "GEMINI_API_KEY from the environment; about 2,250 API calls for all of LoCoMo)",
    )
    parser.add_argument("--conversations", type=int, default=None, help="only the first N conversations")
    parser.add_argument("--json", type=Path, default=None, help="write the full report here")
    parser.add_argument("--dump-misses", type=Path, default=None, help="write a sample of missed questions")
    parser.add_argument(
        "--dump-sample", type=int, default=40, help="how many misses to dump (spread by category)"
    )
    parser.add_argument(
        "--sweep",
        type=parse_sweep,
        default=None,
        metavar="SETTING=V1,V2,...",
        help="also search with each value of one MEMORY_ setting (e.g. time_weight=0,0.5,1,2) and report, "
        "besides each value's figures, the cross-validation by conversation of choosing among them",
    )
    parser.add_argument(
        "--lowercase-questions",
        action="store_true",
        help="ask every question in lower case, as many people type in chat (the memories stay as written)",
    )
    parser.add_argument(
        "--chat-typing",
        type=float,
        default=None,
        metavar="RATE",
        help="store every turn typed as in a hurried chat: lower case, no apostrophes, and RATE of its words "
        "(four letters or more) with one typo",
    )
    parser.add_argument(
        "--folds", type=int, default=5, help="conversation groups for the sweep's cross-validation"
    )
    args = parser.parse_args(argv)
    if any(k < 1 for k in args.k):
        parser.error("--k values must be positive")
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    if args.chat_typing is not None and not 0.0 <= args.chat_typing <= 1.0:
        parser.error("--chat-typing must be between 0 and 1")
    try:
        embedding_settings(args.embedding)
    except StackError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)

    conversations = load_locomo(args.data)
    if args.conversations is not None:
        conversations = conversations[: args.conversations]
    if args.lowercase_questions:
        conversations = lowercased(conversations)
    if args.chat_typing is not None:
        conversations = chat_typed(conversations, args.chat_typing)
    skipped = sum(len(c.skipped) for c in conversations)
    print(
        f"{len(conversations)} conversations, {sum(len(c.turns) for c in conversations)} turns, "
        f"{sum(len(c.questions) for c in conversations)} questions ({skipped} skipped: empty/malformed evidence)",
        file=sys.stderr,
    )
    try:
        with local_stack(embedding=args.embedding) as stack:
            report = asyncio.run(_main_async(args, stack, conversations))
    except StackError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(table(report), file=sys.stderr)
    top = f"recall@{max(report['ks'])}"
    ceiling = report["reorder_ceiling"]["by_pool_size"]
    print(
        f"reorder ceiling, {top} (cats 1-4) of the top N by cosine and by BM25: "
        + ", ".join(f"N={size} {figures[top]}" for size, figures in ceiling.items()),
        file=sys.stderr,
    )
    if "sweep" in report:
        sweep = report["sweep"]
        for value, figures in sweep["by_value"].items():
            print(f"{sweep['setting']}={value}: {top} {figures[top]}", file=sys.stderr)
        held = sweep["cross_validation_by_conversation"]
        print(
            f"cross-validated by conversation: {top} {held[top]} "
            f"(chosen per fold: {[fold['chosen'] for fold in held['folds']]})",
            file=sys.stderr,
        )
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print(summary_line(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
