"""A throw-away local stack for memory benchmarks: Postgres + pgvector, Redis and the real embedding service.

    with local_stack(embedding="local") as stack:
        async with stack.memory_service(index="pgvector") as service:
            await stack.add_user(service, "u1")
            await service.store_many("u1", [...])

Everything lives in one ``tempfile.mkdtemp()`` directory (never under pytest's tmp root, which is mode 700
and would lock out the Postgres system user when run as root) and is stopped and removed on exit. The
embedding service is the real app, served in process on a loopback port, with the local provider
(all-MiniLM-L6-v2) or, with ``embedding="gemini"``, the Gemini one (gemini-embedding-001 at the service's
dimensions). Its settings come from the environment only, never a ``.env`` file: ``GEMINI_API_KEY`` (and
``GEMINI_BASE_URL``, ``EMBEDDING_DIMENSIONS``, ``EMBEDDING_RETRY_*``...) as embedding_service/config.py reads
them. Before the stack starts, ``embedding_settings`` refuses settings the service would refuse; once it runs,
one query is embedded, so a key Gemini rejects stops the benchmark before any work (both raise StackError).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis
from pydantic import SecretStr

from embedding_service.config import ConfigError
from embedding_service.config import Settings as EmbeddingSettings
from gateway.config import DatabaseSettings, MemorySettings
from gateway.db import create_pool
from gateway.integrations.embedding import EmbeddingClient
from gateway.memory.importance import ImportanceScorer
from gateway.memory.index import VectorIndex
from gateway.memory.pgvector_index import PgVectorIndex
from gateway.memory.service import MemoryService
from gateway.runtime import limit_blas_threads

logger = logging.getLogger(__name__)

INDEXES = ("pgvector", "qdrant")
EMBEDDING_PROVIDERS = ("local", "gemini")
DB_NAME = "companion_bench"
DB_ROLE = "companion_bench"


class StackError(Exception):
    """The stack cannot run as asked (settings refused, provider unusable); the message is one line for the
    operator and names the variable to fix."""


@dataclass(frozen=True)
class Stack:
    """The URLs of a running throw-away stack (migrations applied)."""

    home: Path
    database_url: str
    redis_url: str
    embedding_url: str

    @asynccontextmanager
    async def memory_service(
        self, index: str = "pgvector", *, embedding_timeout: float = 120.0
    ) -> AsyncIterator[MemoryService]:
        """A ready MemoryService over this stack; ``index`` is ``pgvector`` (default) or ``qdrant`` (in memory)."""
        # _env_file is an argument of BaseSettings' own __init__, which mypy (no pydantic plugin) does not see.
        pool = await create_pool(DatabaseSettings(url=SecretStr(self.database_url), _env_file=None))  # type: ignore[call-arg]
        redis = aioredis.Redis.from_url(self.redis_url)
        embedding = EmbeddingClient(self.embedding_url, timeout=embedding_timeout)
        closers: list[Closer] = []
        try:
            vector_index, close_index = make_index(index, pool)
            if close_index is not None:
                closers.append(close_index)
            yield MemoryService(
                pool,
                embedding,
                vector_index,
                ImportanceScorer(None, redis, 3600),
                MemorySettings(_env_file=None),  # type: ignore[call-arg]
            )
        finally:
            for close in closers:
                await close()
            await embedding.aclose()
            await redis.aclose()
            await pool.close()

    @staticmethod
    async def add_user(service: MemoryService, user_id: str, username: str | None = None) -> None:
        """The profile row every memory of ``user_id`` hangs off."""
        await service.pool.execute(
            "INSERT INTO user_profiles (user_id, username) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            user_id,
            username or user_id,
        )


Closer = Callable[[], Awaitable[None]]


async def embedding_in_use(service: MemoryService) -> dict[str, Any]:
    """What the running embedding service embeds with, from its /health: ``provider``, ``model``,
    ``dimensions``."""
    health = await service.embedding.health()
    return {key: health.get(key) for key in ("provider", "model", "dimensions")}


def embedding_settings(provider: str, redis_url: str = "redis://127.0.0.1:6379/0") -> EmbeddingSettings:
    """The embedding service's settings for ``provider`` from the environment (never a .env file, whose
    production values would change a local run), with ``provider`` and ``redis_url`` on top.

    Raises StackError naming the variable when the service would refuse them (``GEMINI_API_KEY`` unset for
    ``gemini``, say), so a benchmark can stop before it starts anything.
    """
    if provider not in EMBEDDING_PROVIDERS:
        raise StackError(f"unknown embedding provider {provider!r}; expected one of {EMBEDDING_PROVIDERS}")
    try:
        return EmbeddingSettings.load(env_file=None, provider=provider, redis_url=redis_url)
    except ConfigError as exc:
        raise StackError(
            f"--embedding {provider}: {exc} (benchmarks read the environment, not .env)"
        ) from None


def check_embedding_service(base_url: str, provider: str, timeout: float = 180.0) -> None:
    """Embed one query through the running service: a key the provider rejects, or a base URL that does not
    answer, raises StackError here rather than after the benchmark has spent its time."""
    try:
        response = httpx.post(
            f"{base_url}/embed_query", json={"text": "benchmark start-up check"}, timeout=timeout
        )
    except httpx.HTTPError as exc:
        raise StackError(f"--embedding {provider}: the embedding service did not answer: {exc!r}") from None
    if response.is_error:
        try:
            detail = str(response.json().get("detail", response.text))
        except ValueError:
            detail = response.text
        detail = " ".join(detail.split())[:500]
        raise StackError(
            f"--embedding {provider}: the embedding service cannot embed ({response.status_code}): {detail}"
        )


def make_index(name: str, pool: asyncpg.Pool) -> tuple[VectorIndex, Closer | None]:
    """The vector index called ``name`` and an async closer (or None)."""
    if name == "pgvector":
        return PgVectorIndex(pool), None
    if name == "qdrant":
        try:
            from qdrant_client import AsyncQdrantClient

            from gateway.integrations.qdrant import QdrantIndex
        except ImportError as exc:  # the Qdrant integration may not exist yet in this tree
            raise SystemExit(f"--index qdrant is not available here: {exc}") from exc
        client = AsyncQdrantClient(location=":memory:")
        return QdrantIndex(client), client.close
    raise ValueError(f"unknown index {name!r}; expected one of {INDEXES}")


class _ThreadedServer:
    """uvicorn serving an ASGI app on a loopback port from a daemon thread (like tests.servers, which is not
    part of the installed package)."""

    def __init__(self, app: object, *, startup_timeout: float = 60.0) -> None:
        import uvicorn

        # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY; without it keep-alive requests stall ~40 ms.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            lifespan="on", loop="asyncio", http="h11", ws="none", log_config=None, timeout_graceful_shutdown=2,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="embedding-service", daemon=True)
        self._error: BaseException | None = None
        self.startup_timeout = startup_timeout

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # uvicorn reports a failed startup as SystemExit
            self._error = exc
        finally:
            self._sock.close()

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("embedding service failed to start") from self._error
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"embedding service did not start within {self.startup_timeout} s")
            time.sleep(0.01)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)


@contextmanager
def local_stack(*, keep: bool = False, embedding: str = "local") -> Iterator[Stack]:
    """Bring up Postgres (migrated), Redis and the embedding service in a fresh temporary directory.

    ``embedding`` is the service's provider, ``local`` or ``gemini`` (its key and the rest from the
    environment; see ``embedding_settings``). StackError before anything starts when the settings are refused,
    and after start-up when the service cannot embed one query. Everything is stopped and the directory
    removed on exit (unless ``keep``, for debugging).
    """
    from embedding_service.app import create_app as create_embedding_app
    from gateway.migrator import migrate
    from scripts.localstack import EmbeddedPostgres, EmbeddedRedis, free_port

    embedding_settings(embedding)  # refused settings stop us before anything starts
    limit_blas_threads()  # the code measured here runs as in the gateway (gateway/runtime.py)
    home = Path(tempfile.mkdtemp(prefix="companion-membench-"))
    postgres = EmbeddedPostgres(home, free_port())
    redis = EmbeddedRedis(home, free_port())
    server: _ThreadedServer | None = None
    try:
        pg_password = "bench-" + uuid.uuid4().hex
        redis_password = "bench-" + uuid.uuid4().hex
        postgres.start()
        postgres.ensure_database(DB_NAME, DB_ROLE, pg_password)
        database_url = postgres.dsn(DB_NAME, DB_ROLE, pg_password)
        asyncio.run(migrate(database_url))
        redis.start(redis_password)
        redis_url = redis.url(redis_password)
        settings = embedding_settings(embedding, redis_url=redis_url)
        server = _ThreadedServer(create_embedding_app(settings), startup_timeout=120)
        server.start()
        check_embedding_service(server.base_url, embedding)
        yield Stack(home, database_url, redis_url, server.base_url)
    finally:
        if server is not None:
            server.stop()
        redis.stop()
        postgres.stop()
        if keep:
            logger.warning("benchmark stack state kept in %s", home)
        else:
            shutil.rmtree(home, ignore_errors=True)


class CallProbe:
    """Wraps async methods (of a class or one object) to record each call's duration and result (or the
    exception it raised).

        with CallProbe([(MemoryRepository, "fulltext_search"), (service.index, "search")]) as probe:
            await service.search(...)
        probe.calls  # [(name, milliseconds, result), ...]

    Used to see inside a search without copying the service's logic, so it survives refactoring: a method
    that no longer exists is simply not wrapped (``missing`` names it).
    """

    def __init__(self, targets: list[tuple[object, str]]) -> None:
        self.targets = targets
        self.calls: list[tuple[str, float, object]] = []
        self.missing: list[str] = []
        self._saved: list[tuple[object, str, object, bool]] = []

    def reset(self) -> None:
        self.calls.clear()

    def __enter__(self) -> CallProbe:
        for owner, name in self.targets:
            label = f"{getattr(owner, '__name__', type(owner).__name__)}.{name}"
            original = getattr(owner, name, None)
            if original is None or not callable(original):
                self.missing.append(label)
                continue
            namespace = vars(owner)  # the class's own namespace, or the instance's __dict__
            self._saved.append((owner, name, namespace.get(name), name in namespace))
            setattr(owner, name, self._wrap(label, original))
        return self

    def _wrap(self, label: str, original: object) -> object:
        probe = self

        async def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                result = await original(*args, **kwargs)  # type: ignore[operator]
            except Exception as exc:  # a failed call is a call too: recorded with what it raised
                probe.calls.append((label, (time.perf_counter() - started) * 1000, exc))
                raise
            probe.calls.append((label, (time.perf_counter() - started) * 1000, result))
            return result

        return timed

    def __exit__(self, *exc: object) -> None:
        for owner, name, original, own in reversed(self._saved):
            if own:
                setattr(owner, name, original)
            else:  # it was inherited (or a class method seen through an instance): unshadow it
                delattr(owner, name)
        self._saved.clear()
