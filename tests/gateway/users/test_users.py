"""Users through the API: settings, lifecycle, export of everything, deletion everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from gateway.redis import user_key
from gateway.users.repository import NOT_EXPORTED
from tests.gateway.chat.test_pipeline import new_user
from tests.gateway.conftest import service_auth

PER_USER_TABLES = (
    "user_profiles", "personality_state", "interactions", "quirks", "needs", "memories", "memory_words",
    "memory_conflicts", "security_incidents",
)  # fmt: skip


async def talk(client: httpx.AsyncClient, user_id: str, text: str) -> httpx.Response:
    return await client.post(
        f"/api/chat/{user_id}/messages", json={"message": text, "username": "carol"}, headers=service_auth()
    )


async def counts(database_url: str, user_id: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        return {
            table: int(await conn.fetchval(f"SELECT count(*) FROM {table} WHERE user_id = $1", user_id))  # noqa: S608
            for table in PER_USER_TABLES
        }
    finally:
        await conn.close()


async def test_settings_change_and_bad_values_are_named(client: httpx.AsyncClient) -> None:
    user = new_user()
    assert (
        await client.patch(f"/api/users/{user}", json={"timezone": "UTC"}, headers=service_auth())
    ).status_code == 404
    assert (await talk(client, user, "hello")).status_code == 200
    ok = await client.patch(
        f"/api/users/{user}",
        json={"timezone": "Europe/Paris", "proactive_enabled": False, "quiet_hours_start": 23},
        headers=service_auth(),
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert (body["timezone"], body["proactive_enabled"], body["quiet_hours_start"]) == (
        "Europe/Paris",
        False,
        23,
    )
    assert body["quiet_hours_end"] == 8  # untouched
    for bad in ({"timezone": "Mars/Olympus"}, {"quiet_hours_end": 24}, {"nickname": "x"}):
        response = await client.patch(f"/api/users/{user}", json=bad, headers=service_auth())
        assert response.status_code == 422, (bad, response.text)
    zone = await client.patch(f"/api/users/{user}", json={"timezone": "Mars/Olympus"}, headers=service_auth())
    assert "unknown IANA time zone" in zone.text


async def test_export_has_everything_and_delete_removes_it_everywhere(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    user, other = new_user(), new_user()
    for who in (user, other):
        assert (await talk(client, who, "I got a new puppy today!")).status_code == 200
        assert (await talk(client, who, "His name is Sparky")).status_code == 200
    context = app.state.services
    await context.redis.set(user_key(user, "probe"), "1")

    export = await client.get(f"/api/users/{user}/export", headers=service_auth())
    assert export.status_code == 200, export.text
    data = export.json()
    assert data["profile"]["user_id"] == user
    assert [i["user_message"] for i in data["interactions"]] == [
        "I got a new puppy today!",
        "His name is Sparky",
    ]
    assert {m["content"] for m in data["memories"]} >= {"I got a new puppy today!", "His name is Sparky"}
    assert data["personality_states"] and len(data["needs"]) == 5
    assert all(m["user_id"] == user for m in data["memories"])

    deleted = await client.delete(f"/api/users/{user}", headers=service_auth())
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["removed"][:1] == ["postgres"] and deleted.json()["pending"] == []
    assert all(n == 0 for n in (await counts(database_url, user)).values())
    assert await context.redis.exists(user_key(user, "probe")) == 0
    assert (await client.get(f"/api/users/{user}", headers=service_auth())).status_code == 404
    assert (await client.delete(f"/api/users/{user}", headers=service_auth())).status_code == 404
    # The other user is untouched.
    left = await counts(database_url, other)
    assert left["interactions"] == 2 and left["memories"] >= 2


async def test_a_banned_user_is_refused_and_a_dormant_one_wakes_up(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    user = new_user()
    assert (await talk(client, user, "hello")).status_code == 200
    pool = app.state.services.pool
    await pool.execute(
        "UPDATE user_profiles SET last_active_at = $2 WHERE user_id = $1",
        user,
        datetime.now(UTC) - timedelta(days=31),
    )
    assert await app.state.services.users.mark_dormant(datetime.now(UTC)) >= 1
    assert (await client.get(f"/api/users/{user}", headers=service_auth())).json()["status"] == "dormant"
    assert (await talk(client, user, "I'm back")).status_code == 200
    assert (await client.get(f"/api/users/{user}", headers=service_auth())).json()["status"] == "active"
    await pool.execute("UPDATE user_profiles SET status = 'banned' WHERE user_id = $1", user)
    refused = await talk(client, user, "let me in")
    assert refused.status_code == 403
    assert refused.json()["error"] == "UserBannedError"


@pytest.mark.parametrize("path", ["/api/users/{u}", "/api/users/{u}/export"])
async def test_unknown_users_are_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path.format(u=new_user()), headers=service_auth())
    assert response.status_code == 404


async def test_export_covers_every_table_that_holds_the_user(
    client: httpx.AsyncClient, database_url: str
) -> None:
    """Every table with a user_id column (read from the live schema, so a new table is caught) is in the
    export, unless it is the gateway's own bookkeeping (NOT_EXPORTED)."""
    user = new_user()
    assert (await talk(client, user, "hello there")).status_code == 200
    conn = await asyncpg.connect(database_url)
    try:
        tables = {
            row["table_name"]
            for row in await conn.fetch(
                "SELECT table_name FROM information_schema.columns"
                " WHERE column_name = 'user_id' AND table_schema = current_schema()"
            )
        }
    finally:
        await conn.close()
    export = (await client.get(f"/api/users/{user}/export", headers=service_auth())).json()
    exported = {EXPORTED_AS.get(table, table) for table in tables - NOT_EXPORTED}
    assert exported - set(export) == set()


# Tables whose export key differs from the table name.
EXPORTED_AS = {
    "user_profiles": "profile",
    "personality_state": "personality_states",
    "security_user_state": "security_state",
    "memory_conflicts": "memory_conflicts",
}
