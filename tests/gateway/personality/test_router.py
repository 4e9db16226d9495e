"""The personality API: shapes, scoping, auth, and 422s that name the broken rule."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.personality.profiles import PersonalityProfile, traits_for
from tests.gateway.conftest import admin_auth, service_auth


async def initialise(client: httpx.AsyncClient, user: str, **body: object) -> httpx.Response:
    return await client.post(f"/api/personality/{user}/initialize", json=body, headers=service_auth())


async def test_initialise_then_read_the_snapshot(client: httpx.AsyncClient, user_id: str) -> None:
    """Initialising creates the user and the personality; the snapshot shows traits, mood and label."""
    response = await initialise(
        client, user_id, profile="intellectual_mentor", timezone="Europe/Berlin", username="max"
    )
    assert response.status_code == 201, response.text
    assert response.json()["personality"]["profile"] == "intellectual_mentor"
    snapshot = (await client.get(f"/api/personality/{user_id}/current", headers=service_auth())).json()
    assert set(snapshot["big_five"]) == {
        "openness",
        "conscientiousness",
        "extraversion",
        "agreeableness",
        "neuroticism",
    }
    assert snapshot["pad_state"] == {"pleasure": 0.0, "arousal": 0.0, "dominance": 0.0}
    assert snapshot["emotion_label"] == "neutral"
    assert snapshot["is_current"] is True
    user = (await client.get(f"/api/users/{user_id}", headers=service_auth())).json()
    assert user["timezone"] == "Europe/Berlin"


async def say(client: httpx.AsyncClient, user: str, message: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/chat/{user}/messages", json={"message": message, "username": "ana"}, headers=service_auth()
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_someone_who_said_hi_first_may_still_choose_the_profile_and_time_zone(
    client: httpx.AsyncClient, user_id: str
) -> None:
    """ "hi" creates a default companion in UTC and says so once; initialising next chooses its profile (the
    profile's traits) and the time zone quiet hours and proactive timing then use."""
    first, second = await say(client, user_id, "hi"), await say(client, user_id, "how are you?")
    assert (first.get("first_contact"), second.get("first_contact")) == (True, False)
    response = await initialise(client, user_id, profile="supportive_friend", timezone="Europe/Paris")
    assert response.status_code == 201, response.text
    assert response.json()["timezone"] == "Europe/Paris"
    current = (await client.get(f"/api/personality/{user_id}/current", headers=service_auth())).json()
    assert current["profile"] == "supportive_friend"
    assert current["big_five"] == traits_for(PersonalityProfile.SUPPORTIVE_FRIEND, user_id).as_dict()
    user = (await client.get(f"/api/users/{user_id}", headers=service_auth())).json()
    assert (user["personality_profile"], user["timezone"]) == ("supportive_friend", "Europe/Paris")
    proactive = (await client.get(f"/api/proactive/{user_id}/status", headers=service_auth())).json()
    assert proactive["timezone"] == "Europe/Paris"
    again = await initialise(client, user_id, profile="supportive_friend")
    assert again.json()["timezone"] == "Europe/Paris"  # no time zone given: the stored one stays


async def test_after_five_messages_the_personality_is_settled(
    client: httpx.AsyncClient, user_id: str
) -> None:
    """Once the companion has answered five messages, initialising is a 409 that names no id, and the
    traits stay."""
    for message in ("hi", "I like tea", "and trains", "what about you?", "see you"):
        await say(client, user_id, message)
    before = (await client.get(f"/api/personality/{user_id}/current", headers=service_auth())).json()
    again = await initialise(client, user_id, profile="supportive_friend", timezone="Europe/Paris")
    assert again.status_code == 409
    assert again.json()["error"] == "PersonalityAlreadyInitializedError"
    assert user_id not in again.json()["detail"]
    current = (await client.get(f"/api/personality/{user_id}/current", headers=service_auth())).json()
    assert (current["profile"], current["big_five"]) == ("curious_companion", before["big_five"])
    user = (await client.get(f"/api/users/{user_id}", headers=service_auth())).json()
    assert user["timezone"] == "UTC"


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({"profile": "grumpy_cat"}, "curious_companion"),
        (
            {
                "traits": {
                    "openness": 1.2,
                    "conscientiousness": 0.5,
                    "extraversion": 0.5,
                    "agreeableness": 0.5,
                    "neuroticism": 0.5,
                }
            },
            "less than or equal to 1",
        ),
        (
            {
                "traits": {
                    "openness": -0.1,
                    "conscientiousness": 0.5,
                    "extraversion": 0.5,
                    "agreeableness": 0.5,
                    "neuroticism": 0.5,
                }
            },
            "greater than or equal to 0",
        ),
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone"),
    ],
)
async def test_bad_initialise_input_names_the_rule(
    client: httpx.AsyncClient, user_id: str, body: dict[str, object], rule: str
) -> None:
    response = await initialise(client, user_id, **body)
    assert response.status_code == 422
    assert rule in response.text


async def test_admin_adjusts_the_mood_with_a_reason(client: httpx.AsyncClient, user_id: str) -> None:
    """The admin key moves the mood (clamped) and the reason appears in the history."""
    await initialise(client, user_id)
    response = await client.post(
        f"/api/personality/{user_id}/pad/adjust",
        json={"pleasure": 1.5, "arousal": -0.2, "reason": "testing the dial"},
        headers=admin_auth(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["new_pad_state"] == {"pleasure": 1.0, "arousal": -0.2, "dominance": 0.0}
    assert body["emotion_label"] != "neutral"
    history = (await client.get(f"/api/personality/{user_id}/history?days=1", headers=service_auth())).json()
    assert history["total"] == 2
    assert history["items"][0]["reason"] == "admin: testing the dial"
    assert history["items"][0]["pad_state"]["pleasure"] == 1.0


async def test_adjustment_needs_the_admin_key(client: httpx.AsyncClient, user_id: str) -> None:
    """The bot's service token is not enough to set the mood by hand."""
    await initialise(client, user_id)
    response = await client.post(
        f"/api/personality/{user_id}/pad/adjust",
        json={"pleasure": 0.1, "reason": "x"},
        headers=service_auth(),
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({"pleasure": 2.5, "reason": "too much"}, "less than or equal to 2"),
        ({"dominance": -2.01, "reason": "too little"}, "greater than or equal to -2"),
        ({"pleasure": 0.1, "reason": "x" * 501}, "at most 500 characters"),
        ({"pleasure": 0.1}, "reason"),
    ],
)
async def test_bad_adjustments_name_the_rule(
    client: httpx.AsyncClient, user_id: str, body: dict[str, object], rule: str
) -> None:
    await initialise(client, user_id)
    response = await client.post(f"/api/personality/{user_id}/pad/adjust", json=body, headers=admin_auth())
    assert response.status_code == 422
    assert rule in response.text


async def test_history_over_a_year_is_refused(client: httpx.AsyncClient, user_id: str) -> None:
    await initialise(client, user_id)
    response = await client.get(f"/api/personality/{user_id}/history?days=366", headers=service_auth())
    assert response.status_code == 422
    assert "less than or equal to 365" in response.text


async def test_needs_quirks_persona_and_evolve(client: httpx.AsyncClient, user_id: str) -> None:
    """The read endpoints answer for a fresh companion; evolve reports quirks and a skipped drift."""
    await initialise(client, user_id)
    needs = (await client.get(f"/api/personality/{user_id}/needs", headers=service_auth())).json()
    assert {n["need_type"] for n in needs} == {"social", "intellectual", "creative", "rest", "validation"}
    assert all(0.5 <= n["current_level"] < 0.51 and n["urgent"] is False for n in needs)
    assert (await client.get(f"/api/personality/{user_id}/quirks", headers=service_auth())).json() == []
    persona = (await client.get(f"/api/personality/{user_id}/persona", headers=service_auth())).json()
    assert "Big Five" in persona["text"]
    evolved = (await client.post(f"/api/personality/{user_id}/evolve", headers=service_auth())).json()
    assert evolved["success"] is True
    assert evolved["drift"]["applied"] is False and evolved["drift"]["interactions"] == 0
    assert evolved["quirks"]["replies_read"] == 0


async def test_unknown_users_are_404(client: httpx.AsyncClient, user_id: str) -> None:
    for path in ("current", "history", "needs", "quirks", "persona"):
        response = await client.get(f"/api/personality/{user_id}/{path}", headers=service_auth())
        assert response.status_code == 404, path


async def test_user_without_personality_is_404(client: httpx.AsyncClient, app, user_id: str) -> None:  # type: ignore[no-untyped-def]
    await app.state.services.pool.execute(
        "INSERT INTO user_profiles (user_id, username) VALUES ($1, 'x')", user_id
    )
    response = await client.get(f"/api/personality/{user_id}/current", headers=service_auth())
    assert response.status_code == 404
    assert response.json()["error"] == "PersonalityNotInitializedError"


async def test_user_routes_need_the_service_token(client: httpx.AsyncClient, user_id: str) -> None:
    response = await client.get(f"/api/personality/{user_id}/current")
    assert response.status_code == 401
