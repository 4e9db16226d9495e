"""The admin API: stats with real counts, users (list, one), reset with confirmation."""

from __future__ import annotations

import httpx

from tests.gateway.conftest import admin_auth, service_auth


async def talk(client: httpx.AsyncClient, user_id: str, text: str) -> None:
    response = await client.post(
        f"/api/chat/{user_id}/messages", json={"message": text, "username": "zoe"}, headers=service_auth()
    )
    assert response.status_code == 200


async def test_stats_count_users_and_interactions(client: httpx.AsyncClient, user_id: str) -> None:
    """A new user's messages show up in the totals."""
    before = (await client.get("/api/admin/stats", headers=admin_auth())).json()
    await talk(client, user_id, "I like tea and long walks.")
    await talk(client, user_id, "Tomorrow I start a new job.")
    after = (await client.get("/api/admin/stats", headers=admin_auth())).json()
    assert after["users_total"] == before["users_total"] + 1
    assert after["interactions"]["total"] == before["interactions"]["total"] + 2
    assert after["interactions"]["last_24h"] >= 2
    assert set(after["users_by_status"]) == {"active", "dormant", "inactive", "banned"}
    assert (await client.get("/api/admin/stats", headers=service_auth())).status_code == 401


async def test_users_list_filters_and_detail(client: httpx.AsyncClient, user_id: str) -> None:
    """The list filters by status and pages; one user has counts and mood."""
    await talk(client, user_id, "My cat is called Miso.")
    listed = (await client.get("/api/admin/users?status=active&limit=500", headers=admin_auth())).json()
    assert user_id in {item["user_id"] for item in listed["items"]}
    assert all(item["status"] == "active" for item in listed["items"])
    banned = (await client.get("/api/admin/users?status=banned", headers=admin_auth())).json()
    assert user_id not in {item["user_id"] for item in banned["items"]}
    detail = (await client.get(f"/api/admin/users/{user_id}", headers=admin_auth())).json()
    assert detail["profile"]["user_id"] == user_id
    assert detail["counts"]["interactions"] == 1 and detail["counts"]["interactions_today"] == 1
    assert detail["emotion_label"] and detail["security"]["level"] == 0
    assert (await client.get("/api/admin/users/999999999", headers=admin_auth())).status_code == 404


async def test_reset_needs_confirmation_then_deletes_everything(
    client: httpx.AsyncClient, user_id: str
) -> None:
    """Without confirm: 400 and nothing happens; with it the user is gone everywhere."""
    await talk(client, user_id, "Remember that I love jazz.")
    refused = await client.post(
        f"/api/admin/users/{user_id}/reset", json={"confirm": False}, headers=admin_auth()
    )
    assert refused.status_code == 400
    assert (await client.get(f"/api/users/{user_id}", headers=service_auth())).status_code == 200
    done = await client.post(
        f"/api/admin/users/{user_id}/reset", json={"confirm": True}, headers=admin_auth()
    )
    assert done.status_code == 200 and "postgres" in done.json()["removed"]
    assert (await client.get(f"/api/users/{user_id}", headers=service_auth())).status_code == 404
    missing = await client.post(
        f"/api/admin/users/{user_id}/reset", json={"confirm": True}, headers=admin_auth()
    )
    assert missing.status_code == 404


async def test_interactions_of_a_user_newest_first_with_paging(
    client: httpx.AsyncClient, user_id: str
) -> None:
    for text in ("first thing", "second thing", "third thing"):
        await talk(client, user_id, text)
    page = await client.get(f"/api/admin/users/{user_id}/interactions?days=1&limit=2", headers=admin_auth())
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["total"] == 3 and [i["user_message"] for i in body["items"]] == [
        "third thing",
        "second thing",
    ]
    assert body["items"][0]["runtime"] == "template" and body["items"][0]["pad_after"] is not None
    rest = await client.get(
        f"/api/admin/users/{user_id}/interactions?days=1&limit=2&offset=2", headers=admin_auth()
    )
    assert [i["user_message"] for i in rest.json()["items"]] == ["first thing"]
    assert (
        await client.get(f"/api/admin/users/{user_id}/interactions", headers=service_auth())
    ).status_code == 401
    assert (await client.get("/api/admin/users/404404/interactions", headers=admin_auth())).status_code == 404
    assert (
        await client.get(f"/api/admin/users/{user_id}/interactions?days=400", headers=admin_auth())
    ).status_code == 422
