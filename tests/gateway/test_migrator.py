from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from gateway.memory.repository import MemoryRepository
from gateway.migrator import MIGRATIONS_DIR, MigrationError, apply_migrations, discover

EXPECTED_FILES = [
    "001_personality_and_interactions.sql",
    "002_quirks_and_needs.sql",
    "003_memories.sql",
    "004_user_profiles.sql",
    "005_security_incidents.sql",
]


@pytest.fixture
async def conn(empty_database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(empty_database)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, target)
    return target


async def test_applies_every_file_in_order_and_records_it(conn: asyncpg.Connection) -> None:
    """An empty database gets files 001-005, each recorded in schema_migrations."""
    applied = await apply_migrations(conn)
    assert applied[:5] == EXPECTED_FILES
    versions = [
        row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")
    ]
    assert versions == [m.version for m in discover()]


async def test_rerun_is_a_no_op(conn: asyncpg.Connection) -> None:
    """A second run applies nothing and changes nothing."""
    await apply_migrations(conn)
    before = await conn.fetch("SELECT version, applied_at FROM schema_migrations ORDER BY 1")
    assert await apply_migrations(conn) == []
    assert await conn.fetch("SELECT version, applied_at FROM schema_migrations ORDER BY 1") == before


async def test_broken_file_aborts_with_its_name_and_changes_nothing(
    conn: asyncpg.Connection, migrations_copy: Path
) -> None:
    """A failing file is rolled back whole (even its valid first statement) and named in the error."""
    await apply_migrations(conn, migrations_copy)
    (migrations_copy / "900_broken.sql").write_text(
        "CREATE TABLE half_done (id INT);\nALTER TABLE no_such_table ADD COLUMN x INT;\n"
    )
    with pytest.raises(MigrationError, match=r"^900_broken\.sql: UndefinedTableError"):
        await apply_migrations(conn, migrations_copy)
    assert await conn.fetchval("SELECT to_regclass('half_done')") is None
    assert await conn.fetchval("SELECT count(*) FROM schema_migrations WHERE version = 900") == 0


async def test_edited_applied_file_is_refused(conn: asyncpg.Connection, migrations_copy: Path) -> None:
    """Changing a file after it was applied is an error, not a silent skip."""
    await apply_migrations(conn, migrations_copy)
    target = migrations_copy / EXPECTED_FILES[1]
    target.write_text(target.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match=r"002_quirks_and_needs\.sql: changed after it was applied"):
        await apply_migrations(conn, migrations_copy)


def test_badly_named_file_is_refused(migrations_copy: Path) -> None:
    """Files must be named NNN_name.sql so their order is unambiguous."""
    (migrations_copy / "6_oops.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"6_oops\.sql"):
        discover(migrations_copy)


def test_duplicate_version_is_refused(migrations_copy: Path) -> None:
    """Two files with the same number cannot both be applied in a defined order."""
    (migrations_copy / "003_other.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="version 003"):
        discover(migrations_copy)


async def test_upgrading_keeps_every_live_memory_searchable_by_its_words(
    conn: asyncpg.Connection, migrations_copy: Path
) -> None:
    """A deployment with memories from before migration 019 keeps finding them by full text after it and
    what follows it (the words move to memory_words, then are indexed with their owner); a memory deleted
    before the upgrade stays unfound."""
    later = [migration.path for migration in discover(migrations_copy) if migration.version >= 19]
    held_back = {path: path.read_text() for path in later}
    for path in later:
        path.unlink()
    await apply_migrations(conn, migrations_copy)
    await conn.execute("INSERT INTO user_profiles (user_id, username) VALUES ('u-1', 'u-1')")
    await conn.execute(
        """INSERT INTO memories (user_id, memory_type, content, origin_channel_id, deleted_at) VALUES
           ('u-1', 'episodic', 'My dog is called Sparky', 'c-1', NULL),
           ('u-1', 'episodic', 'Sparky chewed my shoe', NULL, now())"""
    )

    for path, text in held_back.items():
        path.write_text(text)
    assert await apply_migrations(conn, migrations_copy) == [path.name for path in later]
    repo = MemoryRepository(conn)
    [sparky] = (await repo.query_lexemes("Sparky", []))[0]
    found = await repo.fulltext_search("u-1", [sparky], 10, ["episodic"])
    rows = await conn.fetch(
        "SELECT content, origin_channel_id FROM memories WHERE id = ANY($1::uuid[])",
        [mid for mid, _ in found],
    )
    assert [(row["content"], row["origin_channel_id"]) for row in rows] == [
        ("My dog is called Sparky", "c-1")
    ]
    assert await repo.fulltext_search("u-1", [sparky], 10, ["episodic"], "c-2") == []  # another channel
