"""A fake Discord: enough of API v10 (REST and the gateway websocket) for the real discord.py 2.7 client to
log in, sync commands, receive DMs, mentions and slash commands, reply, defer and follow up, open DMs and
see its socket drop and resume.

Facts this relies on (measured against discord.py 2.6.4; the suite passes unchanged on 2.7.1): the client
is pointed here by setting ``discord.http.Route.BASE`` and ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``
before ``start()``; JSON
answers must carry exactly ``application/json``; a 429 is retried only when it has a ``Via`` header and
``retry_after``; interaction callbacks come with ``?with_response=1`` and need a body back;
INTERACTION_CREATE must carry ``attachment_size_limit``. Frames are sent as text, so no zlib is involved.

The server runs on the test's own event loop (aiohttp), next to the bot. Tests drive it as users would:
``send_dm``, ``send_channel_message``, ``invoke`` (a slash command), ``click`` (a button), ``autocomplete``,
``drop_connections``; and read what the bot did from ``messages`` and ``interactions``. Every request to a
route it does not know is recorded in ``unhandled`` (the fixture fails the test on it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1420070400000
API_PREFIX = "/api/v10"
Json = dict[str, Any]

OPTION_STRING, OPTION_INTEGER, OPTION_USER = 3, 4, 6
SUB_COMMAND = 1


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly application/json: discord.py checks the content type before parsing.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


@dataclass
class FakeInteraction:
    id: str
    token: str
    type: int
    user_id: str
    channel_id: str
    guild_id: str | None
    payload: Json
    callbacks: list[Json] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)  # the original response first, then follow-ups
    target_message_id: str | None = None  # component interactions: the message the button is on
    autocomplete_choices: list[Json] | None = None

    @property
    def responded(self) -> bool:
        return bool(self.callbacks)

    @property
    def callback_types(self) -> list[int]:
        return [callback["type"] for callback in self.callbacks]


class FakeDiscord:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.bot_user = self.make_user("companion", bot=True)
        self.application_id = self.snowflake()
        self.users: dict[str, Json] = {}
        self.guilds: dict[str, Json] = {}
        self.members: dict[str, set[str]] = {}
        self.channels: dict[str, Json] = {}
        self.dm_channels: dict[str, str] = {}  # user id -> DM channel id
        self.messages: dict[str, Json] = {}
        self.interactions: dict[str, FakeInteraction] = {}
        self.commands: list[Json] = []
        self.command_syncs: list[str] = []  # "global" or the guild id
        self.closed_dms: set[str] = set()
        self.rate_limit_next: dict[str, int] = {}  # "METHOD path-prefix" -> how many 429s to give
        self.rate_limited: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[str] = []
        self.identifies = 0
        self.resumes = 0
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = 0
        self._ready = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    # --- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # --- world building ---------------------------------------------------------------------------------

    def snowflake(self) -> str:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) + next(self._ids))

    def make_user(self, name: str, *, bot: bool = False) -> Json:
        user = {
            "id": self.snowflake(),
            "username": name,
            "discriminator": "0",
            "global_name": name.title(),
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }
        if hasattr(self, "users"):
            self.users[user["id"]] = user
        return user

    def add_user(self, name: str) -> Json:
        return self.make_user(name)

    def add_guild(self, name: str, *, members: list[Json]) -> tuple[Json, Json]:
        """A guild with one text channel; ``members`` (and the bot) belong to it. Returns (guild, channel)."""
        guild_id = self.snowflake()
        channel = {
            "id": self.snowflake(),
            "type": 0,
            "guild_id": guild_id,
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }
        guild = {
            "id": guild_id,
            "name": name,
            "owner_id": members[0]["id"] if members else self.bot_user["id"],
            "channel_id": channel["id"],
        }
        self.guilds[guild_id] = guild
        self.channels[channel["id"]] = channel
        self.members[guild_id] = {member["id"] for member in members} | {self.bot_user["id"]}
        return guild, channel

    def remove_member(self, guild_id: str, user_id: str) -> None:
        self.members[guild_id].discard(user_id)

    def _guild_create(self, guild: Json) -> Json:
        guild_id = guild["id"]
        everyone = {
            "id": guild_id,
            "name": "@everyone",
            "permissions": str((1 << 41) - 1),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        channels = [dict(ch) for ch in self.channels.values() if ch.get("guild_id") == guild_id]
        return {
            "id": guild_id,
            "name": guild["name"],
            "icon": None,
            "owner_id": guild["owner_id"],
            "roles": [everyone],
            "emojis": [],
            "stickers": [],
            "features": [],
            "channels": channels,
            "threads": [],
            "members": [self._member(self.bot_user)],
            "member_count": len(self.members[guild_id]),
            "voice_states": [],
            "presences": [],
            "large": False,
            "unavailable": False,
            "joined_at": _now_iso(),
            "premium_tier": 0,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "system_channel_flags": 0,
            "afk_timeout": 300,
            "nsfw_level": 0,
            "preferred_locale": "en-US",
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _member(self, user: Json) -> Json:
        return {
            "user": user,
            "roles": [],
            "joined_at": _now_iso(),
            "deaf": False,
            "mute": False,
            "nick": None,
            "flags": 0,
            "permissions": str((1 << 41) - 1),
        }

    def dm_channel_for(self, user: Json) -> Json:
        channel_id = self.dm_channels.get(user["id"])
        if channel_id is None:
            channel_id = self.snowflake()
            self.dm_channels[user["id"]] = channel_id
            self.channels[channel_id] = {
                "id": channel_id,
                "type": 1,
                "recipients": [user],
                "last_message_id": None,
            }
        return self.channels[channel_id]

    def close_dms(self, user: Json) -> None:
        self.closed_dms.add(user["id"])

    # --- the gateway websocket --------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await socket.prepare(request)
        await socket.send_str(
            json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        )
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(message.data)
                op = payload.get("op")
                if op == 1:
                    await socket.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
                elif op == 2:
                    self.identifies += 1
                    self._sockets.append(socket)
                    await self._send_ready(socket)
                elif op == 6:
                    self.resumes += 1
                    self._sockets.append(socket)
                    await self._dispatch_to(socket, "RESUMED", {})
        finally:
            if socket in self._sockets:
                self._sockets.remove(socket)
        return socket

    async def _send_ready(self, socket: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": {**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": guild_id, "unavailable": True} for guild_id in self.guilds],
            "session_id": uuid.uuid4().hex,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.application_id, "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
        }
        await self._dispatch_to(socket, "READY", ready)
        for guild in self.guilds.values():
            await self._dispatch_to(socket, "GUILD_CREATE", self._guild_create(guild))

    async def _dispatch_to(self, socket: web.WebSocketResponse, event: str, data: Json) -> None:
        self._sequence += 1
        await socket.send_str(json.dumps({"op": 0, "t": event, "s": self._sequence, "d": data}))

    async def dispatch(self, event: str, data: Json) -> None:
        if not self._sockets:
            raise RuntimeError("no bot is connected to the fake gateway")
        for socket in list(self._sockets):
            await self._dispatch_to(socket, event, data)

    @property
    def connected(self) -> bool:
        return bool(self._sockets)

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway socket the way Discord does before asking for a resume (4000: unknown error)."""
        for socket in list(self._sockets):
            self._sockets.remove(socket)
            await socket.close(code=code, message=b"dropped by the test")

    # --- what users do ------------------------------------------------------------------------------------

    def _message(
        self,
        channel_id: str,
        author: Json,
        content: str,
        *,
        attachments: list[Json] | None = None,
        embeds: list[Json] | None = None,
        components: list[Json] | None = None,
        mentions: list[Json] | None = None,
        reference: Json | None = None,
        flags: int = 0,
        interaction: FakeInteraction | None = None,
    ) -> Json:
        channel = self.channels[channel_id]
        message: Json = {
            "id": self.snowflake(),
            "channel_id": channel_id,
            "author": author,
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions or [],
            "mention_roles": [],
            "attachments": attachments or [],
            "embeds": embeds or [],
            "components": components or [],
            "pinned": False,
            "type": 19 if reference else 0,
            "flags": flags,
        }
        if channel.get("guild_id"):
            message["guild_id"] = channel["guild_id"]
            if not author.get("bot"):
                message["member"] = {k: v for k, v in self._member(author).items() if k != "user"}
        if reference is not None:
            message["message_reference"] = {
                "message_id": reference["id"],
                "channel_id": channel_id,
                "guild_id": channel.get("guild_id"),
            }
            message["referenced_message"] = reference
        if interaction is not None:
            message["type"] = 20
            message["interaction_metadata"] = {
                "id": interaction.id,
                "type": interaction.type,
                "user": self.users.get(interaction.user_id, self.bot_user),
                "authorizing_integration_owners": {},
            }
        self.messages[message["id"]] = message
        channel["last_message_id"] = message["id"]
        return message

    async def send_dm(self, user: Json, content: str, *, attachments: list[Json] | None = None) -> Json:
        channel = self.dm_channel_for(user)
        message = self._message(channel["id"], user, content, attachments=attachments)
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def send_channel_message(
        self,
        user: Json,
        channel: Json,
        content: str,
        *,
        mention_bot: bool = False,
        reply_to: Json | None = None,
    ) -> Json:
        mentions = []
        if mention_bot:
            content = f"<@{self.bot_user['id']}> {content}"
            mentions.append(self.bot_user)
        if reply_to is not None and reply_to["author"]["id"] == self.bot_user["id"]:
            mentions.append(self.bot_user)  # a reply pings its author by default
        message = self._message(channel["id"], user, content, mentions=mentions, reference=reply_to)
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    def _interaction_payload(self, interaction_type: int, user: Json, channel: Json, data: Json) -> Json:
        guild_id = channel.get("guild_id")
        payload: Json = {
            "id": self.snowflake(),
            "application_id": self.application_id,
            "type": interaction_type,
            "data": data,
            "token": "itoken-" + uuid.uuid4().hex,
            "version": 1,
            "channel_id": channel["id"],
            "channel": {k: v for k, v in channel.items() if k != "recipients"}
            | ({"recipients": channel["recipients"]} if "recipients" in channel else {}),
            "locale": "en-US",
            "app_permissions": str((1 << 41) - 1),
            "entitlements": [],
            "authorizing_integration_owners": {"0": guild_id} if guild_id else {"1": user["id"]},
            "context": 0 if guild_id else 1,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id:
            payload["guild_id"] = guild_id
            payload["guild_locale"] = "en-US"
            payload["member"] = self._member(user)
        else:
            payload["user"] = user
        return payload

    def _command(self, name: str) -> Json:
        for command in self.commands:
            if command["name"] == name:
                return command
        raise KeyError(f"command /{name} was never synced (synced: {[c['name'] for c in self.commands]})")

    def _options(self, definitions: list[Json], values: dict[str, Any], focused: str | None) -> list[Json]:
        by_name = {option["name"]: option for option in definitions}
        options = []
        for name, value in values.items():
            if name not in by_name:
                raise KeyError(f"no option {name!r} (has {sorted(by_name)})")
            option: Json = {"name": name, "type": by_name[name]["type"], "value": value}
            if by_name[name]["type"] == OPTION_USER and isinstance(value, dict):
                option["value"] = value["id"]
            if name == focused:
                option["focused"] = True
            options.append(option)
        return options

    def _command_data(self, path: str, values: dict[str, Any], focused: str | None = None) -> Json:
        top, _, sub = path.partition(" ")
        command = self._command(top)
        data: Json = {"id": command["id"], "name": top, "type": 1}
        resolved_users = {
            value["id"]: value for value in values.values() if isinstance(value, dict) and "username" in value
        }
        if sub:
            subcommand = next(
                o for o in command.get("options", []) if o["name"] == sub and o["type"] == SUB_COMMAND
            )
            data["options"] = [
                {
                    "name": sub,
                    "type": SUB_COMMAND,
                    "options": self._options(subcommand.get("options", []), values, focused),
                }
            ]
        else:
            data["options"] = self._options(command.get("options", []), values, focused)
        if resolved_users:
            data["resolved"] = {"users": resolved_users}
        return data

    async def invoke(
        self, author: Json, path: str, /, channel: Json | None = None, **values: Any
    ) -> FakeInteraction:
        """Run slash command ``path`` ("companion init") as ``author`` in ``channel`` (their DM by default)."""
        channel = channel or self.dm_channel_for(author)
        payload = self._interaction_payload(2, author, channel, self._command_data(path, values))
        return await self._send_interaction(payload, author, channel)

    async def autocomplete(self, user: Json, path: str, option: str, value: str) -> FakeInteraction:
        channel = self.dm_channel_for(user)
        payload = self._interaction_payload(
            4, user, channel, self._command_data(path, {option: value}, option)
        )
        return await self._send_interaction(payload, user, channel)

    async def click(self, user: Json, message: Json, custom_id: str) -> FakeInteraction:
        """Press a button on ``message``; Discord sends nothing for a button that is gone or disabled."""
        buttons = {
            button.get("custom_id"): button
            for row in self.messages[message["id"]]["components"]
            for button in row.get("components", [])
        }
        if custom_id not in buttons or buttons[custom_id].get("disabled"):
            raise AssertionError(f"no enabled button {custom_id!r} on the message to click")
        channel = self.channels[message["channel_id"]]
        data = {"custom_id": custom_id, "component_type": 2}
        payload = self._interaction_payload(3, user, channel, data)
        payload["message"] = self.messages[message["id"]]
        interaction = await self._send_interaction(payload, user, channel, target=message["id"])
        return interaction

    async def _send_interaction(
        self, payload: Json, user: Json, channel: Json, target: str | None = None
    ) -> FakeInteraction:
        interaction = FakeInteraction(
            id=payload["id"],
            token=payload["token"],
            type=payload["type"],
            user_id=user["id"],
            channel_id=channel["id"],
            guild_id=channel.get("guild_id"),
            payload=payload,
            target_message_id=target,
        )
        self.interactions[interaction.token] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    # --- reading what the bot did -------------------------------------------------------------------------

    def bot_messages(self, channel_id: str | None = None) -> list[Json]:
        return [
            message
            for message in self.messages.values()
            if message["author"]["id"] == self.bot_user["id"]
            and (channel_id is None or message["channel_id"] == channel_id)
        ]

    def interaction_messages(self, interaction: FakeInteraction) -> list[Json]:
        return [self.messages[message_id] for message_id in interaction.message_ids]

    # --- REST -------------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        path = request.path.removeprefix(API_PREFIX)
        self.requests.append((request.method, path))
        for key, remaining in list(self.rate_limit_next.items()):
            method, _, prefix = key.partition(" ")
            if remaining > 0 and request.method == method and path.startswith(prefix):
                self.rate_limit_next[key] = remaining - 1
                self.rate_limited.append(f"{request.method} {path}")
                body = {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
                return _json(
                    body,
                    status=429,
                    headers={"Via": "1.1 google", "Retry-After": "1", "X-RateLimit-Scope": "user"},
                )
        response: web.StreamResponse = await handler(request)
        return response

    async def _body(self, request: web.Request) -> tuple[Json, list[Json]]:
        """The JSON payload and any attached files (multipart: payload_json + files[n])."""
        if request.content_type.startswith("multipart/"):
            payload: Json = {}
            files: list[Json] = []
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":  # type: ignore[union-attr]
                    payload = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    data = await part.read()  # type: ignore[union-attr]
                    files.append(
                        {
                            "id": self.snowflake(),
                            "filename": part.filename,  # type: ignore[union-attr]
                            "size": len(data),
                            "url": f"{self.base_url}/attachments/{part.filename}",  # type: ignore[union-attr]
                            "proxy_url": f"{self.base_url}/attachments/{part.filename}",  # type: ignore[union-attr]
                            "content_type": part.headers.get("Content-Type", "application/octet-stream"),  # type: ignore[union-attr]
                            "data": data,
                        }
                    )
            return payload, files
        if request.can_read_body:
            return await request.json(), []
        return {}, []

    def _bot_message(self, channel_id: str, payload: Json, files: list[Json], **extra: Any) -> Json:
        attachments = [{k: v for k, v in f.items() if k != "data"} for f in files]
        message = self._message(
            channel_id,
            self.bot_user,
            payload.get("content") or "",
            attachments=attachments,
            embeds=payload.get("embeds") or [],
            components=payload.get("components") or [],
            flags=int(payload.get("flags") or 0),
            **extra,
        )
        message["files"] = files  # kept for the tests (not part of Discord's payload)
        return message

    @staticmethod
    def _public(message: Json) -> Json:
        return {k: v for k, v in message.items() if k != "files"}

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method
        parts = path.strip("/").split("/")
        try:
            response = await self._route(method, parts, request)
        except KeyError as exc:
            return _error(404, 10000, f"unknown: {exc}")
        if response is None:
            self.unhandled.append(f"{method} {path}")
            return _error(404, 0, f"fake Discord does not implement {method} {path}")
        return response

    async def _route(self, method: str, parts: list[str], request: web.Request) -> web.StreamResponse | None:
        match method, parts:
            case "GET", ["users", "@me"]:
                return _json({**self.bot_user, "verified": True, "mfa_enabled": False, "flags": 0})
            case "GET", ["oauth2", "applications", "@me"]:
                return _json(self._application())
            case "PUT", ["applications", _, "commands"]:
                return _json(self._sync(await request.json(), "global"))
            case "PUT", ["applications", _, "guilds", guild_id, "commands"]:
                return _json(self._sync(await request.json(), guild_id))
            case "GET", ["users", user_id]:
                if user_id not in self.users:
                    return _error(404, 10013, "Unknown User")
                return _json(self.users[user_id])
            case "POST", ["users", "@me", "channels"]:
                body = await request.json()
                user = self.users.get(str(body.get("recipient_id")))
                if user is None:
                    return _error(400, 50033, "Invalid Recipient(s)")
                return _json(self.dm_channel_for(user))
            case "GET", ["channels", channel_id]:
                if channel_id not in self.channels:
                    return _error(404, 10003, "Unknown Channel")
                return _json(self.channels[channel_id])
            case "POST", ["channels", channel_id, "typing"]:
                return web.Response(status=204)
            case "POST", ["channels", channel_id, "messages"]:
                return await self._create_message(channel_id, request)
            case "GET", ["guilds", guild_id, "members", user_id]:
                if user_id not in self.members.get(guild_id, set()):
                    return _error(404, 10007, "Unknown Member")
                return _json(self._member(self.users[user_id]))
            case "POST", ["interactions", _, token, "callback"]:
                return await self._callback(token, request)
            case "POST", ["webhooks", _, token]:
                interaction = self.interactions[token]
                payload, files = await self._body(request)
                first = self.messages[interaction.message_ids[0]] if interaction.message_ids else None
                if first is not None and first["flags"] & 128 and not first["content"]:
                    # The first follow-up after a deferral replaces the "thinking" message (as Discord does),
                    # which keeps the deferral's visibility: an ephemeral flag on the follow-up is ignored.
                    self._apply_edit(first, payload, files)
                    return _json(self._public(first))
                message = self._bot_message(interaction.channel_id, payload, files, interaction=interaction)
                interaction.message_ids.append(message["id"])
                return _json(self._public(message))
            case "DELETE", ["webhooks", _, token, "messages", message_id]:
                interaction = self.interactions[token]
                target = self._webhook_target(interaction, message_id)
                del self.messages[target]
                if target in interaction.message_ids:
                    interaction.message_ids.remove(target)
                return web.Response(status=204)
            case "PATCH", ["webhooks", _, token, "messages", message_id]:
                return await self._edit_webhook_message(token, message_id, request)
            case "GET", ["webhooks", _, token, "messages", message_id]:
                target = self._webhook_target(self.interactions[token], message_id)
                return _json(self._public(self.messages[target]))
        return None

    def _application(self) -> Json:
        return {
            "id": self.application_id,
            "name": "Companion",
            "icon": None,
            "description": "",
            "rpc_origins": [],
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.users.get(next(iter(self.users), ""), self.bot_user),
            "team": None,
            "summary": "",
            "verify_key": "0" * 64,
            "flags": 0,
            "interactions_endpoint_url": None,
            "bot": self.bot_user,
        }

    def _sync(self, commands: list[Json], scope: str) -> list[Json]:
        self.command_syncs.append(scope)
        synced = []
        for command in commands:
            permissions = command.get("default_member_permissions")
            synced.append(
                {
                    **command,
                    "id": self.snowflake(),
                    "application_id": self.application_id,
                    "version": self.snowflake(),
                    "type": command.get("type", 1),
                    # A permission bit set travels as a string (discord.py sends an int; Discord answers "8").
                    "default_member_permissions": None if permissions is None else str(permissions),
                    "dm_permission": True,
                    "nsfw": False,
                    **({"guild_id": scope} if scope != "global" else {}),
                }
            )
        self.commands = synced
        return synced

    async def _create_message(self, channel_id: str, request: web.Request) -> web.StreamResponse:
        channel = self.channels.get(channel_id)
        if channel is None:
            return _error(404, 10003, "Unknown Channel")
        if channel["type"] == 1 and channel["recipients"][0]["id"] in self.closed_dms:
            return _error(403, 50007, "Cannot send messages to this user")
        payload, files = await self._body(request)
        content = payload.get("content") or ""
        if len(content) > 2000:
            return _error(400, 50035, "Invalid Form Body: content: Must be 2000 or fewer in length.")
        if not content and not payload.get("embeds") and not files:
            return _error(400, 50006, "Cannot send an empty message")
        mentions = [self.users[uid] for uid in self.users if f"<@{uid}>" in content]
        reference = None
        if payload.get("message_reference"):
            reference = self.messages.get(str(payload["message_reference"]["message_id"]))
        message = self._bot_message(channel_id, payload, files, mentions=mentions, reference=reference)
        return _json(self._public(message))

    async def _callback(self, token: str, request: web.Request) -> web.StreamResponse:
        interaction = self.interactions[token]
        if interaction.responded:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        payload, files = await self._body(request)
        interaction.callbacks.append(payload)
        kind = payload["type"]
        data = payload.get("data") or {}
        message: Json | None = None
        if kind == 4:  # CHANNEL_MESSAGE_WITH_SOURCE
            message = self._bot_message(interaction.channel_id, data, files, interaction=interaction)
            interaction.message_ids.append(message["id"])
        elif kind == 5:  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: "the bot is thinking"
            message = self._bot_message(
                interaction.channel_id,
                {"content": "", "flags": data.get("flags", 0) | 128},
                [],
                interaction=interaction,
            )
            interaction.message_ids.append(message["id"])
        elif kind in (6, 7) and interaction.target_message_id:  # (deferred) update of the button's message
            message = self.messages[interaction.target_message_id]
            if kind == 7:
                self._apply_edit(message, data, files)
        elif kind == 8:  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
            interaction.autocomplete_choices = data.get("choices", [])
        body: Json = {
            "interaction": {
                "id": interaction.id,
                "type": interaction.type,
                "response_message_id": message["id"] if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64),
            },
            "resource": {"type": kind, **({"message": self._public(message)} if message else {})},
        }
        return _json(body)

    def _webhook_target(self, interaction: FakeInteraction, message_id: str) -> str:
        if message_id != "@original":
            return message_id
        if interaction.target_message_id:
            return interaction.target_message_id
        return interaction.message_ids[0]

    def _apply_edit(self, message: Json, payload: Json, files: list[Json]) -> None:
        for key in ("content", "embeds", "components"):
            if key in payload:
                message[key] = payload[key] if payload[key] is not None else ([] if key != "content" else "")
        if files:
            message["files"] = files
            message["attachments"] = [{k: v for k, v in f.items() if k != "data"} for f in files]
        message["flags"] = message.get("flags", 0) & ~128  # no longer "thinking"
        message["edited_timestamp"] = _now_iso()

    async def _edit_webhook_message(
        self, token: str, message_id: str, request: web.Request
    ) -> web.StreamResponse:
        interaction = self.interactions[token]
        target = self._webhook_target(interaction, message_id)
        payload, files = await self._body(request)
        message = self.messages[target]
        self._apply_edit(message, payload, files)
        return _json(self._public(message))
