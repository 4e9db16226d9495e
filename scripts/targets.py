"""Which deployment an operator command talks to: the embedded local stack, or the URLs in the environment.

Every operator command (backup, restore, monitor, retention, reembed) resolves its targets here, so they all
follow one rule:

- ``DATABASE_URL`` set (exported or in ``./.env``): a deployment of your own, e.g. docker compose with its
  ports published on the loopback interface (docs/operations.md). ``REDIS_URL``, ``QDRANT_URL``,
  ``GATEWAY_URL``, ``EMBEDDING_SERVICE_URL`` and ``LETTA_SERVER_URL`` are read from the environment too.
- otherwise: the embedded local stack under ``COMPANION_HOME`` (``make up``), with its generated secrets and
  its loopback ports; Qdrant and Letta only when their URLs are set.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from scripts.localstack import LocalStack


class TargetError(RuntimeError):
    """A target is missing or unusable; the message says which variable or step fixes it."""


@dataclass
class Targets:
    """Where each service of one deployment answers, and the credentials an operator command needs."""

    database_url: str
    redis_url: str | None
    gateway_url: str | None
    embedding_url: str | None
    admin_api_key: str | None
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    letta_url: str | None = None
    stack: LocalStack | None = None  # set when the target is the embedded local stack

    @property
    def kind(self) -> str:
        return "local stack" if self.stack is not None else "environment"

    @classmethod
    def resolve(cls, env: Mapping[str, str]) -> Targets:
        qdrant = (env.get("QDRANT_URL") or "").strip() or None
        qdrant_key = (env.get("QDRANT_API_KEY") or "").strip() or None
        letta = (env.get("LETTA_SERVER_URL") or "").strip() or None
        database_url = (env.get("DATABASE_URL") or "").strip()
        if database_url:
            return cls(
                database_url=database_url,
                redis_url=(env.get("REDIS_URL") or "").strip() or None,
                gateway_url=(env.get("GATEWAY_URL") or "").strip() or None,
                embedding_url=(env.get("EMBEDDING_SERVICE_URL") or "").strip() or None,
                admin_api_key=(env.get("ADMIN_API_KEY") or "").strip() or None,
                qdrant_url=qdrant,
                qdrant_api_key=qdrant_key,
                letta_url=letta,
            )
        # Imported here: the local stack needs psutil and pgserver, which a deployment's image may not have.
        from scripts.localstack import APP_DATABASE, APP_ROLE, LocalStack, StackConfig

        stack = LocalStack(StackConfig.from_env(env))
        secrets = stack.secrets
        return cls(
            database_url=stack.postgres.dsn(APP_DATABASE, APP_ROLE, secrets["POSTGRES_PASSWORD"]),
            redis_url=stack.redis.url(secrets["REDIS_PASSWORD"]),
            gateway_url=(env.get("GATEWAY_URL") or "").strip() or stack.gateway.base_url,
            embedding_url=(env.get("EMBEDDING_SERVICE_URL") or "").strip() or stack.embedding.base_url,
            admin_api_key=secrets["ADMIN_API_KEY"],
            qdrant_url=qdrant,
            qdrant_api_key=qdrant_key,
            letta_url=letta,
            stack=stack,
        )

    def start_stores(self) -> None:
        """Local stack: make sure Postgres (with the app's database) and Redis run; nothing else is started."""
        if self.stack is None:
            return
        from scripts.localstack import APP_DATABASE, APP_ROLE, StackError

        secrets = self.stack.secrets
        try:
            self.stack.postgres.start()
            self.stack.postgres.ensure_database(APP_DATABASE, APP_ROLE, secrets["POSTGRES_PASSWORD"])
            self.stack.redis.start(secrets["REDIS_PASSWORD"])
        except StackError as exc:
            raise TargetError(f"cannot start the local stack's Postgres and Redis: {exc}") from exc


def redact_url(url: str) -> str:
    """The URL without its password (``postgresql://companion:***@host/db``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class PgConnection:
    """A libpq URL split into what the Postgres client tools take: the password goes in PGPASSWORD, never on
    a command line (where ``ps`` would show it)."""

    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def parse(cls, url: str) -> PgConnection:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise TargetError("DATABASE_URL must start with postgresql://")
        database = unquote(parts.path.lstrip("/"))
        if not database or not parts.username:
            raise TargetError("DATABASE_URL must name a user and a database (postgresql://user:pw@host/db)")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            database=database,
        )

    def args(self, database: str | None = None) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database or self.database]

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in base.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = self.password
        env["PGCONNECT_TIMEOUT"] = "10"
        return env

    def url(self, database: str | None = None) -> str:
        return (
            f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}/"
            f"{quote(database or self.database, safe='')}"
        )


def pg_tool(name: str, server_major: int | None = None) -> Path:
    """``pg_dump``/``pg_restore``: the pgserver wheel's (Postgres 16, installed by ``make install``) when present,
    else the one on PATH. A client older than the server cannot dump it, so the major version is checked."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec("pgserver")  # located, not imported (importing it has side effects)
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name)
    system = shutil.which(name)
    if system:
        candidates.append(Path(system))
    for candidate in candidates:
        if not candidate.exists():
            continue
        if server_major is None or tool_major(candidate) >= server_major:
            return candidate
    wanted = f" {server_major} or newer" if server_major else ""
    raise TargetError(f"no {name}{wanted} found: run `make install` (the pgserver wheel ships one)")


def tool_major(tool: Path) -> int:
    out = subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=True, timeout=30)
    # "pg_dump (PostgreSQL) 16.2" / "pg_dump (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)"
    return int(out.stdout.split(")")[1].strip().split(".")[0])
