"""Backup and restore of a deployment named by DATABASE_URL, REDIS_URL and QDRANT_URL (the compose path):
Qdrant snapshots through its REST API, secrets only on request, and a database role that may not recreate its
database (the restore then cleans object by object)."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis

from scripts.backup import TargetHasData, backup, restore
from scripts.localstack import EmbeddedRedis
from scripts.targets import Targets
from tests.conftest import REDIS_PASSWORD
from tests.fakes.qdrant_snapshots import FakeQdrant
from tests.servers import ThreadedServer

COLLECTIONS = {"episodic_memory__m__8": ["p1", "p2"], "semantic_memory__m__8": ["p3"]}


@pytest.fixture
def qdrant() -> Iterator[tuple[FakeQdrant, str]]:
    fake = FakeQdrant(collections={k: list(v) for k, v in COLLECTIONS.items()}, api_key="qdrant-key")
    with ThreadedServer(fake.app(), name="fake-qdrant") as server:
        yield fake, server.base_url


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> Iterator[str]:
    url = redis_server.url(REDIS_PASSWORD, db=8)
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


async def _users(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [r[0] for r in await conn.fetch("SELECT user_id FROM user_profiles ORDER BY 1")]
    finally:
        await conn.close()


async def _execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_deployment_backup_and_restore(
    ops_database_url: str, redis_url: str, qdrant: tuple[FakeQdrant, str], tmp_path: Path
) -> None:
    """Snapshots of every Qdrant collection are downloaded (and removed from the server), secrets go in only
    with --include-secrets, and restore puts Postgres, Redis and Qdrant back with matching counts."""
    fake, qdrant_url = qdrant
    asyncio.run(
        _execute(
            ops_database_url,
            """INSERT INTO user_profiles (user_id, username) VALUES ('dep-1', 'one'), ('dep-2', 'two');
               INSERT INTO memories (user_id, memory_type, content) VALUES ('dep-1', 'episodic', 'kept');""",
        )
    )
    client = redis.Redis.from_url(redis_url)
    client.zadd("security:offences:dep-1", {"7": 1.0})
    client.expire("security:offences:dep-1", 3600)
    client.set("importance:v1:abc", "0.5")  # a cache: not backed up
    env = {
        "DATABASE_URL": ops_database_url,
        "REDIS_URL": redis_url,
        "QDRANT_URL": qdrant_url,
        "QDRANT_API_KEY": "qdrant-key",
        "GATEWAY_SERVICE_TOKEN": "service-token-0123456789abcdef",
        "LOG_LEVEL": "INFO",
    }
    targets = Targets.resolve(env)
    assert targets.stack is None

    result = asyncio.run(backup(targets, tmp_path, env, include_secrets=True))
    assert fake.snapshots == {}  # downloaded, then deleted on the server
    manifest = result.manifest
    assert {k: v["points"] for k, v in manifest["qdrant"]["collections"].items()} == {
        "episodic_memory__m__8": 2,
        "semantic_memory__m__8": 1,
    }
    assert manifest["redis"]["keys"] == 1 and manifest["redis"]["skipped_cache_and_lock_keys"] == 1
    assert any("secrets" in w for w in result.warnings)
    with tarfile.open(result.archive) as tar:
        files = {m.name.split("/", 1)[1]: m for m in tar.getmembers() if "/" in m.name}
        config = tar.extractfile(files["config/config.env"]).read().decode()  # type: ignore[union-attr]
        secrets = tar.extractfile(files["config/secrets.env"]).read().decode()  # type: ignore[union-attr]
    assert "qdrant/episodic_memory__m__8.snapshot" in files
    assert "LOG_LEVEL=INFO" in config and "DATABASE_URL=postgresql://companion_test:***@" in config
    assert "test-password" not in config and "qdrant-key" not in config
    assert "QDRANT_API_KEY=qdrant-key" in secrets and "GATEWAY_SERVICE_TOKEN=" in secrets

    with pytest.raises(TargetHasData, match="2 rows in user_profiles"):
        asyncio.run(restore(targets, result.archive, out=io.StringIO()))

    asyncio.run(_execute(ops_database_url, "DELETE FROM user_profiles WHERE user_id = 'dep-2'"))
    client.flushdb()
    fake.collections.clear()
    out = io.StringIO()
    restored = asyncio.run(restore(targets, result.archive, yes=True, out=out))
    assert restored.ok, [c for c in restored.checks if not c.ok]
    assert "may not recreate the database" in out.getvalue()  # the test role has no CREATEDB
    assert asyncio.run(_users(ops_database_url)) == ["dep-1", "dep-2"]
    assert client.zrange("security:offences:dep-1", 0, -1, withscores=True) == [(b"7", 1.0)]
    assert 3500 < client.ttl("security:offences:dep-1") <= 3600
    assert client.get("importance:v1:abc") is None
    assert fake.collections == COLLECTIONS
    assert sorted(fake.uploads) == [(name, "snapshot") for name in sorted(COLLECTIONS)]
    client.close()


def test_archive_without_qdrant_into_a_qdrant_deployment_says_reindex(
    ops_database_url: str, redis_url: str, qdrant: tuple[FakeQdrant, str], tmp_path: Path
) -> None:
    """A pgvector backup restored where QDRANT_URL is set tells the operator to rebuild Qdrant from Postgres."""
    env = {"DATABASE_URL": ops_database_url, "REDIS_URL": redis_url}
    result = asyncio.run(backup(Targets.resolve(env), tmp_path, env))
    assert result.manifest["qdrant"] is None
    assert json.loads(json.dumps(result.manifest))["config"]["secrets_included"] is False
    targets = Targets.resolve({**env, "QDRANT_URL": qdrant[1], "QDRANT_API_KEY": "qdrant-key"})
    restored = asyncio.run(restore(targets, result.archive, yes=True, out=io.StringIO()))
    assert restored.ok
    assert any("python -m scripts reindex" in note for note in restored.notes)
