"""``python -m scripts retention [--apply]``: the retention policy, in one place, dry run by default.

Nothing is deleted silently (docs/architecture.md#decisions, D13): forgetting only lowers a memory's retrieval
weight, and what is deleted is what the user deleted, or what this policy names below. Each rule has a
variable (documented in .env.example); 0 switches a rule off.

1. ``purge_memory`` — memories the user deleted (soft-deleted, out of every search already) more than
   ``RETENTION_DELETED_MEMORY_DAYS`` (30) days ago are deleted for good.
2. ``forget_memory`` — an episodic memory that nightly consolidation folded into a semantic memory that still
   exists, older than ``RETENTION_FORGET_AFTER_DAYS`` (90) days, whose retention × importance has fallen
   below ``RETENTION_FORGET_BELOW`` (0.05), gets its retrieval weight lowered to
   ``RETENTION_FORGOTTEN_WEIGHT`` (0.2). It stays, with its vector: recalling it is only less likely, and
   the semantic memory keeps what it said.
3. ``delete_incident`` — security incidents an admin marked false positive, older than
   ``RETENTION_FALSE_POSITIVE_INCIDENT_DAYS`` (90) days. They no longer count as offences anyway.
4. ``delete_interaction`` — conversation turns older than ``RETENTION_INTERACTION_DAYS`` (0: kept forever).
   Memories made from them stay (their link is cleared). Reflection reads the last 7–14 days, so keep at
   least 30 if you set it.
5. ``delete_user`` — users soft-deleted (status ``inactive``) with no activity and no change for
   ``RETENTION_INACTIVE_USER_DAYS`` (30) days are deleted everywhere (Postgres, vector index, Redis, Letta
   agent) through the gateway's own deletion (``POST /api/admin/users/{id}/reset``), so the gateway must be
   running and reachable with the admin key.

``--apply`` computes the same plan, prints it, and does exactly that: each step is limited to the ids listed
and re-checks its rule, so a row that changed in between (a memory recalled, a user who came back) is left.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from pydantic import ValidationError

from gateway.config import RetentionSettings, describe_validation_error, env_name
from gateway.memory import retrieval
from scripts.targets import TargetError, Targets

PAGE = 5000


class RetentionError(RuntimeError):
    pass


# The thresholds are a gateway settings section (gateway.config.RetentionSettings, RETENTION_*), so
# .env.example and its checks in tests/test_compose.py cover them like every other setting.


def load_policy(env: Mapping[str, str]) -> RetentionSettings:
    """The policy from ``env`` (``.env`` under the process environment); RetentionError names a bad variable."""
    values: dict[str, Any] = {}  # the variables' text, which pydantic validates into each field's type
    for name in RetentionSettings.model_fields:
        raw = (env.get(env_name(RetentionSettings, name)) or "").strip()
        if raw:
            values[name] = raw
    try:
        return RetentionSettings(_env_file=None, **values)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise RetentionError(describe_validation_error(RetentionSettings, exc)) from None


@dataclass
class Action:
    kind: str  # purge_memory | forget_memory | delete_incident | delete_interaction | delete_user
    target: str  # the row's id (a user id for delete_user)
    user_id: str
    reason: str


@dataclass
class Plan:
    now: datetime
    policy: RetentionSettings
    actions: list[Action] = field(default_factory=list)

    def of(self, kind: str) -> list[Action]:
        return [a for a in self.actions if a.kind == kind]


async def build_plan(pool: asyncpg.Pool, policy: RetentionSettings, now: datetime) -> Plan:
    """What the policy would do as of ``now``; reads only."""
    plan = Plan(now, policy)
    if policy.deleted_memory_days:
        cutoff = now - timedelta(days=policy.deleted_memory_days)
        for row in await pool.fetch(
            "SELECT id, user_id, deleted_at FROM memories WHERE deleted_at < $1 ORDER BY deleted_at, id",
            cutoff,
        ):
            plan.actions.append(
                Action(
                    "purge_memory", str(row["id"]), row["user_id"], f"deleted {row['deleted_at']:%Y-%m-%d}"
                )
            )
    if policy.forget_after_days:
        plan.actions += await _forgettable(pool, policy, now)
    if policy.false_positive_incident_days:
        cutoff = now - timedelta(days=policy.false_positive_incident_days)
        for row in await pool.fetch(
            """SELECT id, user_id, created_at, threat_type FROM security_incidents
               WHERE false_positive AND created_at < $1 ORDER BY created_at, id""",
            cutoff,
        ):
            plan.actions.append(
                Action(
                    "delete_incident",
                    str(row["id"]),
                    row["user_id"],
                    f"false positive ({row['threat_type']}) of {row['created_at']:%Y-%m-%d}",
                )
            )
    if policy.interaction_days:
        cutoff = now - timedelta(days=policy.interaction_days)
        for row in await pool.fetch(
            "SELECT id, user_id, created_at FROM interactions WHERE created_at < $1 ORDER BY created_at, id",
            cutoff,
        ):
            plan.actions.append(
                Action(
                    "delete_interaction", str(row["id"]), row["user_id"], f"of {row['created_at']:%Y-%m-%d}"
                )
            )
    if policy.inactive_user_days:
        cutoff = now - timedelta(days=policy.inactive_user_days)
        for row in await pool.fetch(
            """SELECT user_id, updated_at, last_active_at FROM user_profiles
               WHERE status = 'inactive' AND updated_at < $1 AND last_active_at < $1 ORDER BY updated_at, user_id""",
            cutoff,
        ):
            last = max(row["updated_at"], row["last_active_at"])
            plan.actions.append(
                Action(
                    "delete_user", row["user_id"], row["user_id"], f"inactive, last change {last:%Y-%m-%d}"
                )
            )
    return plan


_FORGET_CANDIDATES = """
    SELECT m.id, m.user_id, m.created_at, m.last_accessed_at, m.strength, m.importance
    FROM memories AS m JOIN memories AS s ON s.id = m.consolidated_into AND s.deleted_at IS NULL
    WHERE m.memory_type = 'episodic' AND m.deleted_at IS NULL AND m.created_at < $1
      AND m.retrieval_weight > $2 AND m.id > $3
    ORDER BY m.id LIMIT $4
"""


def forgotten(row: asyncpg.Record, policy: RetentionSettings, now: datetime) -> float | None:
    """retention × importance when it is below the policy's threshold, else None."""
    value = retrieval.retention(
        now, row["created_at"], row["last_accessed_at"], row["strength"], row["importance"]
    ) * float(row["importance"])
    return value if value < policy.forget_below else None


async def _forgettable(pool: asyncpg.Pool, policy: RetentionSettings, now: datetime) -> list[Action]:
    cutoff = now - timedelta(days=policy.forget_after_days)
    actions: list[Action] = []
    after = UUID(int=0)
    while True:
        rows = await pool.fetch(_FORGET_CANDIDATES, cutoff, policy.forgotten_weight, after, PAGE)
        if not rows:
            return actions
        for row in rows:
            value = forgotten(row, policy, now)
            if value is not None:
                actions.append(
                    Action(
                        "forget_memory",
                        str(row["id"]),
                        row["user_id"],
                        f"consolidated; retention × importance {value:.3f} < {policy.forget_below}",
                    )
                )
        after = rows[-1]["id"]


@dataclass
class Applied:
    kind: str
    done: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def apply_plan(pool: asyncpg.Pool, plan: Plan, targets: Targets) -> list[Applied]:
    """Do what ``plan`` lists, each step re-checking its rule on the listed ids only."""
    policy, now = plan.policy, plan.now
    results: list[Applied] = []

    async def ids_step(kind: str, sql: str, *args: Any, cast: type = str) -> None:
        listed = [cast(a.target) for a in plan.of(kind)]
        step = Applied(kind)
        if listed:
            rows = await pool.fetch(sql, listed, *args)
            step.done = sorted(str(r[0]) for r in rows)
        results.append(step)

    purged = plan.of("purge_memory")
    if purged:
        await _drop_from_qdrant(pool, targets, [UUID(a.target) for a in purged])
    await ids_step(
        "purge_memory",
        "DELETE FROM memories WHERE id = ANY($1::uuid[]) AND deleted_at < $2 RETURNING id",
        now - timedelta(days=policy.deleted_memory_days),
        cast=UUID,
    )
    forget = Applied("forget_memory")
    listed = [UUID(a.target) for a in plan.of("forget_memory")]
    if listed:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT m.id, m.created_at, m.last_accessed_at, m.strength, m.importance
                   FROM memories AS m JOIN memories AS s ON s.id = m.consolidated_into AND s.deleted_at IS NULL
                   WHERE m.id = ANY($1::uuid[]) AND m.deleted_at IS NULL AND m.retrieval_weight > $2
                   FOR UPDATE OF m""",
                listed,
                policy.forgotten_weight,
            )
            still = [r["id"] for r in rows if forgotten(r, policy, now) is not None]
            await conn.execute(
                "UPDATE memories SET retrieval_weight = $2, updated_at = now() WHERE id = ANY($1::uuid[])",
                still,
                policy.forgotten_weight,
            )
            forget.done = sorted(str(i) for i in still)
    results.append(forget)
    await ids_step(
        "delete_incident",
        """DELETE FROM security_incidents WHERE id = ANY($1::bigint[]) AND false_positive AND created_at < $2
           RETURNING id""",
        now - timedelta(days=policy.false_positive_incident_days or 0),
        cast=int,
    )
    await ids_step(
        "delete_interaction",
        "DELETE FROM interactions WHERE id = ANY($1::bigint[]) AND created_at < $2 RETURNING id",
        now - timedelta(days=policy.interaction_days or 0),
        cast=int,
    )
    results.append(await _delete_users(pool, plan, targets))
    return results


async def _drop_from_qdrant(pool: asyncpg.Pool, targets: Targets, ids: Sequence[UUID]) -> None:
    """Purged memories leave Qdrant too (their points normally went at soft-delete; this catches the rest)."""
    if not targets.qdrant_url:
        return
    from pydantic import SecretStr

    from gateway.config import QdrantSettings
    from gateway.integrations.qdrant import QdrantIndex, create_qdrant_client
    from gateway.memory.index import EmbeddingSpace, VectorIndexError

    rows = await pool.fetch(
        """SELECT user_id, embedding_model, embedding_dims, array_agg(id) AS ids FROM memories
           WHERE id = ANY($1::uuid[]) AND embedding_model IS NOT NULL GROUP BY 1, 2, 3""",
        list(ids),
    )
    settings = QdrantSettings(
        url=targets.qdrant_url,
        api_key=SecretStr(targets.qdrant_api_key or ""),
        _env_file=None,  # type: ignore[call-arg]
    )
    client = create_qdrant_client(settings)
    try:
        index = QdrantIndex(client)
        for row in rows:
            space = EmbeddingSpace(row["embedding_model"], row["embedding_dims"])
            try:
                await index.delete(space, row["user_id"], list(row["ids"]))
            except (
                VectorIndexError
            ) as exc:  # a search hit is re-read from Postgres: a stray point is harmless
                print(f"warning: qdrant delete skipped: {exc}", file=sys.stderr)
    finally:
        await client.close()


async def _delete_users(pool: asyncpg.Pool, plan: Plan, targets: Targets) -> Applied:
    step = Applied("delete_user")
    listed = [a.target for a in plan.of("delete_user")]
    if not listed:
        return step
    cutoff = plan.now - timedelta(days=plan.policy.inactive_user_days)
    still = {
        r["user_id"]
        for r in await pool.fetch(
            """SELECT user_id FROM user_profiles WHERE user_id = ANY($1::text[]) AND status = 'inactive'
               AND updated_at < $2 AND last_active_at < $2""",
            listed,
            cutoff,
        )
    }
    if not targets.gateway_url or not targets.admin_api_key:
        step.errors = [f"{u}: no gateway URL and admin key to delete through" for u in sorted(still)]
        return step
    headers = {"Authorization": f"Bearer {targets.admin_api_key}"}
    async with httpx.AsyncClient(
        base_url=targets.gateway_url.rstrip("/"), timeout=60, headers=headers
    ) as http:
        for user_id in sorted(still):
            try:
                response = await http.post(f"/api/admin/users/{user_id}/reset", json={"confirm": True})
            except httpx.HTTPError as exc:
                step.errors.append(f"{user_id}: gateway unreachable: {exc!r}")
                continue
            if response.status_code == 200:
                step.done.append(user_id)
            else:
                step.errors.append(
                    f"{user_id}: gateway answered HTTP {response.status_code}: {response.text[:200]}"
                )
    return step


TITLES = {
    "purge_memory": "delete for good: memories the user deleted more than {p.deleted_memory_days} days ago",
    "forget_memory": "lower the retrieval weight to {p.forgotten_weight} of consolidated episodic memories "
    "older than {p.forget_after_days} days, retention × importance < {p.forget_below}",
    "delete_incident": "delete false-positive security incidents older than {p.false_positive_incident_days} days",
    "delete_interaction": "delete interactions older than {p.interaction_days} days",
    "delete_user": "delete everywhere: users inactive (soft-deleted) for {p.inactive_user_days} days",
}
# The setting that switches each rule off when 0.
SWITCHES = {
    "purge_memory": "deleted_memory_days",
    "forget_memory": "forget_after_days",
    "delete_incident": "false_positive_incident_days",
    "delete_interaction": "interaction_days",
    "delete_user": "inactive_user_days",
}
SHOWN_PER_KIND = 20


def format_plan(plan: Plan, applied: Sequence[Applied] | None = None) -> str:
    head = "retention" + (" (applied)" if applied is not None else " plan (dry run: nothing changed)")
    lines = [f"{head} as of {plan.now:%Y-%m-%d %H:%M} UTC"]
    done = {step.kind: step for step in applied or []}
    for kind, title in TITLES.items():
        actions = plan.of(kind)
        summary = f"{len(actions)}"
        if kind in done:
            summary = f"{len(done[kind].done)} of {len(actions)}"
        switch = SWITCHES[kind]
        if not getattr(plan.policy, switch):
            lines.append(f"  {'off':>9}  {kind.replace('_', ' ')} (RETENTION_{switch.upper()}=0)")
            continue
        lines.append(f"  {summary:>9}  {title.format(p=plan.policy)}")
        for action in actions[:SHOWN_PER_KIND]:
            lines.append(f"             {action.target}  user {action.user_id}: {action.reason}")
        if len(actions) > SHOWN_PER_KIND:
            lines.append(f"             ... and {len(actions) - SHOWN_PER_KIND} more (--json lists all)")
        for error in done[kind].errors if kind in done else []:
            lines.append(f"             not done: {error}")
    if applied is None:
        lines.append("run again with --apply to do it" if plan.actions else "nothing to do")
    return "\n".join(lines)


def plan_json(plan: Plan, applied: Sequence[Applied] | None) -> str:
    return json.dumps(
        {
            "dry_run": applied is None,
            "now": plan.now.isoformat(),
            "policy": plan.policy.model_dump(),
            "actions": [asdict(a) for a in plan.actions],
            "applied": None if applied is None else [asdict(s) for s in applied],
        },
        indent=2,
    )


async def retention(
    targets: Targets, policy: RetentionSettings, *, apply: bool, now: datetime | None = None
) -> tuple[Plan, list[Applied] | None]:
    pool = await asyncpg.create_pool(targets.database_url, min_size=1, max_size=2)
    assert pool is not None
    try:
        plan = await build_plan(pool, policy, now or datetime.now(UTC))
        return plan, (await apply_plan(pool, plan, targets) if apply else None)
    finally:
        await pool.close()


def run_retention(env: Mapping[str, str], *, apply: bool, as_json: bool = False) -> int:
    try:
        policy = load_policy(env)
        targets = Targets.resolve(env)
        plan, applied = asyncio.run(retention(targets, policy, apply=apply))
    except RetentionError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except (TargetError, OSError, asyncpg.PostgresError) as exc:
        print(f"retention failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(plan_json(plan, applied) if as_json else format_plan(plan, applied))
    return 1 if applied and any(step.errors for step in applied) else 0
