"""``create_app()``: the FastAPI application and the lifespan that builds its clients in dependency order."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
import redis.asyncio as aioredis
from fastapi import FastAPI

from companion_common.asgi import HeaderLimitMiddleware
from companion_common.metrics import HttpMetricsMiddleware
from gateway import __doc__ as gateway_doc
from gateway import db, migrator
from gateway.admin.service import AdminService
from gateway.api import build_api_router
from gateway.bot import service as bot_service
from gateway.bot.service import BotService
from gateway.chat.direct import DirectRuntime
from gateway.chat.letta_runtime import LettaRuntime
from gateway.chat.runtime import AgentRuntime
from gateway.chat.service import ChatService
from gateway.clock import Clock, SystemClock
from gateway.config import Settings
from gateway.deps import Services
from gateway.errors import UnexpectedErrorMiddleware, install_error_handlers
from gateway.headers import SingleValueHeadersMiddleware
from gateway.health.jobs import health_recovery
from gateway.health.router import router as health_router
from gateway.health.service import CHECK_TIMEOUT_SECONDS, Check, HealthService
from gateway.integrations.discord_push import BotPushClient, Deliverer
from gateway.integrations.embedding import EmbeddingClient
from gateway.integrations.llm import ChatLLM, FastLLM
from gateway.integrations.qdrant import QdrantIndex, create_qdrant_client
from gateway.jobs import JobRunner, JobScheduler
from gateway.memory.consolidation import Consolidator
from gateway.memory.importance import ImportanceScorer
from gateway.memory.index import VectorIndex
from gateway.memory.jobs import memory_maintenance
from gateway.memory.pgvector_index import PgVectorIndex
from gateway.memory.service import MemoryService
from gateway.metrics import Metrics
from gateway.metrics import router as metrics_router
from gateway.observability import BodySizeLimitMiddleware, RequestContextMiddleware
from gateway.personality.jobs import needs_update
from gateway.personality.service import PersonalityService
from gateway.proactive.jobs import proactive_check
from gateway.proactive.service import ProactiveService
from gateway.redis import create_redis
from gateway.reflection.jobs import nightly_reflection
from gateway.reflection.service import ReflectionService
from gateway.runtime import release_at_shutdown, tune_after_startup
from gateway.security import service as security_service
from gateway.security.ratelimit import RateLimitMiddleware
from gateway.security.service import build_security_service, screen_memory_text
from gateway.users.data import UserDataService, redis_forgetter
from gateway.users.service import UsersService
from gateway.users.stores import Forget, UserDataStores

logger = logging.getLogger(__name__)

POSTGRES_CONNECT_ATTEMPTS = 30


async def _connect_postgres(settings: Settings) -> asyncpg.Pool:
    """The pool, after waiting (bounded) for Postgres to accept connections; migrations applied first."""
    last_error: Exception | None = None
    for attempt in range(POSTGRES_CONNECT_ATTEMPTS):
        try:
            if settings.server.run_migrations:
                applied = await migrator.migrate(settings.database.url.get_secret_value())
                if applied:
                    logger.info("migrations applied", extra={"files": applied})
            return await db.create_pool(settings.database)
        except (OSError, asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError) as exc:
            last_error = exc
            logger.warning("postgres not reachable yet (attempt %d): %s", attempt + 1, exc)
            await asyncio.sleep(1)
    raise RuntimeError(f"postgres unreachable after {POSTGRES_CONNECT_ATTEMPTS} attempts: {last_error}")


async def _vector_indexes(
    settings: Settings, pool: asyncpg.Pool, stack: AsyncExitStack
) -> tuple[VectorIndex, VectorIndex | None]:
    """Qdrant (a server at QDRANT_URL, or local mode at QDRANT_PATH) with pgvector as its fallback;
    otherwise pgvector alone."""
    pgvector = PgVectorIndex(pool)
    if not settings.qdrant.enabled:
        return pgvector, None
    client = create_qdrant_client(settings.qdrant)
    stack.push_async_callback(client.close)
    return QdrantIndex(client), pgvector


def _runtimes(
    settings: Settings,
    users: UsersService,
    redis: aioredis.Redis,
    chat_llm: ChatLLM | None,
    stack: AsyncExitStack,
) -> list[AgentRuntime]:
    """letta (when configured and chosen), then direct (when a chat LLM is configured); the chat service
    adds the offline templates last. Each is the fallback of the one before."""
    runtimes: list[AgentRuntime] = []
    choice = settings.chat.runtime
    if choice in ("auto", "letta") and settings.letta.server_url and chat_llm is not None:
        letta = LettaRuntime.from_settings(settings, users, redis=redis)
        stack.push_async_callback(letta.aclose)
        runtimes.append(letta)
    elif choice == "letta":
        logger.warning("CHAT_RUNTIME=letta but LETTA_SERVER_URL or the chat LLM is not set: using direct")
    if chat_llm is not None:
        runtimes.append(DirectRuntime(chat_llm))
    else:
        logger.warning(
            "no chat LLM configured (CHUTES_API_KEY or LLM_BASE_URL): offline mode, template replies"
        )
    return runtimes


def create_app(
    settings: Settings, *, clock: Clock | None = None, deliverer: Deliverer | None = None
) -> FastAPI:
    """The app. ``clock`` (default: wall time) is the one clock of every time-dependent rule; ``deliverer``
    (default: the bot's push client) is where proactive messages go; tests and tools inject both."""
    app_clock: Clock = clock or SystemClock()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # settings -> Postgres -> Redis -> vector index -> model clients -> services -> scheduler,
        # torn down in reverse by the exit stack.
        async with AsyncExitStack() as stack:
            pool = await _connect_postgres(settings)
            stack.push_async_callback(pool.close)
            redis = create_redis(settings.redis)
            stack.push_async_callback(redis.aclose)
            vector_index, fallback_index = await _vector_indexes(settings, pool, stack)
            embedding = EmbeddingClient(settings.embedding.url, settings.embedding.timeout_seconds)
            stack.push_async_callback(embedding.aclose)
            fast_llm = FastLLM.from_settings(settings.groq)
            if fast_llm is not None:
                stack.push_async_callback(fast_llm.aclose)
            scorer = ImportanceScorer(fast_llm, redis, settings.memory.importance_cache_ttl_seconds)
            threshold = settings.security.threshold
            memory = MemoryService(
                pool,
                embedding,
                vector_index,
                scorer,
                settings.memory,
                fallback_index,
                content_filter=lambda text: screen_memory_text(text, threshold=threshold)[1],
                metrics=metrics,
                clock=app_clock,
                redis=redis,
            )
            users = UsersService(pool, app_clock)
            personality = PersonalityService.create(
                pool,
                redis,
                fast_llm,
                settings.personality,
                settings.tuning.pad_drift_rate,
                users=users,
                clock=app_clock,
            )
            security = await build_security_service(
                settings, pool, redis, embedding, fast_llm, clock=app_clock
            )
            stack.push_async_callback(security.detector.aclose)
            chat_llm = ChatLLM.from_settings(settings.chat_llm, metrics=metrics)
            if chat_llm is not None:
                stack.push_async_callback(chat_llm.aclose)
            consolidator = Consolidator(memory, fast_llm)
            runtimes = _runtimes(settings, users, redis, chat_llm, stack)
            letta = next((r for r in runtimes if isinstance(r, LettaRuntime)), None)
            chat = ChatService(
                pool=pool,
                redis=redis,
                memory=memory,
                users=users,
                consolidator=consolidator,
                personality=personality,
                security=security,
                runtimes=runtimes,
                settings=settings.chat,
                metrics=metrics,
                clock=app_clock,
            )
            # Memory writes behind the last replies land before the pool closes (registered after it, so
            # the exit stack runs this first).
            stack.push_async_callback(chat.aclose)
            # Work queued while Postgres was down (by this or another replica) goes in now.
            await chat.replay_pending()
            # Every store outside Postgres that keeps something of a user, in deletion order.
            forgetters: dict[str, Forget] = {"vector_index": memory.delete_user_index}
            if letta is not None:
                forgetters["letta"] = letta.forget_user
            forgetters["embedding_cache"] = embedding.forget_user
            forgetters["redis"] = redis_forgetter(redis, security_service.user_redis_keys)
            stores = UserDataStores(forgetters)
            user_data = UserDataService(pool, chat, stores, memory, app_clock)
            bot_push = BotPushClient(
                functools.partial(bot_service.push_url, redis),
                settings.auth.bot_push_token.get_secret_value(),
                allowed_hosts=settings.bot_push.hosts,
            )
            stack.push_async_callback(bot_push.aclose)
            bot = BotService(redis, settings.bot_push.hosts, bot_push, app_clock)
            proactive = ProactiveService(
                pool,
                personality,
                settings.proactive,
                settings.personality,
                users=users,
                clock=app_clock,
                deliverer=deliverer or bot_push,
                chat_llm=chat_llm,
                fast_llm=fast_llm,
                security_threshold=threshold,
            )
            reflection = ReflectionService(
                pool, personality, consolidator, settings.reflection, clock=app_clock
            )
            checks: dict[str, Check] = {
                "postgres": lambda: db.ping(pool, acquire_timeout=CHECK_TIMEOUT_SECONDS),
                "redis": redis.ping,
                "embedding_service": embedding.health,
                vector_index.name: vector_index.health,
            }
            if chat_llm is not None:
                checks["chat_llm"] = chat_llm.health
            if letta is not None:
                checks["letta"] = letta.health
            health = HealthService(checks, chat.pending)
            job_runner = JobRunner(pool, redis, app_clock, metrics=metrics)
            job_runner.register(
                [
                    proactive_check(proactive),
                    needs_update(personality),
                    nightly_reflection(reflection),
                    memory_maintenance(
                        memory,
                        replay_queued=chat.replay_pending,
                        mark_dormant=users.mark_dormant,
                        retry_deletions=user_data.retry_pending,
                    ),
                    health_recovery(
                        health,
                        bot,
                        memory,
                        letta=letta,
                        users=users,
                        personality=personality,
                        retry_deletions=user_data.retry_pending,
                    ),
                ]
            )
            scheduler = JobScheduler(job_runner, settings.scheduler)
            app.state.services = Services(
                settings=settings,
                clock=app_clock,
                pool=pool,
                redis=redis,
                memory=memory,
                consolidator=consolidator,
                personality=personality,
                security=security,
                users=users,
                chat=chat,
                user_data=user_data,
                bot=bot,
                proactive=proactive,
                reflection=reflection,
                admin=AdminService(
                    pool,
                    users=users,
                    data=user_data,
                    chat=chat,
                    security=security,
                    bot=bot,
                    clock=app_clock,
                ),
                health=health,
                jobs=job_runner,
                scheduler=scheduler,
            )
            # The scheduler comes last and stops first, waiting for running jobs while everything is up.
            stack.push_async_callback(scheduler.stop)
            if settings.scheduler.enabled:
                scheduler.start()
            tune_after_startup()
            stack.callback(release_at_shutdown)
            logger.info("gateway ready", extra={"environment": settings.environment.value})
            yield

    app = FastAPI(
        title="Companion gateway",
        description=gateway_doc or "",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(build_api_router())
    app.add_middleware(RateLimitMiddleware)
    # Each one added wraps the ones before: the request id wraps everything, including 413 and 500 answers.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.server.max_body_bytes)
    app.add_middleware(UnexpectedErrorMiddleware)
    # Before anything reads the caller or the body's length: a repeated Authorization (or Content-Length,
    # Content-Type) is a 400, so the rate limiter and the routes read the same single value.
    app.add_middleware(SingleValueHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics)
    # Outermost: nothing else parses or copies an oversized set of headers.
    app.add_middleware(HeaderLimitMiddleware)
    return app
