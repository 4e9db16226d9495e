"""The chat pipeline (docs/conversation.md#the-pipeline): one user message in, one reply out, everything
learned on the way.

Per message, in order (messages of one user strictly one after another, other users in parallel):
user lookup or creation → security screen → OCC appraisal and mood update → memory recall → the agent's
reply (letta → direct → template, each a fallback of the one before) → the message and the reply stored as
memories (behind the reply, never lost) → needs satisfied → an ``interactions`` row with the mood before
and after, the memories used, latency, model and what was degraded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.chat.repository import AnsweredTurn, InteractionRepository, NewInteraction
from gateway.chat.runtime import AgentReply, AgentRuntime, HistoryTurn, RecalledMemory, RuntimeFailure, Turn
from gateway.chat.schemas import (
    ChatMessageIn,
    ChatResponse,
    MemoryUsed,
    PadRead,
    SecurityNotice,
    SessionEnd,
    SessionStatus,
)
from gateway.chat.templates import TemplateRuntime
from gateway.chat.writer import PENDING_INTERACTIONS_KEY, MemoryWriter, PendingQueue
from gateway.clock import Clock
from gateway.config import ChatSettings
from gateway.db import DATABASE_UNAVAILABLE
from gateway.errors import CompanionError
from gateway.memory.consolidation import Consolidator
from gateway.memory.schemas import Speaker
from gateway.memory.service import MemoryInput, MemoryService
from gateway.metrics import Metrics
from gateway.personality.pad import PAD, EmotionLabel
from gateway.personality.service import NEUTRAL_MOOD, Mood, PersonalityService
from gateway.redis import CHAT_LOCK, QueuedLock, snowflake_order, user_key
from gateway.security.service import Screening, SecurityService
from gateway.users.service import UserBannedError, UsersService

logger = logging.getLogger(__name__)

SESSION_IDLE_MINUTES = 30
SELF_CACHE_SECONDS = 7 * 24 * 3600
REPLAY_CHECK_SECONDS = 10.0


# Runtimes that keep their own conversation history per user (a Letta agent remembers the DMs it answered):
# they never answer in a server channel, where only that channel's memories and turns may be used, and
# deleting a user deletes it there too (a store of ``gateway/users/stores.py``).
KEEPS_OWN_HISTORY = frozenset({"letta"})


BUSY = "still answering this user's earlier messages; try again shortly"


class ChatBusyError(CompanionError):
    """The user's previous messages are still being answered for too long."""

    status_code = 429


class ChatService:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        redis: aioredis.Redis,
        memory: MemoryService,
        users: UsersService,
        consolidator: Consolidator,
        personality: PersonalityService,
        security: SecurityService,
        runtimes: Sequence[AgentRuntime],
        settings: ChatSettings,
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.pool = pool
        self.redis = redis
        self.memory = memory
        self.users = users
        self.consolidator = consolidator
        self.personality = personality
        self.security = security
        self.runtimes = [r for r in runtimes if r.name != "template"] + [TemplateRuntime()]
        self.settings = settings
        self.clock = clock
        self.writer = MemoryWriter(memory, redis)
        self.pending_interactions = PendingQueue(redis, PENDING_INTERACTIONS_KEY)
        self._replay_due = 0.0
        self._replay_task: asyncio.Task[dict[str, int]] | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self._releases: set[asyncio.Task[None]] = set()  # user locks held until their turn's memories land

    # --- the pipeline -----------------------------------------------------------------------------------------

    async def handle(self, user_id: str, request: ChatMessageIn) -> ChatResponse:
        lock = self._user_lock(user_id, request.message_id)
        await lock.__aenter__()
        try:
            try:
                response = await self._handle(user_id, request)
                reached_postgres = True
            except DATABASE_UNAVAILABLE as exc:
                logger.warning("postgres unavailable, answering without it: %r", exc)
                response = await self._handle_without_database(user_id, request)
                reached_postgres = False
        except BaseException:
            await lock.__aexit__(None, None, None)
            raise
        # The reply goes now; the user's lock is held until the memories of this turn are stored, so their
        # next message recalls this one whichever replica answers it.
        self._release_after_writes(user_id, lock)
        self._observe(response)
        if reached_postgres:
            self._maybe_replay()
        return response

    def _release_after_writes(self, user_id: str, lock: _UserLock) -> None:
        async def release() -> None:
            try:
                await self.writer.user_idle(user_id)
            finally:
                await lock.__aexit__(None, None, None)

        task = asyncio.create_task(release(), name=f"chat-release-{user_id}")
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    def _observe(self, response: ChatResponse) -> None:
        if self.metrics is None:
            return
        self.metrics.chat_turns.labels(runtime=response.runtime).inc()
        self.metrics.turn_overhead_seconds.observe(
            max(0.0, response.processing_ms - response.agent_ms) / 1000
        )
        for component in response.degraded:
            self.metrics.degraded.labels(component=component).inc()
        if response.security.threat_detected:
            self.metrics.incidents.labels(threat_kind=response.security.threat_kind or "unknown").inc()

    async def _handle(self, user_id: str, request: ChatMessageIn) -> ChatResponse:
        started = time.perf_counter()
        if request.message_id is not None:
            answered = await InteractionRepository(self.pool).answered(user_id, request.message_id)
            if answered is not None:  # a retry of a message already answered: the same answer, no new turn
                return _repeated(answered, started)
        laps = _Laps()
        now = self.clock.now()
        degraded: list[str] = []
        profile, created = await self.users.touch(
            user_id, request.username, now, request.channel_id, request.is_dm
        )
        if profile.status == "banned":
            raise UserBannedError(f"user {user_id} is banned")
        state = await self.personality.ensure(user_id, now)
        laps.lap("user")

        screening = await self.security.screen_turn(user_id, request.message, state.label.value)
        degraded += screening.degraded
        laps.lap("security")
        if not screening.allowed:
            return await self._refuse(user_id, request, screening, state.mood, now, started, degraded)

        # The mood reacts while memories and the last turns are fetched (separate pooled connections).
        # A reply in a server channel draws only on what was said in that channel (request.scope).
        # The previous message's memories are stored already: its turn held the user's lock until they were.
        reaction, (recalled, memory_degraded), history = await asyncio.gather(
            self.personality.react(user_id, request.message, now, state=state),
            self._recall(user_id, request.message, now, request.scope),
            InteractionRepository(self.pool).recent(user_id, self.settings.history_turns, request.scope),
        )
        before, after = reaction.change.mood_before, reaction.change.mood_after
        degraded += reaction.degraded
        degraded += memory_degraded
        laps.lap("mood_and_recall")
        turn = Turn(
            user_id=user_id,
            username=profile.display_name or request.username,
            message=request.message,
            persona=await self.personality.persona(
                user_id, now, private=request.is_dm, state=reaction.change.state
            ),
            memories=recalled,
            history=[
                turn
                for exchange in history
                for turn in (
                    HistoryTurn("user", exchange.user_message) if exchange.user_message else None,
                    HistoryTurn("assistant", exchange.assistant_response),
                )
                if turn is not None
            ],
            emotion=after.label.value,
            user_valence=reaction.valence,
            restricted=screening.restricted,
            private=request.is_dm,
        )
        laps.lap("persona")
        reply = await self._reply(turn, degraded)
        laps.lap("agent")
        if not screening.restricted:
            await self._remember(user_id, request, reply, after, reaction.summary, now)
        record = _interaction(
            user_id,
            request,
            now,
            started,
            reply.text,
            before,
            after,
            runtime=reply.runtime,
            model=reply.model,
            tokens=reply.tokens,
            memory_ids=[m.memory_id for m in recalled],
            degraded=degraded,
        )
        # Needs and the interaction row are independent writes: both at once. The reply exists by now, so
        # Postgres going away here costs no reply: the interaction is queued and replayed.
        needs, stored = await asyncio.gather(
            self.personality.satisfy_needs(user_id, request.message, now),
            self._store_interaction(record),
            return_exceptions=True,
        )
        if isinstance(stored, BaseException):
            if not isinstance(stored, DATABASE_UNAVAILABLE):
                raise stored
            await self._queue_interaction(record, stored)
            degraded.append("postgres")
            interaction_id = None
        else:
            interaction_id = stored
        if isinstance(needs, BaseException) and not isinstance(needs, DATABASE_UNAVAILABLE):
            raise needs
        await self._cache_self(user_id, turn.persona, after, private=request.is_dm)
        return _response(
            reply.text,
            interaction_id,
            after,
            screening,
            degraded,
            started,
            runtime=reply.runtime,
            model=reply.model,
            agent_ms=reply.agent_ms,
            memories_used=[MemoryUsed(id=m.memory_id, reason=m.reason) for m in recalled],
            timings_ms=laps.finish("needs_and_interaction"),
            first_contact=created,
        )

    async def _store_interaction(self, record: NewInteraction) -> int:
        """The row, and one more in the profile's count of interactions, in one transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            interaction_id = await InteractionRepository(conn).insert(record)
            await self.users.count_interaction(record.user_id, conn=conn)
        return interaction_id

    async def _queue_interaction(self, record: NewInteraction, cause: BaseException) -> None:
        logger.warning("interaction of %s queued (postgres unavailable): %r", record.user_id, cause)
        await self.pending_interactions.push(record.to_json())
        self._replay_due = 0.0

    async def _cache_self(self, user_id: str, persona: str, mood: Mood, *, private: bool) -> None:
        """The last persona and mood, kept in Redis so a turn without Postgres still sounds like this
        companion (``_handle_without_database``); ``private``: rendered for a DM. Best effort."""
        try:
            await self.redis.set(
                user_key(user_id, "self"),
                json.dumps(
                    {
                        "persona": persona,
                        "private": private,
                        "mood": {**mood.as_dict(), "label": mood.label.value},
                    }
                ),
                ex=SELF_CACHE_SECONDS,
            )
        except (RedisError, OSError) as exc:
            logger.debug("persona cache unavailable: %s", exc)

    async def _cached_self(self, user_id: str, *, private: bool) -> tuple[str, Mood]:
        """The cached persona and mood; a persona rendered for a DM never serves a server-channel turn (it
        may quote words said in private): that turn gets the default persona with the cached mood."""
        try:
            raw = await self.redis.get(user_key(user_id, "self"))
        except (RedisError, OSError):
            raw = None
        if raw:
            data = json.loads(raw)
            mood = data["mood"]
            cached_mood = Mood(
                PAD(mood["pleasure"], mood["arousal"], mood["dominance"]), EmotionLabel(mood["label"])
            )
            if private or not data.get("private", True):
                return data["persona"], cached_mood
            return self.personality.offline_persona(user_id), cached_mood
        return self.personality.offline_persona(user_id), NEUTRAL_MOOD

    async def _handle_without_database(self, user_id: str, request: ChatMessageIn) -> ChatResponse:
        """Postgres is down (docs/architecture.md#decisions, D12): answer from the LLM with the last known
        persona, learn nothing now, queue the interaction and the memories for replay when it returns."""
        started = time.perf_counter()
        now = self.clock.now()
        degraded = ["postgres"]
        persona, mood = await self._cached_self(user_id, private=request.is_dm)
        screening = await self.security.screen_offline(user_id, request.message, mood.label.value)
        if not screening.allowed:
            text = screening.reply or "I'd rather not go there."
            runtime, model, agent_ms, tokens = "security", None, 0.0, 0
        else:
            turn = Turn(
                user_id=user_id,
                username=request.username,
                message=request.message,
                persona=persona,
                emotion=mood.label.value,
                private=request.is_dm,
            )
            reply = await self._reply(turn, degraded)
            text, runtime, model, agent_ms, tokens = (
                reply.text,
                reply.runtime,
                reply.model,
                reply.agent_ms,
                reply.tokens,
            )
            await self._remember(user_id, request, reply, mood, "", now)
        record = _interaction(
            user_id,
            request,
            now,
            started,
            text,
            mood,
            mood,
            runtime=runtime,
            model=model,
            tokens=tokens,
            degraded=degraded,
            threat=screening.threat_kind is not None,
        )
        await self.pending_interactions.push(record.to_json())
        self._replay_due = 0.0
        return _response(
            text, None, mood, screening, degraded, started, runtime=runtime, model=model, agent_ms=agent_ms
        )

    # --- replay after an outage -------------------------------------------------------------------------------

    def _maybe_replay(self) -> None:
        """After a turn that reached Postgres, replay queued work now and then (in the background)."""
        clock = time.monotonic()
        if clock < self._replay_due or (self._replay_task is not None and not self._replay_task.done()):
            return
        self._replay_due = clock + REPLAY_CHECK_SECONDS
        self._replay_task = asyncio.create_task(self.replay_pending(), name="chat-replay")

    async def replay_pending(self) -> dict[str, int]:
        """Queued interactions first (they create the profiles of users first met during the outage), then
        queued memories. Stops at the first failure; the rest waits for the next call."""
        interactions = await self.pending_interactions.drain_into(self._replay_interaction, self._record_lock)
        memories = await self.writer.replay(self._record_lock)
        if interactions or memories:
            logger.info("replayed queued work", extra={"interactions": interactions, "memories": memories})
        return {"interactions": interactions, "memories": memories}

    def _record_lock(self, record: dict[str, Any]) -> _UserLock:
        """A queued record is replayed under its user's chat lock, so a deletion of that user (which drops
        their queued records under the same lock) is never undone by a replay already under way."""
        return self._user_lock(str(record["user_id"]))

    async def _replay_interaction(self, queued: dict[str, Any]) -> bool:
        try:
            record = NewInteraction.from_json(queued)
            await self.users.touch(
                record.user_id, record.username, record.created_at, record.channel_id, record.is_dm
            )
            await self.personality.ensure(record.user_id, record.created_at)
            await self._store_interaction(record)
        except DATABASE_UNAVAILABLE as exc:
            logger.info("interaction replay paused: %r", exc)
            return False
        except asyncpg.UniqueViolationError:
            # The same message answered again while Postgres was down (a retry): its first turn is stored.
            logger.info("queued interaction of %s already stored (same message id)", queued.get("user_id"))
        except Exception:
            # Never let one bad record block the queue behind it.
            logger.exception("queued interaction of %s could not be stored; dropped", queued.get("user_id"))
        return True

    async def aclose(self) -> None:
        """Shutdown: a replay in flight finishes (it stops at the first failure anyway), then the memory
        writes behind the last replies land; both before the pool and Redis close."""
        if self._replay_task is not None and not self._replay_task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._replay_task), timeout=10)
            except Exception:  # a replay cut short is resumed at the next start
                self._replay_task.cancel()
        await self.writer.drain()
        while self._releases:
            await asyncio.wait(set(self._releases))

    async def pending(self) -> dict[str, int]:
        return {
            "interactions": await self.pending_interactions.size(),
            "memories": await self.writer.pending(),
        }

    async def _refuse(
        self,
        user_id: str,
        request: ChatMessageIn,
        screening: Screening,
        mood: Mood,
        now: datetime,
        started: float,
        degraded: list[str],
    ) -> ChatResponse:
        """A threat or a suspended user: the defensive reply, the mood penalty; nothing reaches an LLM or memory."""
        after = mood
        if screening.pad_delta:
            delta = PAD(**screening.pad_delta)
            reason = f"security: {screening.threat_kind or 'suspended'}"
            after = (await self.personality.update_pad(user_id, delta, reason, now)).mood_after
        text = screening.reply or "I'd rather not go there."
        interaction_id = await self._store_interaction(
            _interaction(
                user_id,
                request,
                now,
                started,
                text,
                mood,
                after,
                runtime="security",
                degraded=degraded,
                threat=screening.threat_kind is not None,
            )
        )
        if screening.incident_id is not None:
            await self.security.link_interaction(screening.incident_id, interaction_id)
        return _response(text, interaction_id, after, screening, degraded, started, runtime="security")

    async def _recall(
        self, user_id: str, message: str, now: datetime, channel_id: str | None
    ) -> tuple[list[RecalledMemory], list[str]]:
        """Memories for the reply: every one in a DM (``channel_id`` None), else that channel's only."""
        if self.settings.memories_k <= 0:
            return [], []
        try:
            outcome = await self.memory.search(
                user_id, message, k=self.settings.memories_k, now=now, channel_id=channel_id
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            logger.warning("recall failed for %s: %s", user_id, exc)
            return [], ["memory"]
        memories = [
            RecalledMemory(
                memory_id=str(result.memory.id),
                content=result.memory.content,
                created_at=result.memory.created_at.date().isoformat(),
                reason=result.reason,
            )
            for result in outcome.results
        ]
        return memories, list(outcome.degraded)

    async def _reply(self, turn: Turn, degraded: list[str]) -> AgentReply:
        for runtime in self.runtimes:
            if not turn.private and runtime.name in KEEPS_OWN_HISTORY:
                continue  # its own history holds the user's DMs: a server channel must never hear them
            try:
                reply = await runtime.reply(turn)
            except RuntimeFailure as exc:
                logger.warning("runtime %s failed for %s: %s", runtime.name, turn.user_id, exc.message)
                degraded.append(exc.component)
                continue
            degraded.extend(reply.degraded)
            return reply
        raise AssertionError("the template runtime never fails")  # pragma: no cover

    async def _remember(
        self, user_id: str, request: ChatMessageIn, reply: AgentReply, mood: Mood, feeling: str, now: datetime
    ) -> None:
        """The message and the reply become episodic memories, written behind the reply (MemoryService screens
        every text for memory poisoning). Each records where it was said: private (a DM) or the channel."""
        message = request.message
        conversation = _conversation_id(now)
        origin = request.scope
        items = [
            MemoryInput(
                content=message,
                speaker=Speaker.USER,
                created_at=now,
                emotion_context=feeling or mood.label.value,
                pad_context=mood.as_dict(),
                conversation_id=conversation,
                origin_channel_id=origin,
                origin_guild_id=request.guild_id,  # kept only with a channel (MemoryService)
            )
        ]
        if reply.runtime != "template":  # offline templates are not worth remembering
            items.append(
                MemoryInput(
                    content=reply.text,
                    speaker=Speaker.ASSISTANT,
                    created_at=now + timedelta(milliseconds=1),
                    emotion_context=mood.label.value,
                    pad_context=mood.as_dict(),
                    conversation_id=conversation,
                    context=(message,),
                    origin_channel_id=origin,
                    origin_guild_id=request.guild_id,
                )
            )
        self.writer.submit(user_id, items)

    # --- sessions ---------------------------------------------------------------------------------------------

    async def session(self, user_id: str) -> SessionStatus:
        now = self.clock.now()
        await self.users.profile(user_id)  # UserNotFoundError for a stranger
        mood = (await self.personality.current(user_id, now)).mood
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        last_at, today = await InteractionRepository(self.pool).session_stats(user_id, day_start)
        active = last_at is not None and now - last_at <= timedelta(minutes=SESSION_IDLE_MINUTES)
        return SessionStatus(
            user_id=user_id,
            emotion_label=mood.label.value,
            pad=PadRead(**mood.as_dict()),
            last_interaction_at=last_at,
            interactions_today=today,
            session_active=active,
        )

    async def end_session(self, user_id: str) -> SessionEnd:
        """Ends the conversation: pending memory writes land, then related memories are consolidated."""
        async with self._user_lock(user_id):  # ordered with the user's turns and their deletion
            await self.users.profile(user_id)  # UserNotFoundError for a stranger
            await self.writer.user_idle(user_id)
            result = await self.consolidator.consolidate(user_id, now=self.clock.now())
        return SessionEnd(
            user_id=user_id,
            memories_consolidated=result.episodic_memories_processed,
            semantic_memories_created=result.semantic_memories_created,
            ended_at=self.clock.now(),
        )

    # --- export and deletion (``gateway/users/data.py``: ``UserTurns``) -------------------------------------

    async def settle(self, user_id: str) -> None:
        """Wait until the memory writes behind the user's replies so far have landed, whichever replica gave
        them: a turn holds the user's lock until its memories are stored, so taking the lock once (in line
        behind the messages sent before) is enough."""
        async with self._user_lock(user_id):
            await self.writer.user_idle(user_id)

    @asynccontextmanager
    async def exclusive(self, user_id: str) -> AsyncIterator[None]:
        """Hold the user's chat lock with nothing of theirs in flight (for deleting them): messages that
        arrived earlier are answered first and their memory writes have landed; messages arriving meanwhile
        wait and are answered after (a deleted user's next message starts a new companion)."""
        async with self._user_lock(user_id):
            await self.writer.user_idle(user_id)
            yield

    async def drop_queued(self, user_id: str) -> int:
        """Drop the user's interactions and memories queued for Postgres (call it under ``exclusive``), so a
        replay can never bring a deleted user back. Returns how many records went."""
        return await self.pending_interactions.drop_user(user_id) + await self.writer.queue.drop_user(user_id)

    # --- locking ----------------------------------------------------------------------------------------------

    def _user_lock(self, user_id: str, message_id: str | None = None) -> _UserLock:
        return _UserLock(self, user_id, message_id)


class _UserLock:
    """One user's turns one at a time, in the order they were sent, across every gateway replica: a line in
    Redis (``QueuedLock``: ordered by the Discord message id, else by arrival) in front of a short lease renewed
    while the turn runs, so a lock whose holder died (or whose release a Redis restart lost) frees within
    ``CHAT_LOCK_LEASE_SECONDS``; then the in-process lock, so one replica never runs two turns of a user even
    when Redis is down (the in-process lock alone then: one replica is still safe, in arrival order)."""

    def __init__(self, service: ChatService, user_id: str, message_id: str | None = None) -> None:
        self.service = service
        self.user_id = user_id
        self.order = snowflake_order(message_id)
        self._redis_lock: QueuedLock | None = None

    async def __aenter__(self) -> None:
        service = self.service
        timeout = service.settings.lock_timeout_seconds
        deadline = time.monotonic() + timeout
        try:
            redis_lock = QueuedLock(
                service.redis,
                user_key(self.user_id, CHAT_LOCK),
                lease_seconds=service.settings.lock_lease_seconds,
            )
            if not await redis_lock.acquire(self.order, timeout):
                raise ChatBusyError(BUSY)
            self._redis_lock = redis_lock
        except (RedisError, OSError) as exc:
            logger.debug("redis lock unavailable, in-process lock only: %s", exc)
        lock = service._locks.setdefault(self.user_id, asyncio.Lock())
        service._waiting[self.user_id] = service._waiting.get(self.user_id, 0) + 1
        try:
            await asyncio.wait_for(lock.acquire(), timeout=max(0.0, deadline - time.monotonic()))
        except BaseException as exc:
            self._release_waiter()
            if self._redis_lock is not None:
                await self._redis_lock.release()
                self._redis_lock = None
            if isinstance(exc, TimeoutError):
                raise ChatBusyError(BUSY) from None
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self.service._locks[self.user_id].release()
        self._release_waiter()
        if self._redis_lock is not None:
            await self._redis_lock.release()

    def _release_waiter(self) -> None:
        service = self.service
        remaining = service._waiting.get(self.user_id, 1) - 1
        if remaining <= 0:
            service._waiting.pop(self.user_id, None)
            lock = service._locks.get(self.user_id)
            if lock is not None and not lock.locked():
                service._locks.pop(self.user_id, None)
        else:
            service._waiting[self.user_id] = remaining


def _interaction(
    user_id: str,
    request: ChatMessageIn,
    now: datetime,
    started: float,
    reply: str,
    before: Mood,
    after: Mood,
    *,
    runtime: str,
    model: str | None = None,
    tokens: int = 0,
    memory_ids: Sequence[str] = (),
    degraded: Sequence[str] = (),
    threat: bool = False,
) -> NewInteraction:
    """One turn as its interaction row: stored now, or queued while Postgres is down and replayed."""
    return NewInteraction(
        user_id=user_id,
        username=request.username,
        created_at=now,
        user_message=request.message,
        assistant_response=reply,
        pad_before=before.as_dict(),
        pad_after=after.as_dict(),
        emotion_before=before.label.value,
        emotion_after=after.label.value,
        memory_ids=tuple(UUID(memory_id) for memory_id in memory_ids),
        latency_ms=round((time.perf_counter() - started) * 1000),
        tokens=tokens,
        model=model,
        runtime=runtime,
        degraded=tuple(dict.fromkeys(degraded)),
        threat=threat,
        channel_id=request.channel_id,
        is_dm=request.is_dm,
        guild_id=request.guild_id,
        request_id=request.message_id,
    )


def _repeated(answered: AnsweredTurn, started: float) -> ChatResponse:
    """The answer a retried message already got, as it was given (its mood then, not now)."""
    return ChatResponse(
        response=answered.response,
        interaction_id=answered.interaction_id,
        emotion_label=answered.emotion or EmotionLabel.NEUTRAL.value,
        pad=PadRead(**(answered.pad or NEUTRAL_MOOD.as_dict())),
        memories_used=[],
        degraded=[],
        runtime=answered.runtime,
        model=answered.model,
        offline=answered.runtime == "template",
        security=SecurityNotice(threat_detected=answered.threat),
        processing_ms=round((time.perf_counter() - started) * 1000, 1),
        repeated=True,
    )


def _response(
    text: str,
    interaction_id: int | None,
    mood: Mood,
    screening: Screening,
    degraded: Sequence[str],
    started: float,
    *,
    runtime: str,
    model: str | None = None,
    agent_ms: float = 0.0,
    memories_used: Sequence[MemoryUsed] = (),
    timings_ms: dict[str, float] | None = None,
    first_contact: bool = False,
) -> ChatResponse:
    """The answer to one message, however it was made (a reply, a refusal, a turn without Postgres)."""
    return ChatResponse(
        response=text,
        interaction_id=interaction_id,
        emotion_label=mood.label.value,
        pad=PadRead(**mood.as_dict()),
        memories_used=list(memories_used),
        degraded=list(dict.fromkeys(degraded)),
        runtime=runtime,
        model=model,
        offline=runtime == "template",
        security=_notice(screening),
        processing_ms=round((time.perf_counter() - started) * 1000, 1),
        agent_ms=round(agent_ms, 1),
        timings_ms=timings_ms or {},
        first_contact=first_contact,
    )


class _Laps:
    """Milliseconds spent in each stage of a turn (returned with the reply, for operators and benchmarks)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self._last) * 1000, 2)
        self._last = now

    def finish(self, name: str) -> dict[str, float]:
        self.lap(name)
        return self.laps


def _notice(screening: Screening) -> SecurityNotice:
    return SecurityNotice(
        threat_detected=screening.threat_kind is not None,
        threat_kind=screening.threat_kind,
        escalation_level=screening.level,
        restricted=screening.restricted,
        suspended_until=screening.suspended_until,
    )


def _conversation_id(now: datetime) -> str:
    """Memories of one day form one conversation (for contiguity in recall)."""
    return f"chat-{now.date().isoformat()}"
