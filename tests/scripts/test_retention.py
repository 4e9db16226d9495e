"""`python -m scripts retention`: the dry run changes nothing, and --apply does exactly what it listed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from scripts.retention import RetentionError, load_policy, run_retention

NOW = datetime.now(UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def _seed(dsn: str) -> dict[str, Any]:
    """One user of each kind, and a row on each side of every rule."""
    ids: dict[str, Any] = {}
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for user, status, age in (("ret-active", "active", 1), ("ret-gone", "inactive", 60),
                                      ("ret-left", "inactive", 5)):  # fmt: skip
                await conn.execute(
                    """INSERT INTO user_profiles (user_id, username, status, updated_at, last_active_at, created_at)
                       VALUES ($1, $1, $2, $3, $3, $3)""",
                    user,
                    status,
                    days_ago(age),
                )

            async def memory(name: str, **columns: Any) -> UUID:
                values = {"id": uuid4(), "user_id": "ret-active", "memory_type": "episodic", "content": name,
                          "importance": 0.5, "created_at": days_ago(1), **columns}  # fmt: skip
                cols = ", ".join(values)
                marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
                await conn.execute(f"INSERT INTO memories ({cols}) VALUES ({marks})", *values.values())  # noqa: S608
                ids[name] = values["id"]
                return values["id"]

            await memory("deleted long ago", deleted_at=days_ago(40))
            await memory("deleted lately", deleted_at=days_ago(5))
            summary = await memory("summary", memory_type="semantic", created_at=days_ago(100))
            await memory("faded source", created_at=days_ago(200), importance=0.1, consolidated_into=summary)
            await memory(
                "recalled source",
                created_at=days_ago(200),
                importance=0.9,
                strength=64.0,
                last_accessed_at=days_ago(1),
                consolidated_into=summary,
            )
            await memory("faded, never consolidated", created_at=days_ago(200), importance=0.1)
            await memory("faded, summary deleted", created_at=days_ago(200), importance=0.1,
                         consolidated_into=ids["deleted lately"])  # fmt: skip
            for name, false_positive, age in (
                ("fp old", True, 100),
                ("fp new", True, 10),
                ("real old", False, 200),
            ):
                ids[name] = await conn.fetchval(
                    """INSERT INTO security_incidents (user_id, created_at, message, threat_type, confidence,
                                                       severity, detection_method, false_positive)
                       VALUES ('ret-active', $1, 'x', 'instruction_injection', 0.9, 'high', 'rules', $2)
                       RETURNING id""",
                    days_ago(age),
                    false_positive,
                )
            for name, age in (("turn old", 400), ("turn new", 3)):
                ids[name] = await conn.fetchval(
                    """INSERT INTO interactions (user_id, user_message, assistant_response, created_at)
                       VALUES ('ret-active', 'hi', 'hello', $1) RETURNING id""",
                    days_ago(age),
                )
    finally:
        await conn.close()
    return ids


async def _state(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            "users": [
                tuple(r) for r in await conn.fetch("SELECT user_id, status FROM user_profiles ORDER BY 1")
            ],
            "memories": [
                tuple(r)
                for r in await conn.fetch("SELECT id, retrieval_weight, deleted_at FROM memories ORDER BY id")
            ],
            "incidents": [r[0] for r in await conn.fetch("SELECT id FROM security_incidents ORDER BY id")],
            "interactions": [r[0] for r in await conn.fetch("SELECT id FROM interactions ORDER BY id")],
        }
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def seeded(ops_database_url: str) -> dict[str, Any]:
    return asyncio.run(_seed(ops_database_url))


def retention_json(env: dict[str, str], capsys: pytest.CaptureFixture[str], apply: bool) -> dict[str, Any]:
    code = run_retention(env, apply=apply, as_json=True)
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)  # type: ignore[no-any-return]


def listed(plan: dict[str, Any], kind: str) -> list[str]:
    return sorted(a["target"] for a in plan["actions"] if a["kind"] == kind)


def test_dry_run_lists_by_rule_and_changes_nothing(
    ops_env: dict[str, str], ops_database_url: str, seeded: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each rule lists exactly the rows on its side of the line; the database is unchanged afterwards."""
    before = asyncio.run(_state(ops_database_url))
    plan = retention_json({**ops_env, "RETENTION_INTERACTION_DAYS": "365"}, capsys, apply=False)
    assert plan["dry_run"] is True and plan["applied"] is None
    assert listed(plan, "purge_memory") == [str(seeded["deleted long ago"])]
    assert listed(plan, "forget_memory") == [str(seeded["faded source"])]
    assert listed(plan, "delete_incident") == [str(seeded["fp old"])]
    assert listed(plan, "delete_interaction") == [str(seeded["turn old"])]
    assert listed(plan, "delete_user") == ["ret-gone"]
    assert asyncio.run(_state(ops_database_url)) == before


def test_human_dry_run_names_the_rules(
    ops_env: dict[str, str], seeded: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """The text output says it changed nothing, gives each rule with its threshold, and how to apply."""
    assert run_retention(ops_env, apply=False) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing changed" in out
    assert "memories the user deleted more than 30 days ago" in out
    assert "run again with --apply" in out
    assert "off  delete interaction (RETENTION_INTERACTION_DAYS=0)" in out  # off by default


def test_apply_does_exactly_what_the_dry_run_listed(
    ops_env: dict[str, str], ops_database_url: str, seeded: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """--apply carries out the listed actions, nothing else: the user goes through the gateway's deletion."""
    env = {**ops_env, "RETENTION_INTERACTION_DAYS": "365"}
    dry = retention_json(env, capsys, apply=False)
    before = asyncio.run(_state(ops_database_url))
    done = retention_json(env, capsys, apply=True)
    assert done["actions"] == dry["actions"]
    for step in done["applied"]:
        assert step["errors"] == [], step
        assert sorted(step["done"]) == listed(dry, step["kind"]), step["kind"]

    after = asyncio.run(_state(ops_database_url))
    assert after["users"] == [u for u in before["users"] if u[0] != "ret-gone"]
    memories = {m[0]: m for m in after["memories"]}
    assert seeded["deleted long ago"] not in memories
    assert memories[seeded["deleted lately"]][2] is not None  # still soft-deleted, not purged
    assert memories[seeded["faded source"]][1] == pytest.approx(0.2)
    for kept in ("recalled source", "faded, never consolidated", "faded, summary deleted", "summary"):
        assert memories[seeded[kept]][1] == pytest.approx(1.0), kept
    assert after["incidents"] == sorted([seeded["fp new"], seeded["real old"]])
    assert after["interactions"] == [seeded["turn new"]]

    again = retention_json(env, capsys, apply=False)
    assert again["actions"] == []


def test_policy_from_env_checks_values() -> None:
    """A malformed or out-of-range variable is refused with its name."""
    assert load_policy({"RETENTION_DELETED_MEMORY_DAYS": "7"}).deleted_memory_days == 7
    assert load_policy({}).inactive_user_days == 30
    with pytest.raises(RetentionError, match=r"^RETENTION_FORGET_BELOW: "):
        load_policy({"RETENTION_FORGET_BELOW": "2"})
    with pytest.raises(RetentionError, match=r"^RETENTION_INACTIVE_USER_DAYS: "):
        load_policy({"RETENTION_INACTIVE_USER_DAYS": "soon"})
