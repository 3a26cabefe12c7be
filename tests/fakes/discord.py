"""A loopback fake of Discord's REST API and gateway, strict about message limits, with fault injection.

Real discord.py talks to it: REST under `/api/v10` (point `DiscordSettings.api_base_url` at
`fake.api_url`) and the gateway as a websocket at `/gateway` (`fake.gateway_url`). Tests inject
slash-command interactions through the gateway exactly as Discord would, and read back what the
bot sent (`messages`, `callbacks`, `followups`, `synced_commands`). Every reply carries
`Content-Type: application/json` with no charset suffix, as discord.py requires.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from tests.fakes.discord_data import button_interaction, slash_interaction
from tests.fakes.discord_limits import AUTOCOMPLETE_CHOICES_LIMIT, CHOICE_TEXT_LIMIT, command_problem, message_problem, too_long

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway"
HEARTBEAT_INTERVAL_MS = 41250
RECHECK_SECONDS = 0.05

EPHEMERAL_FLAG = 1 << 6
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE = 5
AUTOCOMPLETE_RESULT = 8


@dataclass(frozen=True)
class Fault:
    """A canned error reply: status, Discord's JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def rate_limited(retry_after: float, *, is_global: bool = False) -> Fault:
    """A real-looking 429 (the `Via` header and JSON body tell discord.py it is not a Cloudflare ban)."""
    return Fault(
        429,
        {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global},
        {"Via": "1.1 google", "Retry-After": str(max(1, round(retry_after))), "X-RateLimit-Scope": "user"},
    )


def missing_access() -> Fault:
    return Fault(403, {"message": "Missing Access", "code": 50001})


def unknown_channel() -> Fault:
    return Fault(404, {"message": "Unknown Channel", "code": 10003})


def server_error() -> Fault:
    return Fault(503, {"message": "Service Unavailable", "code": 0})


UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024  # what a bot may attach to one message


@dataclass(frozen=True)
class RecordedMessage:
    """A message the fake accepted: where it went and the JSON the bot sent."""

    message_id: str
    channel_id: str
    body: dict[str, Any]
    files: tuple[tuple[str, bytes], ...] = ()  # attachments of a multipart message: (filename, content)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.body.get("embeds") or []

    @property
    def content(self) -> str:
        return self.body.get("content") or ""


@dataclass(frozen=True)
class RecordedCallback:
    """An interaction callback (the first answer to a slash command or an autocomplete)."""

    interaction_id: str
    token: str
    body: dict[str, Any]

    @property
    def ephemeral(self) -> bool:
        return bool((self.body.get("data") or {}).get("flags", 0) & EPHEMERAL_FLAG)


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON reply whose Content-Type is exactly application/json (discord.py rejects a charset suffix)."""
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


class FakeDiscord:
    """Discord's REST API and gateway for one bot, recording what it receives."""

    def __init__(self, token: str = "fake-bot-token") -> None:
        self.token = token
        self._ids = itertools.count(1_300_000_000_000_000_001)
        self.application_id = self.new_id()
        self.bot_user = {
            "id": self.application_id,
            "username": "arxiv-digest",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "flags": 0,
        }
        self.base_url = ""
        self.synced_commands: list[dict[str, Any]] = []
        self.messages: list[RecordedMessage] = []
        self.callbacks: list[RecordedCallback] = []
        self.followups: list[RecordedMessage] = []
        self.rejected: list[dict[str, Any]] = []  # error bodies of requests refused for breaking limits
        self.requests: list[tuple[str, str]] = []  # (method, path) of every REST call, in order
        self.faults: dict[str, deque[Fault | None]] = {}  # channel id -> faults for its next message POSTs
        self.gone_channels: dict[str, Fault] = {}  # channel id -> fault answered to every POST
        self._nonces: dict[tuple[str, str], RecordedMessage] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = itertools.count(1)
        self.identified = asyncio.Event()
        self.changed = asyncio.Event()  # set on every recorded request; tests wait on it with a deadline

    def new_id(self) -> str:
        """A fresh snowflake, unique within this fake."""
        return str(next(self._ids))

    # ---- addresses ----
    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + GATEWAY_PATH

    def app(self) -> web.Application:
        app = web.Application()
        prefix = API_PREFIX
        app.router.add_get(GATEWAY_PATH, self._gateway)
        app.router.add_get(f"{prefix}/users/@me", self._me)
        app.router.add_get(f"{prefix}/oauth2/applications/@me", self._application)
        app.router.add_put(f"{prefix}/applications/{{app_id}}/commands", self._sync_commands)
        app.router.add_post(f"{prefix}/channels/{{channel_id}}/messages", self._channel_message)
        app.router.add_post(f"{prefix}/interactions/{{interaction_id}}/{{token}}/callback", self._callback)
        app.router.add_post(f"{prefix}/webhooks/{{app_id}}/{{token}}", self._followup)
        app.router.add_patch(f"{prefix}/webhooks/{{app_id}}/{{token}}/messages/@original", self._edit_original)
        return app

    # ---- fault injection ----
    def inject(self, channel_id: str, *faults: Fault | None) -> None:
        """Answer the next message POSTs to `channel_id` with these faults, in order (None: accept that one)."""
        self.faults.setdefault(channel_id, deque()).extend(faults)

    def remove_from(self, channel_id: str, fault: Fault | None = None) -> None:
        """The bot lost the channel: every later POST there gets `fault` (403 Missing Access by default)."""
        self.gone_channels[channel_id] = fault or missing_access()

    # ---- gateway ----
    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway DISPATCH to every connected bot."""
        frame = json.dumps({"op": 0, "t": event, "s": next(self._sequence), "d": data})
        for socket in list(self._sockets):
            if not socket.closed:
                await socket.send_str(frame)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}))
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                break
            payload = json.loads(frame.data)
            if payload.get("op") == 1:
                await socket.send_str(json.dumps({"op": 11}))
            elif payload.get("op") == 2:
                if payload["d"].get("token") != self.token:
                    await socket.close(code=4004, message=b"Authentication failed.")
                    break
                await socket.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._sequence), "d": self._ready()}))
                self.identified.set()
        self._sockets.remove(socket)
        return socket

    def _ready(self) -> dict[str, Any]:
        return {
            "v": 10,
            "user": self.bot_user,
            "guilds": [],
            "private_channels": [],
            "relationships": [],
            "session_id": "fake-session",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": self.application_id, "flags": 0},
        }

    # ---- REST ----
    def _authorized(self, request: web.Request) -> bool:
        self.requests.append((request.method, request.path))
        return request.headers.get("Authorization") == f"Bot {self.token}"

    def _recorded(self) -> None:
        self.changed.set()

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json(401, {"message": "401: Unauthorized", "code": 0})
        return _json(200, self.bot_user)

    async def _application(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json(401, {"message": "401: Unauthorized", "code": 0})
        return _json(200, {
            "id": self.application_id,
            "name": "arxiv-digest",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": {**self.bot_user, "bot": False, "id": self.new_id(), "username": "owner"},
            "team": None,
            "summary": "",
        })

    async def _sync_commands(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json(401, {"message": "401: Unauthorized", "code": 0})
        commands = await request.json()
        for index, command in enumerate(commands):
            problem = command_problem(command, [str(index)])
            if problem:
                self.rejected.append(problem)
                return _json(400, problem)
        self.synced_commands = commands
        self._recorded()
        stored = [{**command, "id": self.new_id(), "application_id": self.application_id, "version": "1", "type": command.get("type", 1)} for command in commands]
        return _json(200, stored)

    def _message_object(self, channel_id: str, body: dict[str, Any], message_id: str) -> dict[str, Any]:
        """The message as Discord echoes it back."""
        return {
            "id": message_id,
            "channel_id": channel_id,
            "author": self.bot_user,
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "attachments": [],
            "components": body.get("components") or [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "type": 0,
            "flags": body.get("flags", 0),
            "timestamp": "2026-09-24T12:00:00.000000+00:00",
            "edited_timestamp": None,
            "nonce": body.get("nonce"),
        }

    async def _checked_body(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        """The request's JSON, or the 400 Discord would answer for it."""
        body = await request.json()
        problem = message_problem(body)
        if problem:
            self.rejected.append(problem)
            self._recorded()
            return None, _json(400, problem)
        return body, None

    async def _channel_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json(401, {"message": "401: Unauthorized", "code": 0})
        channel_id = request.match_info["channel_id"]
        queued = self.faults.get(channel_id)
        fault = queued.popleft() if queued else self.gone_channels.get(channel_id)
        if fault is None and channel_id in self.gone_channels:
            fault = self.gone_channels[channel_id]
        if fault is not None:
            self._recorded()
            return _json(fault.status, fault.body, fault.headers)
        body, refusal = await self._checked_body(request)
        if refusal is not None:
            return refusal
        nonce_key = (channel_id, str(body.get("nonce")))
        if body.get("enforce_nonce") and nonce_key in self._nonces:
            existing = self._nonces[nonce_key]
            return _json(200, self._message_object(channel_id, existing.body, existing.message_id))
        recorded = RecordedMessage(self.new_id(), channel_id, body)
        self.messages.append(recorded)
        if body.get("nonce") is not None:
            self._nonces[nonce_key] = recorded
        self._recorded()
        return _json(200, self._message_object(channel_id, body, recorded.message_id))

    async def _callback(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        body = await request.json()
        interaction_id = request.match_info["interaction_id"]
        kind = body.get("type")
        data = body.get("data") or {}
        if kind == CHANNEL_MESSAGE_WITH_SOURCE:
            problem = message_problem(data)
        elif kind == AUTOCOMPLETE_RESULT:
            choices = data.get("choices") or []
            overlong = any(len(c["name"]) > CHOICE_TEXT_LIMIT or len(str(c["value"])) > CHOICE_TEXT_LIMIT for c in choices)
            problem = too_long(["data", "choices"], AUTOCOMPLETE_CHOICES_LIMIT) if len(choices) > AUTOCOMPLETE_CHOICES_LIMIT or overlong else None
        else:
            problem = None
        if problem:
            self.rejected.append(problem)
            self._recorded()
            return _json(400, problem)
        self.callbacks.append(RecordedCallback(interaction_id, request.match_info["token"], body))
        self._recorded()
        message_id = self.new_id()
        reply: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": 2,
                "response_message_id": message_id if kind in (CHANNEL_MESSAGE_WITH_SOURCE, DEFERRED_CHANNEL_MESSAGE) else None,
                "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL_FLAG),
            },
        }
        if kind == CHANNEL_MESSAGE_WITH_SOURCE:
            reply["resource"] = {"type": kind, "message": self._message_object("0", data, message_id)}
        return _json(200, reply)

    async def _followup(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        if request.content_type == "multipart/form-data":
            return await self._followup_with_files(request)
        body, refusal = await self._checked_body(request)
        if refusal is not None:
            return refusal
        recorded = RecordedMessage(self.new_id(), request.match_info["token"], body)
        self.followups.append(recorded)
        self._recorded()
        return _json(200, self._message_object("0", body, recorded.message_id))

    async def _followup_with_files(self, request: web.Request) -> web.Response:
        """A message with attachments: `payload_json` plus `files[n]` parts, each named in `attachments`, within the upload limit."""
        form = await request.post()
        body = json.loads(str(form.get("payload_json") or "{}"))
        parts = {key: value for key, value in form.items() if isinstance(value, web.FileField)}
        named = {f"files[{item['id']}]" for item in body.get("attachments") or []}
        files = tuple((part.filename, part.file.read()) for part in parts.values())
        if not parts or set(parts) != named:
            problem = {"message": "Invalid Form Body", "code": 50035, "errors": {"attachments": "do not match the files"}}
        elif sum(len(content) for _, content in files) > UPLOAD_LIMIT_BYTES:
            problem = {"message": "Request entity too large", "code": 40005}
        else:
            problem = message_problem(body) if body.get("content") or body.get("embeds") else None
        if problem:
            self.rejected.append(problem)
            self._recorded()
            return _json(400 if problem.get("code") != 40005 else 413, problem)
        recorded = RecordedMessage(self.new_id(), request.match_info["token"], body, files)
        self.followups.append(recorded)
        self._recorded()
        return _json(200, self._message_object("0", body, recorded.message_id))

    async def _edit_original(self, request: web.Request) -> web.Response:
        return await self._followup(request)

    async def slash(self, subcommand: str, options: list[dict[str, Any]] | None = None, **where: Any) -> RecordedCallback:
        """A user types `/arxiv <subcommand>` (see `slash_interaction` for `where`); returns the bot's first answer."""
        interaction = slash_interaction(self, subcommand, options, **where)
        await self.dispatch("INTERACTION_CREATE", interaction)
        await self.wait_for(lambda: any(c.interaction_id == interaction["id"] for c in self.callbacks))
        return next(c for c in self.callbacks if c.interaction_id == interaction["id"])

    async def press(self, message: RecordedMessage, custom_id: str, **who: Any) -> RecordedCallback:
        """A reader presses the button `custom_id` under a message the bot posted; returns the bot's answer."""
        echoed = self._message_object(message.channel_id, message.body, message.message_id)
        if not any(button.get("custom_id") == custom_id for row in echoed["components"] for button in row["components"]):
            raise AssertionError(f"no button {custom_id!r} under message {message.message_id}")
        interaction = button_interaction(self, echoed, custom_id, **who)
        await self.dispatch("INTERACTION_CREATE", interaction)
        await self.wait_for(lambda: any(c.interaction_id == interaction["id"] for c in self.callbacks))
        return next(c for c in self.callbacks if c.interaction_id == interaction["id"])

    # ---- waiting ----
    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `condition()` holds, re-checking after every recorded request (and every 50 ms, for
        conditions on state the bot updates after the fake answered); fail after `timeout`."""
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), RECHECK_SECONDS)


@asynccontextmanager
async def running_fake_discord(token: str = "fake-bot-token") -> AsyncIterator[FakeDiscord]:
    """Serve a FakeDiscord on a free loopback port in the current event loop."""
    fake = FakeDiscord(token)
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")
    try:
        yield fake
    finally:
        for socket in list(fake._sockets):
            await socket.close()
        await server.close()
