"""A loopback fake of Discord's REST API and gateway, strict about message limits, with fault injection.

Real discord.py talks to it: REST under `/api/v10` (point `DiscordSettings.api_base_url` at
`fake.api_url`) and the gateway as a websocket at `/gateway` (`fake.gateway_url`). Tests inject
slash-command interactions through the gateway exactly as Discord would, and read back what the
bot sent (`messages`, `callbacks`, `followups`, `synced_commands`). Every reply carries
`Content-Type: application/json` with no charset suffix, as discord.py requires.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from core.models import Digest, Keyword, KeywordMatch, Paper, ScoredPaper, Summary

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway"
HEARTBEAT_INTERVAL_MS = 41250

# Discord's documented limits, enforced server-side here because discord.py only checks the embed count.
CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_NAME_LIMIT = 256
AUTOCOMPLETE_CHOICES_LIMIT = 25
CHOICE_TEXT_LIMIT = 100
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
COMMAND_DESCRIPTION_LIMIT = 100
COMMAND_OPTIONS_LIMIT = 25

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


@dataclass(frozen=True)
class RecordedMessage:
    """A message the fake accepted: where it went and the JSON the bot sent."""

    message_id: str
    channel_id: str
    body: dict[str, Any]

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


def _form_error(path: list[str], code: str, message: str) -> dict[str, Any]:
    """Discord's nested "Invalid Form Body" error for one offending key path."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return {"message": "Invalid Form Body", "code": 50035, "errors": errors}


def _too_long(path: list[str], limit: int) -> dict[str, Any]:
    return _form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def embed_length(embed: dict[str, Any]) -> int:
    """Characters Discord counts towards the 6000 per message: title, description, fields, footer, author."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in embed.get("fields") or [])
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def message_problem(body: dict[str, Any]) -> dict[str, Any] | None:
    """Discord's error JSON for a message body that breaks a limit, or None when it is valid."""
    content = body.get("content") or ""
    embeds = body.get("embeds") or []
    if len(content) > CONTENT_LIMIT:
        return _too_long(["content"], CONTENT_LIMIT)
    if not content and not embeds:
        return {"message": "Cannot send an empty message", "code": 50006}
    if len(embeds) > EMBEDS_PER_MESSAGE:
        return _too_long(["embeds"], EMBEDS_PER_MESSAGE)
    for index, embed in enumerate(embeds):
        at = ["embeds", str(index)]
        checks = [
            (["title"], embed.get("title") or "", EMBED_TITLE_LIMIT),
            (["description"], embed.get("description") or "", EMBED_DESCRIPTION_LIMIT),
            (["footer", "text"], (embed.get("footer") or {}).get("text") or "", FOOTER_LIMIT),
            (["author", "name"], (embed.get("author") or {}).get("name") or "", AUTHOR_NAME_LIMIT),
        ]
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_LIMIT:
            return _too_long([*at, "fields"], EMBED_FIELDS_LIMIT)
        for number, embed_field in enumerate(fields):
            for key, limit in (("name", FIELD_NAME_LIMIT), ("value", FIELD_VALUE_LIMIT)):
                text = embed_field.get(key) or ""
                if not text.strip():
                    return _form_error([*at, "fields", str(number), key], "BASE_TYPE_REQUIRED", "This field is required")
                checks.append((["fields", str(number), key], text, limit))
        for path, text, limit in checks:
            if len(text) > limit:
                return _too_long([*at, *path], limit)
    if sum(embed_length(embed) for embed in embeds) > EMBED_TOTAL_LIMIT:
        return _form_error(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    return None


def _options_problem(options: list[dict[str, Any]], at: list[str]) -> dict[str, Any] | None:
    if len(options) > COMMAND_OPTIONS_LIMIT:
        return _too_long([*at, "options"], COMMAND_OPTIONS_LIMIT)
    seen_optional = False
    for index, option in enumerate(options):
        where = [*at, "options", str(index)]
        problem = _command_problem(option, where)
        if problem:
            return problem
        if option.get("type") in (1, 2):
            continue
        if option.get("required") and seen_optional:
            return _form_error(where, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
        seen_optional = seen_optional or not option.get("required")
        if len(option.get("choices") or []) > AUTOCOMPLETE_CHOICES_LIMIT:
            return _too_long([*where, "choices"], AUTOCOMPLETE_CHOICES_LIMIT)
    return None


def _command_problem(command: dict[str, Any], at: list[str]) -> dict[str, Any] | None:
    """Discord's rules for command and option names, descriptions and nesting."""
    name = command.get("name") or ""
    if not COMMAND_NAME.match(name) or name != name.lower():
        return _form_error([*at, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    description = command.get("description") or ""
    if not 1 <= len(description) <= COMMAND_DESCRIPTION_LIMIT:
        return _too_long([*at, "description"], COMMAND_DESCRIPTION_LIMIT)
    return _options_problem(command.get("options") or [], at)


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
        self.application_id = str(next(self._ids))
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
            "owner": {**self.bot_user, "bot": False, "id": str(next(self._ids)), "username": "owner"},
            "team": None,
            "summary": "",
        })

    async def _sync_commands(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json(401, {"message": "401: Unauthorized", "code": 0})
        commands = await request.json()
        for index, command in enumerate(commands):
            problem = _command_problem(command, [str(index)])
            if problem:
                self.rejected.append(problem)
                return _json(400, problem)
        self.synced_commands = commands
        self._recorded()
        stored = [{**command, "id": str(next(self._ids)), "application_id": self.application_id, "version": "1", "type": command.get("type", 1)} for command in commands]
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
            "components": [],
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
        recorded = RecordedMessage(str(next(self._ids)), channel_id, body)
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
            too_long = any(len(c["name"]) > CHOICE_TEXT_LIMIT or len(str(c["value"])) > CHOICE_TEXT_LIMIT for c in choices)
            problem = _too_long(["data", "choices"], AUTOCOMPLETE_CHOICES_LIMIT) if len(choices) > AUTOCOMPLETE_CHOICES_LIMIT or too_long else None
        else:
            problem = None
        if problem:
            self.rejected.append(problem)
            self._recorded()
            return _json(400, problem)
        self.callbacks.append(RecordedCallback(interaction_id, request.match_info["token"], body))
        self._recorded()
        message_id = str(next(self._ids))
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
        body, refusal = await self._checked_body(request)
        if refusal is not None:
            return refusal
        recorded = RecordedMessage(str(next(self._ids)), request.match_info["token"], body)
        self.followups.append(recorded)
        self._recorded()
        return _json(200, self._message_object("0", body, recorded.message_id))

    async def _edit_original(self, request: web.Request) -> web.Response:
        return await self._followup(request)

    # ---- waiting ----
    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `condition()` holds, re-checking after every recorded request; fail after `timeout`."""
        async with asyncio.timeout(timeout):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


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


def slash_interaction(
    fake: FakeDiscord,
    subcommand: str,
    options: list[dict[str, Any]] | None = None,
    *,
    channel_id: str,
    guild_id: str | None = None,
    user_id: str = "4242",
    permissions: int = 0,
    interaction_type: int = 2,
    channel_name: str = "papers",
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload for `/arxiv <subcommand>` as Discord sends it (guild or DM)."""
    user = {"id": user_id, "username": f"user{user_id}", "discriminator": "0", "global_name": None, "avatar": None}
    interaction: dict[str, Any] = {
        "id": str(next(fake._ids)),
        "application_id": fake.application_id,
        "type": interaction_type,
        "token": f"itoken-{next(fake._ids)}",
        "version": 1,
        "locale": "en-US",
        "attachment_size_limit": 10 * 1024 * 1024,
        "app_permissions": str((1 << 53) - 1),
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id} if guild_id else {"1": user_id},
        "context": 0 if guild_id else 1,
        "channel_id": channel_id,
        "data": {
            "id": str(next(fake._ids)),
            "name": "arxiv",
            "type": 1,
            "options": [{"type": 1, "name": subcommand, "options": options or []}],
        },
    }
    if guild_id:
        interaction["guild_id"] = guild_id
        interaction["guild_locale"] = "en-US"
        interaction["channel"] = {"id": channel_id, "type": 0, "guild_id": guild_id, "name": channel_name, "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None}
        interaction["member"] = {
            "user": user,
            "roles": [],
            "joined_at": "2026-01-01T00:00:00.000000+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(permissions),
        }
    else:
        interaction["channel"] = {"id": channel_id, "type": 1, "recipients": [user]}
        interaction["user"] = user
    return interaction


# ---- real papers for digests ----
PAPERS_FIXTURE = Path(__file__).parent.parent / "fixtures" / "discord" / "papers.jsonl"


def fixture_papers(count: int) -> list[Paper]:
    """The first `count` real arXiv records of the fixture (arXiv's metadata snapshot) as Papers."""
    papers = []
    for line in PAPERS_FIXTURE.read_text(encoding="utf-8").splitlines()[:count]:
        record = json.loads(line)
        categories = tuple(record["categories"].split())
        papers.append(
            Paper(
                arxiv_id=record["id"],
                version=int(record["versions"][-1]["version"].lstrip("v")),
                title=" ".join(record["title"].split()),
                authors=tuple(" ".join(part for part in (given, family) if part) for family, given, *_ in record["authors_parsed"]),
                abstract=" ".join(record["abstract"].split()),
                categories=categories,
                primary_category=categories[0],
                announced=dt.date(2026, 9, 24),
            )
        )
    return papers


def fixture_digest(count: int, *, summary_text: str | None = None) -> Digest:
    """A digest of `count` real papers, each with `summary_text` as its summary when given."""
    papers = fixture_papers(count)
    scored = tuple(
        ScoredPaper(paper, score=10.0 - index / 10, matches=(KeywordMatch("quantum", True, False, 3.0),))
        for index, paper in enumerate(papers)
    )
    summaries = {}
    if summary_text is not None:
        summaries = {p.arxiv_id: Summary(p.arxiv_id, p.version, "qwen-long", "en", "v1", "abstract", summary_text) for p in papers}
    return Digest(
        announcement_day=dt.date(2026, 9, 24),
        papers=scored,
        categories=("hep-ph", "math.CO"),
        keywords=(Keyword("quantum"),),
        considered=200,
        generated_at=dt.datetime(2026, 9, 24, 8, 0, tzinfo=dt.timezone.utc),
        summaries=summaries,
    )
