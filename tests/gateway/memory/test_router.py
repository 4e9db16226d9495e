"""The memory API: scoping, validation and the shapes a bot or operator sees."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.conftest import asgi_client, gateway_settings, running_app, service_auth
from tests.gateway.memory.service_fixtures import add_user


@pytest.fixture
async def alice(app, user_id: str) -> str:  # type: ignore[no-untyped-def]
    await add_user(app.state.services.pool, user_id, "alice")
    return user_id


@pytest.fixture
async def bob(app, user_id: str) -> str:  # type: ignore[no-untyped-def]
    other = user_id + "2"
    await add_user(app.state.services.pool, other, "bob")
    return other


async def remember(client: httpx.AsyncClient, user: str, content: str) -> dict:  # type: ignore[type-arg]
    response = await client.post(
        f"/api/memory/{user}/memories", json={"content": content}, headers=service_auth()
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_remember_then_search(client: httpx.AsyncClient, alice: str) -> None:
    """A memory kept through the API is found by search with its score components and reason."""
    kept = await remember(client, alice, "My sister Ana lives in Lisbon and teaches maths")
    response = await client.post(
        f"/api/memory/{alice}/search",
        json={"query": "where does my sister live?", "k": 5},
        headers=service_auth(),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["degraded"] == []
    top = body["results"][0]
    assert top["memory"]["id"] == kept["id"]
    assert set(top["components"]) == {
        "similarity",
        "lexical",
        "relevance",
        "importance",
        "retention",
        "score",
        "mmr",
    }
    assert top["reason"]


async def test_lists_get_delete(client: httpx.AsyncClient, alice: str) -> None:
    """Episodic list pages newest first; get returns one; delete answers 204 and then 404."""
    first = await remember(client, alice, "first thing")
    second = await remember(client, alice, "second thing")
    page = (await client.get(f"/api/memory/{alice}/episodic?limit=1", headers=service_auth())).json()
    assert page["total"] == 2
    assert [m["id"] for m in page["items"]] == [second["id"]]
    one = await client.get(f"/api/memory/{alice}/memories/{first['id']}", headers=service_auth())
    assert one.json()["content"] == "first thing"
    assert (
        await client.delete(f"/api/memory/{alice}/memories/{first['id']}", headers=service_auth())
    ).status_code == 204
    gone = await client.get(f"/api/memory/{alice}/memories/{first['id']}", headers=service_auth())
    assert gone.status_code == 404
    semantic = (await client.get(f"/api/memory/{alice}/semantic", headers=service_auth())).json()
    assert semantic["items"] == []


async def test_another_users_memory_is_404_without_content(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    """Bob asking for Alice's memory id gets 404 with nothing of hers in the body; deleting it fails too."""
    kept = await remember(client, alice, "Alice's diary: I am afraid of the dark")
    for method in ("GET", "DELETE"):
        response = await client.request(
            method, f"/api/memory/{bob}/memories/{kept['id']}", headers=service_auth()
        )
        assert response.status_code == 404
        assert "afraid" not in response.text
    assert (
        await client.get(f"/api/memory/{alice}/memories/{kept['id']}", headers=service_auth())
    ).status_code == 200


async def test_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    """Memory routes for a user the companion has never met answer 404."""
    response = await client.post("/api/memory/999000111/search", json={"query": "hi"}, headers=service_auth())
    assert response.status_code == 404
    assert response.json()["error"] == "UserNotFoundError"


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "x" * 10_000},
        {"query": "hi", "k": 0},
        {"query": "hi", "k": 51},
        {"query": "hi", "memory_types": ["dreams"]},
        {"query": "hi", "mmr_lambda": 1.5},
        {"query": "hi", "min_importance": -0.1},
    ],
)
async def test_bad_search_input_is_422(client: httpx.AsyncClient, alice: str, body: dict) -> None:  # type: ignore[type-arg]
    """Empty or huge queries, k out of range, unknown types and bad numbers are refused with a message."""
    response = await client.post(f"/api/memory/{alice}/search", json=body, headers=service_auth())
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_non_uuid_memory_id_is_422(client: httpx.AsyncClient, alice: str) -> None:
    """A memory id that is not a UUID is a validation error naming the field."""
    response = await client.get(f"/api/memory/{alice}/memories/not-a-uuid", headers=service_auth())
    assert response.status_code == 422
    assert "memory_id" in response.text


async def test_blank_memory_is_422(client: httpx.AsyncClient, alice: str) -> None:
    """Blank content cannot become a memory."""
    response = await client.post(
        f"/api/memory/{alice}/memories", json={"content": "  "}, headers=service_auth()
    )
    assert response.status_code == 422


@pytest.mark.parametrize("now", ["2024-01-01T00:00:00", "2024-01-01 00:00"])
async def test_search_with_a_naive_now_is_422(client: httpx.AsyncClient, alice: str, now: str) -> None:
    """A ``now`` without a time zone is refused (it was a 500, comparing naive and aware datetimes)."""
    response = await client.post(
        f"/api/memory/{alice}/search", json={"query": "hi", "now": now}, headers=service_auth()
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "ValidationError"
    assert body["errors"][0]["loc"] == ["body", "now"]
    assert body["errors"][0]["type"] == "timezone_aware"


async def test_search_with_an_aware_now_scores_as_of_then(client: httpx.AsyncClient, alice: str) -> None:
    """A ``now`` with an offset is accepted."""
    await remember(client, alice, "I keep bees on the roof")
    response = await client.post(
        f"/api/memory/{alice}/search",
        json={"query": "bees", "now": "2099-01-01T00:00:00+02:00"},
        headers=service_auth(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"]


@pytest.mark.parametrize("escaped", ["before\\u0000after", "lone \\ud800 surrogate"])
async def test_unstorable_memory_content_is_422_and_nothing_is_kept(
    client: httpx.AsyncClient, alice: str, escaped: str
) -> None:
    """NUL or a lone surrogate in content is refused, never stored rewritten (as U+FFFD or "?")."""
    response = await client.post(
        f"/api/memory/{alice}/memories",
        content=f'{{"content": "{escaped}"}}',
        headers={**service_auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "content"]
    listed = await client.get(f"/api/memory/{alice}/episodic", headers=service_auth())
    assert listed.json()["total"] == 0


async def test_export_and_conflicts(client: httpx.AsyncClient, alice: str) -> None:
    """Export lists the user's memories; consolidate and conflicts answer for a user with little history."""
    kept = await remember(client, alice, "I collect vintage postcards")
    export = (await client.get(f"/api/memory/{alice}/export", headers=service_auth())).json()
    assert [m["id"] for m in export["memories"]] == [kept["id"]]
    consolidated = await client.post(f"/api/memory/{alice}/consolidate", headers=service_auth())
    assert consolidated.json()["semantic_memories_created"] == 0
    conflicts = await client.get(f"/api/memory/{alice}/conflicts?status=pending", headers=service_auth())
    assert conflicts.json() == []
    bad = await client.get(f"/api/memory/{alice}/conflicts?status=maybe", headers=service_auth())
    assert bad.status_code == 422
    missing = await client.post(
        f"/api/memory/{alice}/conflicts/12345/resolve", json={"action": "ignore"}, headers=service_auth()
    )
    assert missing.status_code == 404


async def test_memory_routes_need_the_service_token(client: httpx.AsyncClient, alice: str) -> None:
    """Without the bearer token every memory route is 401."""
    assert (await client.get(f"/api/memory/{alice}/export")).status_code == 401


async def test_a_memory_stored_through_one_gateway_is_matched_by_its_words_on_the_other(
    database_url: str, redis_url: str, embedding_service_url: str, user_id: str
) -> None:
    """Two replicas: one has just cached the user's word statistics; a memory stored through the other is then
    recalled by the first with its full-text match, not ranked as if its words were unknown."""
    settings = gateway_settings(database_url, redis_url, embedding_service_url)
    async with (
        running_app(settings) as first,
        running_app(settings) as second,
        asgi_client(first) as http_first,
        asgi_client(second) as http_second,
    ):
        await add_user(first.state.services.pool, user_id, "alice")
        for content in FILLER:  # a corpus past the size whose every write resets the statistics anyway
            await remember(http_first, user_id, content)

        async def search_second() -> list[dict]:  # type: ignore[type-arg]
            response = await http_second.post(
                f"/api/memory/{user_id}/search",
                json={"query": "zanzibar ferry", "k": 5},
                headers=service_auth(),
            )
            assert response.status_code == 200, response.text
            return response.json()["results"]  # type: ignore[no-any-return]

        assert all(
            r["components"]["lexical"] == 0 for r in await search_second()
        )  # cached: the words are unknown
        kept = await remember(http_first, user_id, "We took the night ferry to Zanzibar in June")
        found = {r["memory"]["id"]: r["components"] for r in await search_second()}
    assert kept["id"] in found and found[kept["id"]]["lexical"] > 0, found


FILLER = [
    f"Note {n}: {topic}"
    for n, topic in enumerate(
        [
            "I started a pottery class on Tuesdays",
            "My brother fixed the bike chain again",
            "We watched a documentary about octopuses",
            "The landlord finally repaired the heating",
            "I tried baking sourdough and it was flat",
            "Work has been busy with the quarterly report",
            "My cat knocked a plant off the shelf",
            "I want to learn to play the ukulele",
            "We had a picnic by the river on Sunday",
            "My friend moved to another city for a new job",
            "I finished reading a long fantasy novel",
            "The garden tomatoes are finally ripe",
        ]
    )
]
