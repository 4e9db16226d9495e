"""Applies ``migrations/NNN_name.sql`` in order, each in one transaction, recorded in ``schema_migrations``."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
# Any constant works; it only has to be the same for every gateway replica.
_ADVISORY_LOCK_KEY = 0x636F6D70  # "comp"


class MigrationError(Exception):
    """A migration file is malformed, was edited after being applied, or failed; the message names it."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNN_lowercase_name.sql")
        version = int(match.group(1))
        if version in migrations:
            raise MigrationError(
                f"{path.name}: version {version:03d} is also used by {migrations[version].path.name}"
            )
        migrations[version] = Migration(version, match.group(2), path)
    return [migrations[v] for v in sorted(migrations)]


async def apply_migrations(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the file names applied (empty when up to date).

    A session advisory lock keeps concurrent gateways from racing. A failing file is rolled back whole
    and raises MigrationError naming it; files applied before it stay applied.
    """
    migrations = discover(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK_KEY)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     INTEGER PRIMARY KEY,
                name        TEXT NOT NULL,
                checksum    TEXT NOT NULL,
                applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """
        )
        applied = {
            row["version"]: row["checksum"]
            for row in await conn.fetch("SELECT version, checksum FROM schema_migrations")
        }
        done: list[str] = []
        for migration in migrations:
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"{migration.path.name}: changed after it was applied; add a new migration instead"
                    )
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"{migration.path.name}: {type(exc).__name__}: {exc}") from exc
            logger.info("applied migration %s", migration.path.name)
            done.append(migration.path.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _ADVISORY_LOCK_KEY)


async def migrate(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return await apply_migrations(conn, directory)
    finally:
        await conn.close()
