"""User flows through the real bot under simcord (tests/discord_bot/sim/conftest.py), the real gateway behind
it: what a user does in Discord and what they see."""

from __future__ import annotations

import asyncio

import httpx
import simcord

from discord_bot import text
from discord_bot.gateway_client import UserNotStarted
from tests.gateway.conftest import service_auth

COMMANDS = {
    "companion init", "companion timezone", "companion chat", "companion status", "companion proactive",
    "companion quiet-hours",
    "companion export", "companion reset", "memories search", "memories recent", "memories forget",
    "personality current", "personality history", "personality quirks", "personality needs",
    "admin stats", "admin incidents", "admin reset-user",
}  # fmt: skip


def buttons(message: simcord.ResponseMessage) -> dict[str, bool]:
    """The message's buttons: custom id -> whether the user can press it."""
    return {
        button["custom_id"]: not button.get("disabled", False)
        for row in message.components
        for button in row["components"]
    }


async def episodic_total(gateway_url: str, user_id: int, *, at_least: int) -> int:
    """The gateway writes a turn's memories after its reply (outside simcord's view): wait for them."""
    async with httpx.AsyncClient(base_url=gateway_url, headers=service_auth()) as http:
        for _ in range(200):
            response = await http.get(f"/api/memory/{user_id}/episodic", params={"limit": 1})
            total = int(response.json()["total"]) if response.status_code == 200 else 0
            if total >= at_least:
                return total
            await asyncio.sleep(0.05)
    raise AssertionError(f"the gateway holds {total} episodic memories, expected {at_least}")


async def test_every_command_is_synced(sim: simcord.Env) -> None:
    """The bot's setup_hook syncs all 18 slash commands, and a user sees them in a DM."""
    assert set(sim.create_user("zed").available_commands()) == COMMANDS


async def test_a_dm_hi_gets_a_reply(sim: simcord.Env) -> None:
    """A user DMs "hi" and the companion answers in the DM."""
    ana = sim.create_user("ana")
    await ana.send_dm("hi")
    reply = ana.dm_channel.last_message
    assert reply is not None and sim.bot.user is not None
    assert reply.author.id == sim.bot.user.id
    assert reply.content and reply.content != text.GATEWAY_DOWN


async def test_companion_init_in_a_guild(sim: simcord.Env) -> None:
    """/companion init in a server channel creates the companion and answers only the user."""
    guild = sim.create_guild("club")
    channel = guild.create_text_channel("general")
    ben = guild.add_member(sim.create_user("ben"))
    result = await ben.slash(channel, "companion init", profile="supportive_friend", timezone="Europe/Paris")
    assert result.ephemeral and result.response is not None
    [embed] = result.response.embeds
    assert embed.title == "Nice to meet you!"
    fields = {field.name: field.value for field in embed.fields}
    assert fields["Personality"] == "Supportive Friend" and fields["Time zone"] == "Europe/Paris"


async def test_companion_status_after_a_chat(sim: simcord.Env) -> None:
    """/companion status shows the user's settings, count and mood, ephemerally."""
    cleo = sim.create_user("cleo")
    await cleo.send_dm("Hi! I just adopted a puppy called Biscuit.")
    result = await cleo.slash("companion status")
    assert result.ephemeral and result.response is not None
    [embed] = result.response.embeds
    fields = {field.name: field.value for field in embed.fields}
    assert embed.title == "Your companion, cleo"
    assert fields["Messages"] == "1" and fields["Time zone"] == "UTC"
    assert any(name.startswith("Mood: ") for name in fields)


async def test_an_error_reply_is_ephemeral(sim: simcord.Env) -> None:
    """/companion status from someone never met: the gateway's 404 becomes an ephemeral invitation."""
    dee = sim.create_user("dee")
    result = await dee.slash("companion status")
    assert result.ephemeral and result.response is not None
    assert result.response.content == text.NOT_STARTED
    [error] = sim.errors  # the tree's error handler saw it (and answered)
    assert isinstance(getattr(error, "original", error), UserNotStarted)


async def test_memories_recent_pages_with_the_next_button(sim: simcord.Env, gateway_url: str) -> None:
    """/memories recent shows page 1 of the user's memories; ▶ moves the same message to page 2."""
    eve = sim.create_user("eve")
    for line in ("my sister Lena lives in Lyon", "I play the cello on Sundays", "work is stressful lately",
                 "Biscuit chewed my shoes", "I want to learn Japanese", "pizza is my favourite food"):  # fmt: skip
        await eve.send_dm(line)
    await episodic_total(gateway_url, eve.id, at_least=6)
    result = await eve.slash("memories recent")
    assert result.ephemeral and result.response is not None
    first = result.response.embeds[0]
    assert first.footer.text is not None and first.footer.text.startswith("page 1/")
    assert buttons(result.response) == {"pager:previous": False, "pager:next": True}
    await eve.click(result.response, custom_id="pager:next")
    second = result.response.embeds[0]
    assert second.footer.text is not None and second.footer.text.startswith("page 2/")
    assert second.description != first.description
    assert buttons(result.response)["pager:previous"]


async def test_memories_forget_autocompletes_then_forgets(sim: simcord.Env, gateway_url: str) -> None:
    """Typing in /memories forget's option offers the user's matching memories; picking one forgets it."""
    finn = sim.create_user("finn")
    await finn.send_dm("I play the cello on Sundays")
    await finn.send_dm("pizza is my favourite food")
    await episodic_total(gateway_url, finn.id, at_least=2)
    choices = await finn.autocomplete("memories forget", "memory", "cello")
    assert choices and all("cello" in choice["name"] for choice in choices)
    result = await finn.slash("memories forget", memory=choices[0]["value"])
    assert result.ephemeral and result.response is not None
    assert result.response.content.startswith("Forgotten")
    assert await finn.autocomplete("memories forget", "memory", "cello") == []


async def test_companion_reset_deletes_after_the_confirm_button(sim: simcord.Env, gateway_url: str) -> None:
    """/companion reset asks first; Confirm deletes the user in the gateway and says so."""
    gus = sim.create_user("gus")
    await gus.send_dm("hello there")
    result = await gus.slash("companion reset")
    assert result.ephemeral and result.response is not None
    assert "can't be undone" in result.response.content
    await gus.click(result.response, custom_id="confirm:yes")
    assert result.response.content.startswith("Done.")
    assert result.response.components == []
    async with httpx.AsyncClient(base_url=gateway_url, headers=service_auth()) as http:
        assert (await http.get(f"/api/users/{gus.id}")).status_code == 404


async def test_an_expired_reset_prompt_offers_no_dead_button(sim: simcord.Env, gateway_url: str) -> None:
    """Two minutes on, the reset prompt's Confirm can no longer be pressed, and nothing was deleted."""
    hal = sim.create_user("hal")
    await hal.send_dm("hello there")
    result = await hal.slash("companion reset")
    assert result.response is not None and buttons(result.response)["confirm:yes"]
    await sim.advance_time(121)
    assert not buttons(result.response).get("confirm:yes", False)
    async with httpx.AsyncClient(base_url=gateway_url, headers=service_auth()) as http:
        assert (await http.get(f"/api/users/{hal.id}")).status_code == 200
