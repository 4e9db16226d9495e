"""`python -m scripts migrate`: the operator's way to apply migrations outside the gateway."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts.localstack import free_port

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts", *args],
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_applies_then_reports_up_to_date(empty_database: str, tmp_path: Path) -> None:
    """The first run names the files it applied; the second says the database is up to date."""
    first = run_cli("migrate", env={"DATABASE_URL": empty_database}, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("applied: 001_personality_and_interactions.sql, 002_quirks_and_needs.sql")
    second = run_cli("migrate", env={"DATABASE_URL": empty_database}, cwd=tmp_path)
    assert second.returncode == 0
    assert second.stdout.strip() == "database is up to date"


def test_migrate_reads_dotenv(empty_database: str, tmp_path: Path) -> None:
    """DATABASE_URL may come from ./.env, as for every other command."""
    (tmp_path / ".env").write_text(f"DATABASE_URL={empty_database}\n")
    result = run_cli("migrate", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("applied: ")


def test_migrate_without_database_url_names_it(tmp_path: Path) -> None:
    """No DATABASE_URL anywhere: one line naming it, exit 2."""
    result = run_cli("migrate", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "config error: DATABASE_URL: is required but not set"


def test_reindex_rebuilds_from_postgres(database_url: str, tmp_path: Path) -> None:
    """`reindex` with no QDRANT_URL indexes into pgvector and reports the count."""
    result = run_cli("reindex", env={"DATABASE_URL": database_url}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("indexed ")


def test_reindex_with_qdrant_down_fails_clearly(database_url: str, tmp_path: Path) -> None:
    """An unreachable Qdrant makes `reindex` fail with one line and exit 1, not a traceback."""
    env = {"DATABASE_URL": database_url, "QDRANT_URL": f"http://127.0.0.1:{free_port()}"}
    result = run_cli("reindex", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("reindex failed: ")
