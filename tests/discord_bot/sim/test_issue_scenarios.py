"""Every user-facing scenario of issue "[3/7] Discord", one test each, at the simcord tier
(tests/discord_bot/sim/conftest.py): what a user types or clicks in Discord, and what they see. The same
behaviours are tested at the wire tier in tests/discord_bot/test_bot.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import asyncpg
import discord
import pytest
import simcord
from pydantic import SecretStr

from discord_bot import text
from discord_bot.bot import CompanionBot
from discord_bot.gateway_client import GatewayNotFound, GatewayRejected, UserBanned
from discord_bot.views import EXPIRED, PAGER_TIMEOUT_SECONDS
from gateway.app import create_app
from gateway.config import AuthSettings, ChatLLMSettings
from scripts.localstack import free_port
from tests.discord_bot.conftest import PUSH_TOKEN, bot_settings
from tests.discord_bot.sim.test_flows import COMMANDS, buttons, episodic_total
from tests.fakes.openai_server import FakeOpenAIServer
from tests.gateway.conftest import ADMIN_KEY, SERVICE_TOKEN, gateway_settings
from tests.servers import ThreadedServer

CHAT_MODEL = "companion-primary"
ADMIN_COMMANDS = {name for name in COMMANDS if name.startswith("admin ")}


def fields_of(message: simcord.ResponseMessage | discord.Message) -> dict[str, str]:
    [embed] = message.embeds
    return {str(field.name): str(field.value) for field in embed.fields}


def bot_messages(sim: simcord.Env, channel: simcord.ChannelHandle) -> list[discord.Message]:
    """The bot's messages in ``channel``, oldest first."""
    assert sim.bot.user is not None
    return [message for message in channel.history() if message.author.id == sim.bot.user.id]


async def dm(sim: simcord.Env, user: simcord.UserHandle, content: str) -> list[discord.Message]:
    """``user`` DMs ``content``; the bot's messages that answer it."""
    before = len(bot_messages(sim, user.dm_channel))
    await user.send_dm(content)
    replies = bot_messages(sim, user.dm_channel)[before:]
    assert replies, f"no reply to {content!r}"
    return replies


# --- 1. replies arrive as written, long ones in several DMs --------------------------------------------


@pytest.fixture(scope="module")
def scripted_gateway_url(
    database_url: str, redis_url: str, embedding_service_url: str, openai_fake_server: FakeOpenAIServer
) -> Iterator[str]:
    """A second gateway whose chat LLM is the fake OpenAI server: a test scripts the companion's words."""
    chat_llm = ChatLLMSettings(  # type: ignore[call-arg]
        llm_base_url=openai_fake_server.base_url, primary_llm_model=CHAT_MODEL, _env_file=None
    )
    auth = AuthSettings(
        gateway_service_token=SecretStr(SERVICE_TOKEN),
        admin_api_key=SecretStr(ADMIN_KEY),
        bot_push_token=SecretStr(PUSH_TOKEN),
        _env_file=None,  # type: ignore[call-arg]
    )
    settings = gateway_settings(database_url, redis_url, embedding_service_url, auth=auth, chat_llm=chat_llm)
    with ThreadedServer(create_app(settings), name="gateway-with-scripted-llm") as gateway:
        yield gateway.base_url


class TestScriptedReplies:
    """The bot under simcord in front of the scripted gateway."""

    @pytest.fixture
    def simcord_bot(self, scripted_gateway_url: str) -> CompanionBot:
        return CompanionBot(bot_settings(scripted_gateway_url, free_port()))

    async def test_a_reply_with_quotes_brackets_and_a_list_arrives_byte_for_byte(
        self, sim: simcord.Env, openai_fake: FakeOpenAIServer
    ) -> None:
        """The companion's quotes, brackets, line breaks and list reach the user's DM exactly as written."""
        reply = (
            'You told me: "Sparky chewed my shoe!" That made me laugh. (Puppies do that.) Try this:\n'
            "- a chew toy.\n- a firm no."
        )
        openai_fake.reply_for_model(CHAT_MODEL, reply)
        sky = sim.create_user("sky")
        await dm(sim, sky, "hi")  # first contact: that reply carries the welcome note
        [message] = await dm(sim, sky, "My puppy Sparky chewed my shoe!")
        assert message.content == reply

    async def test_a_long_reply_arrives_as_several_dms_cut_between_paragraphs(
        self, sim: simcord.Env, openai_fake: FakeOpenAIServer
    ) -> None:
        """A reply longer than one Discord message comes as several DMs, each ending where a paragraph
        does, and together they say everything."""
        paragraphs = [f"Part {n}: " + " ".join(["story"] * 120) + "." for n in range(1, 5)]
        openai_fake.reply_for_model(CHAT_MODEL, "\n\n".join(paragraphs))
        tia = sim.create_user("tia")
        await dm(sim, tia, "hi")
        messages = await dm(sim, tia, "Tell me a long story, please.")
        assert all(len(message.content) <= text.DISCORD_MESSAGE_LIMIT for message in messages)
        assert [message.content.strip() for message in messages] == [
            "\n\n".join(paragraphs[:2]),
            "\n\n".join(paragraphs[2:]),
        ]


# --- 2. first contact, init, time zone, a settled personality --------------------------------------------


async def test_first_contact_then_init_timezone_and_a_settled_personality(sim: simcord.Env) -> None:
    """A newcomer's first reply (only the first) says /companion init chooses the personality and time zone;
    init then works and status shows it; the time zone autocompletes from a city and can be changed; after
    five messages init is refused in plain words."""
    una = sim.create_user("una")
    [first] = await dm(sim, una, "hi")
    [second] = await dm(sim, una, "how are you?")
    assert first.content.endswith(text.FIRST_CONTACT)
    assert "/companion init" not in second.content
    init = await una.slash("companion init", profile="supportive_friend", timezone="Europe/Paris")
    assert init.ephemeral and init.response is not None
    assert fields_of(init.response)["Personality"] == "Supportive Friend"
    status = await una.slash("companion status")
    assert status.response is not None
    assert fields_of(status.response)["Personality"] == "Supportive Friend"
    assert fields_of(status.response)["Time zone"] == "Europe/Paris"
    choices = await una.autocomplete("companion timezone", "zone", "paris")
    assert [choice["value"] for choice in choices] == ["Europe/Paris"]
    zone = await una.slash("companion timezone", zone="Asia/Tokyo")
    assert zone.ephemeral and zone.response is not None and "Asia/Tokyo" in zone.response.content
    status = await una.slash("companion status")
    assert status.response is not None and fields_of(status.response)["Time zone"] == "Asia/Tokyo"
    for line in ("I like tea", "and trains", "see you"):
        await dm(sim, una, line)
    again = await una.slash("companion init", profile="intellectual_mentor")
    assert again.ephemeral and again.response is not None
    assert again.response.content == text.PERSONALITY_SETTLED
    simcord.assert_error(sim, GatewayRejected, contains="settled")  # the tree's handler saw it, and answered


# --- 3. forgetting twice ---------------------------------------------------------------------------------


async def test_forgetting_a_memory_twice_says_it_is_not_found(sim: simcord.Env, gateway_url: str) -> None:
    """/memories forget of a memory already forgotten (or never there) says the memory is not found, not
    "we haven't met"."""
    rory = sim.create_user("rory")
    await dm(sim, rory, "Hi! I just adopted a puppy called Biscuit and I love hiking.")
    await episodic_total(gateway_url, rory.id, at_least=1)
    [choice, *_] = await rory.autocomplete("memories forget", "memory", "Biscuit")
    first = await rory.slash("memories forget", memory=choice["value"])
    assert first.response is not None and first.response.content.startswith("Forgotten")
    again = await rory.slash("memories forget", memory=choice["value"])
    assert again.ephemeral and again.response is not None
    assert again.response.content == text.MEMORY_NOT_FOUND
    unknown = await rory.slash("memories forget", memory=str(uuid.uuid4()))
    assert unknown.response is not None and unknown.response.content == text.MEMORY_NOT_FOUND
    simcord.assert_error(sim, GatewayNotFound)  # the tree's handler saw both, and answered


# --- 4. buttons after their time -------------------------------------------------------------------------


async def test_the_pager_buttons_are_disabled_after_five_minutes(sim: simcord.Env, gateway_url: str) -> None:
    """Five minutes after /memories recent its ◀ ▶ turn grey on the message, so they can no longer be
    pressed (simcord refuses a click on a disabled button, as Discord's client does)."""
    ivy = sim.create_user("ivy")
    for line in ("my sister Lena lives in Lyon", "I play the cello on Sundays", "work is stressful lately",
                 "Biscuit chewed my shoes", "I want to learn Japanese", "pizza is my favourite food"):  # fmt: skip
        await dm(sim, ivy, line)
    await episodic_total(gateway_url, ivy.id, at_least=6)
    recent = await ivy.slash("memories recent")
    assert recent.response is not None
    assert buttons(recent.response) == {"pager:previous": False, "pager:next": True}
    await sim.advance_time(PAGER_TIMEOUT_SECONDS - 10)
    assert buttons(recent.response)["pager:next"]
    await sim.advance_time(11)
    assert buttons(recent.response) == {"pager:previous": False, "pager:next": False}
    with pytest.raises(simcord.SetupError, match="disabled"):
        await ivy.click(recent.response, custom_id="pager:next")


async def test_a_late_click_after_a_restart_says_the_buttons_expired(
    sim: simcord.Env, gateway_url: str
) -> None:
    """Buttons still enabled on a message whose view is gone (the bot restarted) answer "expired, run the
    command again" to the user alone, instead of Discord's "This interaction failed"; nothing is deleted."""
    uli = sim.create_user("uli")
    await dm(sim, uli, "hello there")
    reset = await uli.slash("companion reset")
    assert reset.response is not None and buttons(reset.response)["confirm:yes"]
    restarted = CompanionBot(bot_settings(gateway_url, free_port()))
    try:
        await sim.restart_bot(restarted)
        for button in ("confirm:yes", "confirm:no"):
            click = await uli.click(reset.response, custom_id=button)
            assert click.ephemeral and click.response is not None, button
            assert click.response.content == EXPIRED, button
        status = await uli.slash("companion status")
        assert status.response is not None and status.response.embeds  # still there: nothing was deleted
    finally:
        await restarted.close()


# --- 5. quiet hours from and to the same hour ------------------------------------------------------------


async def test_quiet_hours_from_five_to_five_are_no_quiet_hours(sim: simcord.Env) -> None:
    """/companion quiet-hours from:5 to:5 says there are no quiet hours, and status says so too."""
    noor = sim.create_user("noor")
    await dm(sim, noor, "hi")
    same = await noor.slash("companion quiet-hours", **{"from": "5", "to": "5am"})
    assert same.ephemeral and same.response is not None
    assert same.response.content.startswith("No quiet hours") and "05:00" not in same.response.content
    status = await noor.slash("companion status")
    assert status.response is not None
    assert fields_of(status.response)["Proactive messages"].endswith("(no quiet hours)")


# --- 6. /admin is hidden from members ----------------------------------------------------------------------


async def test_admin_commands_are_hidden_from_members_who_are_not_administrators(sim: simcord.Env) -> None:
    """In a server, /admin is not in an ordinary member's command list and they cannot run it; a server
    administrator sees it, and (not being one of the companion's admins) is refused in plain words."""
    guild = sim.create_guild("hall")
    channel = guild.create_text_channel("general")
    moderators = guild.create_role("mods", permissions=discord.Permissions(administrator=True))
    max_ = guild.add_member(sim.create_user("max"))
    mod = guild.add_member(sim.create_user("mod"), roles=[moderators])
    visible = set(max_.available_commands(channel))
    assert visible and not visible & ADMIN_COMMANDS
    with pytest.raises(simcord.SetupError, match="default-member-permissions"):
        await max_.slash(channel, "admin stats")
    assert set(mod.available_commands(channel)) >= ADMIN_COMMANDS
    refused = await mod.slash(channel, "admin stats")
    assert refused.ephemeral and refused.response is not None
    assert refused.response.content == text.ADMIN_ONLY
    simcord.assert_error(sim, discord.app_commands.CheckFailure)  # the tree's handler saw it, and answered


# --- 7. /companion chat errors in a server are private -----------------------------------------------------


async def test_companion_chat_refused_by_the_gateway_is_shown_only_to_the_user(
    sim: simcord.Env, database_url: str
) -> None:
    """A blocked user's /companion chat in a server channel: the gateway refuses it, the user alone sees why,
    and the channel is left with nothing from the bot (not even the "thinking…" message)."""
    guild = sim.create_guild("square")
    channel = guild.create_text_channel("general")
    ozzy = guild.add_member(sim.create_user("ozzy"))
    pia = guild.add_member(sim.create_user("pia"))
    await ozzy.send_dm("hi")
    conn = await asyncpg.connect(database_url)  # an administrator blocks the account
    try:
        await conn.execute("UPDATE user_profiles SET status = 'banned' WHERE user_id = $1", str(ozzy.id))
    finally:
        await conn.close()
    result = await ozzy.slash(channel, "companion chat", message="tell me a story")
    simcord.assert_error(sim, UserBanned)  # the gateway refused (403), and the tree's handler saw it
    assert sim.bot.user is not None
    assert [m for m in channel.history(viewer=pia) if m.author.id == sim.bot.user.id] == []
    assert result.deferred and result.response is None  # the public "thinking…" message is gone
    # Told privately: an ephemeral follow-up, or (where Discord refuses a follow-up to the deleted
    # "thinking…" message, as simcord models it) a DM.
    private = [m.content for m in result.followups if m.ephemeral]
    private += [m.content for m in bot_messages(sim, ozzy.user.dm_channel)]
    assert text.BANNED in private


# --- 8. init names the profile, status before any message, an unknown time zone --------------------------


async def test_init_names_the_profile_status_says_not_yet_and_a_bad_zone_is_explained(
    sim: simcord.Env,
) -> None:
    """An unknown time zone gets a plain, private explanation; init's welcome names the personality in words;
    status before any message says the user has not talked yet."""
    lux = sim.create_user("lux")
    bad = await lux.slash("companion init", timezone="Mars/Olympus")
    assert bad.ephemeral and bad.response is not None
    assert bad.response.content == text.unknown_timezone("Mars/Olympus")
    init = await lux.slash("companion init", profile="creative_collaborator")
    assert init.response is not None
    [embed] = init.response.embeds
    assert embed.description == "I'll be your creative collaborator from now on."
    assert fields_of(init.response)["Personality"] == "Creative Collaborator"
    status = await lux.slash("companion status")
    assert status.response is not None
    assert fields_of(status.response)["Messages"] == "0"
    assert fields_of(status.response)["Last talked"] == "not yet"
