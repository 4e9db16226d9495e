"""``python -m scripts backup`` and ``restore``: one archive with everything a deployment needs back.

An archive (``companion-backup-<UTC time>.tar.gz``, mode 600: it holds every user's data) contains:

- ``postgres.dump``: ``pg_dump --format=custom`` of the companion database. Postgres is the truth for every
  table, memories with their vectors included, so with pgvector as the index this also covers the index.
- ``redis.jsonl``: the Redis keys that are state, one JSON line each (type, value, absolute expiry): offence
  windows and suspensions, queued writes (``pending:memories``, ``pending:interactions``), the bot's
  registration, per-user keys. Caches (embeddings, importance, appraisals, judge verdicts), locks and
  rate-limit buckets are left out: they rebuild themselves, and a restored lock would only block a job.
  Values are written by type rather than with DUMP, whose payload a Redis older than the source refuses.
- ``qdrant/<collection>.snapshot``: one Qdrant snapshot per collection, when ``QDRANT_URL`` is set.
- ``config/``: the non-secret settings (``config.env``; URLs with their passwords masked), and the
  Caddyfile and compose files found in the working directory. Secrets only with ``--include-secrets``
  (``config/secrets.env``).
- ``manifest.json``: versions, the migration level, row counts of every table, Redis and Qdrant counts, and
  the sha256 of every file. ``restore`` checks the files against it and the restored counts too.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fnmatch
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, cast

import asyncpg
import httpx
import redis.asyncio as aioredis

from scripts.targets import PgConnection, TargetError, Targets, pg_tool, redact_url

FORMAT_VERSION = 1
ARCHIVE_PREFIX = "companion-backup-"
REPO = Path(__file__).resolve().parent.parent
# Redis keys a backup leaves out: caches that refill themselves, locks, the claims of scheduled job times, and
# momentary rate-limit buckets.
REDIS_SKIPPED = (
    "emb:*", "importance:*", "appraisal:*", "security:judge:*", "ratelimit:*", "user:*:ratelimit", "*lock*",
    "job-slot:*", "user:*:letta",
)  # fmt: skip
SECRET_NAME = re.compile(r"(PASSWORD|TOKEN|SECRET|_KEY)$")
CONFIG_FILES = ("Caddyfile", "docker-compose.yml", "docker-compose.override.yml")
QDRANT_TIMEOUT = httpx.Timeout(300.0, connect=10.0)


class BackupError(RuntimeError):
    """A backup or restore step failed; the message names the step."""


def is_state_key(key: str) -> bool:
    return not any(fnmatch.fnmatchcase(key, pattern) for pattern in REDIS_SKIPPED)


# --- Postgres -------------------------------------------------------------------------------------------------


async def postgres_facts(database_url: str) -> dict[str, Any]:
    """Server and pgvector versions, the migration level and the row count of every table."""
    conn = await asyncpg.connect(database_url, timeout=15)
    try:
        tables = [
            row["tablename"]
            for row in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        counts = {}
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            counts[table] = int(await conn.fetchval(f"SELECT count(*) FROM public.{quoted}"))  # noqa: S608
        migrations: list[str] = []
        if "schema_migrations" in tables:
            migrations = [
                f"{row['version']:03d}_{row['name']}"
                for row in await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
            ]
        memories: dict[str, Any] = {}
        if "memories" in tables:
            row = await conn.fetchrow(
                """SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live,
                          count(*) FILTER (WHERE deleted_at IS NULL AND embedding IS NOT NULL) AS with_vector
                   FROM memories"""
            )
            assert row is not None  # an aggregate without GROUP BY always yields one row
            spaces = await conn.fetch(
                """SELECT embedding_model, embedding_dims, count(*) AS n FROM memories
                   WHERE deleted_at IS NULL AND embedding IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"""
            )
            memories = {
                "live": int(row["live"]),
                "with_vector": int(row["with_vector"]),
                "spaces": {f"{s['embedding_model']}/{s['embedding_dims']}": int(s["n"]) for s in spaces},
            }
        return {
            "server_version": await conn.fetchval("SHOW server_version"),
            "server_major": int(await conn.fetchval("SHOW server_version_num")) // 10000,
            "pgvector": await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'vector'"),
            "migrations": migrations,
            "tables": counts,
            "memories": memories,
        }
    finally:
        await conn.close()


def _run_tool(tool: Path, args: Sequence[str], pg: PgConnection, timeout: float = 3600) -> str:
    result = subprocess.run(
        [str(tool), *args],
        env=pg.env(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{tool.name} failed: {(result.stderr or result.stdout).strip()[-2000:]}")
    return result.stdout


def dump_postgres(database_url: str, server_major: int, path: Path) -> str:
    """``pg_dump -Fc`` of the database into ``path``; returns the pg_dump version used."""
    pg = PgConnection.parse(database_url)
    tool = pg_tool("pg_dump", server_major)
    _run_tool(tool, [*pg.args(), "--format=custom", "--no-owner", "--no-privileges", "--file", str(path)], pg)
    # A dump pg_restore cannot list is no backup: check it now, not on the day it is needed.
    _run_tool(pg_tool("pg_restore", server_major), ["--list", str(path)], pg, timeout=600)
    return subprocess.run([str(tool), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def _restore_list(pg_restore: Path, dump: Path, pg: PgConnection, workdir: Path) -> Path:
    """The dump's table of contents without extensions: the target already has pgvector (created by a
    superuser), and the app's role could neither drop nor create it."""
    listing = _run_tool(pg_restore, ["--list", str(dump)], pg, timeout=600)
    kept = [line for line in listing.splitlines() if not re.search(r"\bEXTENSION\b", line)]
    path = workdir / "restore.list"
    path.write_text("\n".join(kept) + "\n")
    return path


async def _recreate_database(pg: PgConnection) -> bool:
    """Drop and recreate the database through the ``postgres`` maintenance database; False when the role may
    not (then the restore cleans the existing database object by object instead)."""
    try:
        conn = await asyncpg.connect(pg.url("postgres"), timeout=15)
    except (asyncpg.PostgresError, OSError):
        return False
    try:
        # Checked first: an owner without CREATEDB could drop the database and then not create it again.
        may_create = await conn.fetchval(
            "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
        if not may_create:
            return False
        quoted = '"' + pg.database.replace('"', '""') + '"'
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {quoted}")
    except asyncpg.PostgresError:
        return False
    finally:
        await conn.close()
    conn = await asyncpg.connect(pg.url(), timeout=15)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    finally:
        await conn.close()
    return True


async def restore_postgres(
    targets: Targets, dump: Path, server_major: int, workdir: Path, out: TextIO
) -> None:
    pg = PgConnection.parse(targets.database_url)
    pg_restore = pg_tool("pg_restore", server_major)
    clean: list[str] = []
    if targets.stack is not None:
        from scripts.localstack import APP_DATABASE, APP_ROLE

        # The stack's superuser (over the Unix socket) recreates the database with pgvector in it.
        targets.stack.postgres.drop_database(APP_DATABASE)
        targets.stack.postgres.ensure_database(
            APP_DATABASE, APP_ROLE, targets.stack.secrets["POSTGRES_PASSWORD"]
        )
    elif not await _recreate_database(pg):
        print(
            "  the database role may not recreate the database: dropping the dump's objects one by one "
            "instead (objects the dump does not have stay)",
            file=out,
        )
        clean = ["--clean", "--if-exists"]
    listing = _restore_list(pg_restore, dump, pg, workdir)
    _run_tool(
        pg_restore,
        [
            *pg.args(),
            *clean,
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--use-list",
            str(listing),
            str(dump),
        ],
        pg,
    )


async def database_has_data(database_url: str) -> dict[str, int]:
    """Users and memories already in the target (empty dict: nothing there, or no schema yet)."""
    try:
        conn = await asyncpg.connect(database_url, timeout=15)
    except asyncpg.InvalidCatalogNameError:
        return {}
    try:
        found = {}
        for table in ("user_profiles", "memories", "interactions"):
            if await conn.fetchval("SELECT to_regclass($1)", f"public.{table}") is not None:
                count = int(await conn.fetchval(f"SELECT count(*) FROM public.{table}"))  # noqa: S608
                if count:
                    found[table] = count
        return found
    finally:
        await conn.close()


# --- Redis ----------------------------------------------------------------------------------------------------


def _b64(value: bytes | str) -> str:
    """Base64 of a Redis reply. Our clients never decode, so replies are bytes; redis-py's types also allow
    str (a client with ``decode_responses``), which is encoded back to the UTF-8 it was decoded from."""
    return base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode("ascii")


def _unb64(value: str) -> bytes:
    return base64.b64decode(value.encode("ascii"))


async def _read_key(client: aioredis.Redis, key: bytes) -> dict[str, Any] | None:
    kind_reply = await client.type(key)
    kind = kind_reply.decode() if isinstance(kind_reply, bytes) else kind_reply
    if kind == "none":
        return None
    record: dict[str, Any] = {"key": _b64(key), "type": kind}
    if kind == "string":
        value = await client.get(key)
        if value is None:
            return None
        record["value"] = _b64(value)
    elif kind == "list":
        record["value"] = [_b64(v) for v in await client.lrange(key, 0, -1)]
    elif kind == "hash":
        record["value"] = {_b64(k): _b64(v) for k, v in (await client.hgetall(key)).items()}
    elif kind == "set":
        record["value"] = sorted(_b64(v) for v in await client.smembers(key))
    elif kind == "zset":
        # withscores: (member, score) pairs; redis-py's return type covers every form of ZRANGE.
        pairs = cast(list[tuple[bytes, float]], await client.zrange(key, 0, -1, withscores=True))
        record["value"] = [[_b64(m), s] for m, s in pairs]
    else:  # streams and modules' types: the server's own serialisation
        payload = await client.dump(key)
        if payload is None:
            return None
        record["type"], record["value"] = "dump", _b64(payload)
    pttl = int(await client.pttl(key))
    if pttl == -2:  # expired while we read it
        return None
    record["expires_at_ms"] = int(time.time() * 1000) + pttl if pttl > 0 else None
    return record


async def dump_redis(redis_url: str, path: Path) -> dict[str, Any]:
    """Every state key (see REDIS_SKIPPED) as JSON lines; returns the counts for the manifest."""
    client = aioredis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=30)
    by_type: dict[str, int] = {}
    skipped = 0
    try:
        with path.open("w") as handle:
            async for key in client.scan_iter(count=1000):
                if not is_state_key(key.decode(errors="replace")):
                    skipped += 1
                    continue
                record = await _read_key(client, key)
                if record is None:
                    continue
                by_type[record["type"]] = by_type.get(record["type"], 0) + 1
                handle.write(json.dumps(record, sort_keys=True) + "\n")
        info = await client.info("server")
    finally:
        await client.aclose()
    return {
        "file": path.name,
        "keys": sum(by_type.values()),
        "by_type": by_type,
        "skipped_cache_and_lock_keys": skipped,
        "server_version": info.get("redis_version"),
    }


async def redis_state_keys(redis_url: str) -> int:
    client = aioredis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=30)
    try:
        return sum(
            [1 async for key in client.scan_iter(count=1000) if is_state_key(key.decode(errors="replace"))]
        )
    finally:
        await client.aclose()


async def restore_redis(redis_url: str, path: Path) -> tuple[int, int]:
    """Replace the state keys with the archive's; returns (restored, skipped because expired meanwhile).

    A key's expiry is kept as an absolute time: a 24 h suspension backed up 20 h in has 4 h left after a
    restore, whenever that happens."""
    client = aioredis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=30)
    restored = expired = 0
    try:
        stale = [
            key async for key in client.scan_iter(count=1000) if is_state_key(key.decode(errors="replace"))
        ]
        for start in range(0, len(stale), 500):
            await client.delete(*stale[start : start + 500])
        now_ms = int(time.time() * 1000)
        with path.open() as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                ttl_ms = None
                if record.get("expires_at_ms") is not None:
                    ttl_ms = int(record["expires_at_ms"]) - now_ms
                    if ttl_ms <= 0:
                        expired += 1
                        continue
                await _write_key(client, record, ttl_ms)
                restored += 1
    finally:
        await client.aclose()
    return restored, expired


async def _write_key(client: aioredis.Redis, record: dict[str, Any], ttl_ms: int | None) -> None:
    key, kind, value = _unb64(record["key"]), record["type"], record["value"]
    if kind == "dump":
        await client.restore(key, ttl_ms or 0, _unb64(value), replace=True)
        return
    pipe = client.pipeline(transaction=True)
    pipe.delete(key)
    if kind == "string":
        pipe.set(key, _unb64(value))
    elif kind == "list" and value:
        pipe.rpush(key, *[_unb64(v) for v in value])
    elif kind == "hash" and value:
        pipe.hset(key, mapping={_unb64(k): _unb64(v) for k, v in value.items()})
    elif kind == "set" and value:
        pipe.sadd(key, *[_unb64(v) for v in value])
    elif kind == "zset" and value:
        pipe.zadd(key, {_unb64(m): float(s) for m, s in value})
    if ttl_ms is not None:
        pipe.pexpire(key, ttl_ms)
    await pipe.execute()


# --- Qdrant ---------------------------------------------------------------------------------------------------


def _qdrant(targets: Targets) -> httpx.AsyncClient:
    assert targets.qdrant_url is not None
    headers = {"api-key": targets.qdrant_api_key} if targets.qdrant_api_key else {}
    return httpx.AsyncClient(base_url=targets.qdrant_url.rstrip("/"), headers=headers, timeout=QDRANT_TIMEOUT)


async def _qdrant_json(response: httpx.Response, action: str) -> Any:
    if response.is_error:
        raise BackupError(f"qdrant {action}: HTTP {response.status_code}: {response.text[:300]}")
    return response.json().get("result")


async def qdrant_counts(http: httpx.AsyncClient) -> dict[str, int]:
    result = await _qdrant_json(await http.get("/collections"), "list collections")
    counts = {}
    for item in sorted(result["collections"], key=lambda c: c["name"]):
        info = await _qdrant_json(await http.get(f"/collections/{item['name']}"), f"read {item['name']}")
        counts[item["name"]] = int(info.get("points_count") or 0)
    return counts


async def snapshot_qdrant(targets: Targets, directory: Path) -> dict[str, Any]:
    """One snapshot per collection, downloaded into ``directory`` and then removed from the server."""
    collections: dict[str, Any] = {}
    async with _qdrant(targets) as http:
        counts = await qdrant_counts(http)
        for name, points in counts.items():
            snap = await _qdrant_json(
                await http.post(f"/collections/{name}/snapshots", params={"wait": "true"}), f"snapshot {name}"
            )
            target = directory / f"{name}.snapshot"
            async with http.stream("GET", f"/collections/{name}/snapshots/{snap['name']}") as response:
                if response.is_error:
                    raise BackupError(f"qdrant download of {name}: HTTP {response.status_code}")
                with target.open("wb") as handle:
                    async for chunk in response.aiter_bytes():
                        handle.write(chunk)
            with contextlib.suppress(httpx.HTTPError):
                await http.delete(f"/collections/{name}/snapshots/{snap['name']}")
            collections[name] = {"file": f"qdrant/{target.name}", "points": points}
        version = (await http.get("/")).json().get("version")
    return {"server_version": version, "collections": collections}


async def restore_qdrant(targets: Targets, directory: Path, collections: Mapping[str, Any]) -> None:
    async with _qdrant(targets) as http:
        for name in collections:
            with (directory / f"{name}.snapshot").open("rb") as handle:
                response = await http.post(
                    f"/collections/{name}/snapshots/upload",
                    params={"wait": "true", "priority": "snapshot"},
                    files={"snapshot": (f"{name}.snapshot", handle, "application/octet-stream")},
                )
            await _qdrant_json(response, f"restore {name}")


# --- config ---------------------------------------------------------------------------------------------------


def documented_variables(env_example: Path = REPO / ".env.example") -> list[str]:
    """Every variable named in .env.example, set or commented out."""
    if not env_example.exists():
        return []
    names = re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", env_example.read_text(), flags=re.MULTILINE)
    return list(dict.fromkeys(names))


def _is_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def write_config(
    directory: Path, env: Mapping[str, str], extra_secrets: Mapping[str, str], include_secrets: bool
) -> dict[str, Any]:
    directory.mkdir()
    plain: dict[str, str] = {}
    secret: dict[str, str] = dict(extra_secrets)
    for name in documented_variables():
        value = env.get(name)
        if value is None or value == "":
            continue
        if _is_secret(name):
            secret[name] = value
        elif "://" in value and redact_url(value) != value:
            plain[name], secret[name] = redact_url(value), value
        else:
            plain[name] = value
    (directory / "config.env").write_text("".join(f"{k}={v}\n" for k, v in sorted(plain.items())))
    files = []
    for name in CONFIG_FILES:
        source = Path.cwd() / name
        if source.is_file():
            shutil.copy2(source, directory / name)
            files.append(name)
    if include_secrets and secret:
        path = directory / "secrets.env"
        path.write_text("".join(f"{k}={v}\n" for k, v in sorted(secret.items())))
        path.chmod(0o600)
    return {
        "variables": sorted(plain),
        "files": files,
        "secrets_included": include_secrets and bool(secret),
        "secret_names": sorted(secret),
    }


# --- archive --------------------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _companion_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("companion")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class BackupResult:
    archive: Path
    manifest: dict[str, Any]
    seconds: float
    warnings: list[str] = field(default_factory=list)


async def backup(
    targets: Targets,
    out_dir: Path,
    env: Mapping[str, str],
    *,
    include_secrets: bool = False,
    now: datetime | None = None,
) -> BackupResult:
    """Write one archive of the deployment into ``out_dir``; see the module docstring for its content."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    name = ARCHIVE_PREFIX + now.strftime("%Y%m%dT%H%M%SZ")
    warnings: list[str] = []
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=out_dir) as scratch:
        root = Path(scratch) / name
        root.mkdir(mode=0o700)
        facts = await postgres_facts(targets.database_url)
        pg_dump_version = dump_postgres(targets.database_url, facts["server_major"], root / "postgres.dump")
        manifest: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "created_at": now.isoformat(),
            "source": {
                "kind": targets.kind,
                "database": redact_url(targets.database_url),
                "redis": redact_url(targets.redis_url) if targets.redis_url else None,
                "qdrant": targets.qdrant_url,
            },
            "versions": {
                "companion": _companion_version(),
                "python": platform.python_version(),
                "postgres": facts["server_version"],
                "pgvector": facts["pgvector"],
                "pg_dump": pg_dump_version,
            },
            "migrations": {
                "level": facts["migrations"][-1] if facts["migrations"] else None,
                "applied": facts["migrations"],
            },
            "postgres": {
                "file": "postgres.dump",
                "server_major": facts["server_major"],
                "tables": facts["tables"],
                "memories": facts["memories"],
            },
            "redis": None,
            "qdrant": None,
        }
        if targets.redis_url:
            manifest["redis"] = await dump_redis(targets.redis_url, root / "redis.jsonl")
            manifest["versions"]["redis"] = manifest["redis"].pop("server_version")
        else:
            warnings.append("REDIS_URL is not set: Redis state (offence counters, queued writes) not saved")
        if targets.qdrant_url:
            (root / "qdrant").mkdir()
            qdrant = await snapshot_qdrant(targets, root / "qdrant")
            manifest["versions"]["qdrant"] = qdrant.pop("server_version")
            manifest["qdrant"] = qdrant
        extra_secrets = dict(targets.stack.secrets) if targets.stack is not None else {}
        manifest["config"] = write_config(root / "config", env, extra_secrets, include_secrets)
        if manifest["config"]["secrets_included"]:
            warnings.append(
                "the archive holds secrets (config/secrets.env): keep it as safe as the secrets themselves"
            )
        manifest["files"] = {
            str(path.relative_to(root)): {"sha256": _sha256(path), "bytes": path.stat().st_size}
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }
        (root / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        partial = out_dir / f".{name}.tar.gz.partial"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            tar.add(root, arcname=name)
        archive = out_dir / f"{name}.tar.gz"
        partial.replace(archive)
    return BackupResult(archive, manifest, time.perf_counter() - started, warnings)


def _unpack(archive: Path, into: Path) -> Path:
    """The archive's top directory (an unpacked archive directory is used in place)."""
    if archive.is_dir():
        return archive
    if not archive.is_file():
        raise BackupError(f"{archive}: no such archive")
    with tarfile.open(archive, "r:*") as tar:
        tar.extractall(into, filter="data")
    tops = [p for p in into.iterdir() if p.is_dir()]
    if len(tops) != 1 or not (tops[0] / "manifest.json").exists():
        raise BackupError(f"{archive}: not a companion backup (no manifest.json)")
    return tops[0]


def _check_files(root: Path, manifest: Mapping[str, Any]) -> None:
    for relative, expected in manifest.get("files", {}).items():
        path = root / relative
        if not path.is_file() or _sha256(path) != expected["sha256"]:
            raise BackupError(f"{relative}: missing or damaged (sha256 differs from the manifest)")


@dataclass
class Check:
    what: str
    expected: int
    found: int

    @property
    def ok(self) -> bool:
        return self.expected == self.found


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    checks: list[Check]
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


class TargetHasData(BackupError):
    """The target already holds data and ``--yes`` was not given."""


async def restore(
    targets: Targets, archive: Path, *, yes: bool = False, out: TextIO | None = None
) -> RestoreResult:
    """Restore Postgres, Redis and Qdrant from ``archive`` into ``targets``, then compare the counts."""
    stream = out or sys.stdout
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="companion-restore-") as scratch:
        root = _unpack(archive, Path(scratch))
        manifest = json.loads((root / "manifest.json").read_text())
        if manifest.get("format") != FORMAT_VERSION:
            raise BackupError(f"archive format {manifest.get('format')} is not {FORMAT_VERSION}")
        _check_files(root, manifest)
        if targets.stack is not None:
            if targets.stack.gateway.running_pid() is not None:
                raise BackupError("the local stack's gateway is running: `python -m scripts down` first")
            targets.start_stores()
        present = await database_has_data(targets.database_url)
        redis_keys = await redis_state_keys(targets.redis_url) if targets.redis_url else 0
        if (present or redis_keys) and not yes:
            found = [f"{count} rows in {table}" for table, count in present.items()]
            if redis_keys:
                found.append(f"{redis_keys} Redis state keys")
            raise TargetHasData(
                f"the target already has data ({', '.join(found)}); restoring replaces it: add --yes"
            )
        notes: list[str] = []
        expired = 0
        print(f"restoring Postgres ({manifest['migrations']['level']}) ...", file=stream, flush=True)
        await restore_postgres(
            targets, root / "postgres.dump", manifest["postgres"]["server_major"], Path(scratch), stream
        )
        if manifest.get("redis"):
            if targets.redis_url:
                print("restoring Redis state keys ...", file=stream, flush=True)
                _, expired = await restore_redis(targets.redis_url, root / "redis.jsonl")
                if expired:
                    notes.append(f"{expired} Redis keys had expired since the backup and were not restored")
            else:
                notes.append("the archive has Redis state but REDIS_URL is not set: not restored")
        qdrant = manifest.get("qdrant")
        if qdrant and targets.qdrant_url:
            print(f"restoring {len(qdrant['collections'])} Qdrant collections ...", file=stream, flush=True)
            await restore_qdrant(targets, root / "qdrant", qdrant["collections"])
        elif qdrant:
            notes.append("the archive has Qdrant snapshots but QDRANT_URL is not set: not restored")
        elif targets.qdrant_url:
            notes.append(
                "the archive has no Qdrant snapshot (it came from a pgvector deployment): "
                "run `python -m scripts reindex` to fill Qdrant from Postgres"
            )
        checks = await verify(targets, manifest, expired_redis_keys=expired)
    return RestoreResult(manifest, checks, time.perf_counter() - started, notes)


async def verify(targets: Targets, manifest: Mapping[str, Any], expired_redis_keys: int = 0) -> list[Check]:
    """Counts in the target against the manifest: every table, live memories and vectors, Redis, Qdrant."""
    facts = await postgres_facts(targets.database_url)
    checks = [
        Check(f"postgres {table}", expected, facts["tables"].get(table, -1))
        for table, expected in manifest["postgres"]["tables"].items()
    ]
    memories = manifest["postgres"].get("memories") or {}
    for key in ("live", "with_vector"):
        if key in memories:
            checks.append(Check(f"memories {key}", memories[key], facts["memories"].get(key, -1)))
    checks.append(
        Check("migrations applied", len(manifest["migrations"]["applied"]), len(facts["migrations"]))
    )
    if manifest.get("redis") and targets.redis_url:
        found = await redis_state_keys(targets.redis_url)
        checks.append(Check("redis state keys", manifest["redis"]["keys"] - expired_redis_keys, found))
    if manifest.get("qdrant") and targets.qdrant_url:
        async with _qdrant(targets) as http:
            counts = await qdrant_counts(http)
        for name, info in manifest["qdrant"]["collections"].items():
            checks.append(Check(f"qdrant {name}", info["points"], counts.get(name, -1)))
    return checks


def format_checks(checks: Sequence[Check]) -> str:
    width = max((len(c.what) for c in checks), default=10)
    lines = [f"  {'':2} {'what':{width}} {'backup':>9} {'restored':>9}"]
    for check in checks:
        mark = "ok" if check.ok else "!!"
        lines.append(f"  {mark:2} {check.what:{width}} {check.expected:>9} {check.found:>9}")
    return "\n".join(lines)


def run_backup(env: Mapping[str, str], out_dir: Path, include_secrets: bool) -> int:
    try:
        targets = Targets.resolve(env)
        targets.start_stores()
        out_dir.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(backup(targets, out_dir, env, include_secrets=include_secrets))
    except (BackupError, TargetError, OSError, asyncpg.PostgresError, httpx.HTTPError) as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    except aioredis.RedisError as exc:
        print(f"backup failed: Redis: {exc}", file=sys.stderr)
        return 1
    manifest = result.manifest
    tables = manifest["postgres"]["tables"]
    memories = manifest["postgres"]["memories"]
    print(f"backup of the {targets.kind} written to {result.archive} in {result.seconds:.1f}s")
    print(f"  postgres   {manifest['versions']['postgres']}, migrations at {manifest['migrations']['level']}")
    print(
        f"             {tables.get('user_profiles', 0)} users, {memories.get('live', 0)} memories "
        f"({memories.get('with_vector', 0)} with vectors), {tables.get('interactions', 0)} interactions, "
        f"{tables.get('security_incidents', 0)} incidents"
    )
    if manifest["redis"]:
        print(f"  redis      {manifest['redis']['keys']} state keys {manifest['redis']['by_type']}")
    if manifest["qdrant"]:
        points = {k: v["points"] for k, v in manifest["qdrant"]["collections"].items()}
        print(f"  qdrant     {len(points)} collections {points}")
    print(
        f"  config     {len(manifest['config']['variables'])} settings, files {manifest['config']['files']}"
    )
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def run_restore(env: Mapping[str, str], archive: Path, yes: bool) -> int:
    try:
        targets = Targets.resolve(env)
        result = asyncio.run(restore(targets, archive, yes=yes))
    except TargetHasData as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return 1
    except (
        BackupError,
        TargetError,
        OSError,
        asyncpg.PostgresError,
        httpx.HTTPError,
        tarfile.TarError,
    ) as exc:
        print(f"restore failed: {exc}", file=sys.stderr)
        return 1
    except aioredis.RedisError as exc:
        print(f"restore failed: Redis: {exc}", file=sys.stderr)
        return 1
    created = result.manifest["created_at"]
    print(f"restored the backup of {created} into the {targets.kind} in {result.seconds:.1f}s")
    print(format_checks(result.checks))
    for note in result.notes:
        print(f"note: {note}")
    if not result.ok:
        print("restore finished but some counts differ from the backup (marked !!)", file=sys.stderr)
        return 1
    if targets.stack is not None:
        print("every count matches; start the stack with `python -m scripts up`")
    else:
        print("every count matches; start the gateway and the bot again")
    return 0
