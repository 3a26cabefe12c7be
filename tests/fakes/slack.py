"""A loopback fake of Slack's Web API (auth.test, chat.postMessage, users.info, conversations.info) and response_url.

chat.postMessage checks a message as Slack does: at most 50 blocks, each valid Block Kit (slack_sdk's own
models check the per-block limits), and at most 40,000 characters of text; it answers `invalid_blocks`
or `msg_too_long` otherwise, like Slack.
"""
from __future__ import annotations

import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "test-signing-secret"
RESPONSE_URL_USES = 5  # Slack accepts five answers per response_url
MAX_BLOCKS = 50
MAX_TEXT_CHARS = 40_000


@dataclass
class FakeSlackState:
    """What the fake has received, and the faults it will answer with next."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # posts to response_url
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channel_errors: dict[str, str] = field(default_factory=dict)  # channel -> Slack error name
    rate_limits_left: int = 0
    retry_after_seconds: int = 1
    rate_limited_answers: int = 0
    calls: list[str] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)  # Socket Mode envelope acks
    rejected: list[str] = field(default_factory=list)  # errors answered for messages Slack would refuse
    block_errors: deque[str] = field(default_factory=deque)  # refuse the next messages with blocks with these
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)  # file id -> filename, length, content
    files: list[dict[str, Any]] = field(default_factory=list)  # files shared in a channel: channel, filename, title, content
    _ts: Any = field(default_factory=lambda: itertools.count(1))

    def messages_to(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("channel") == channel]


async def _body(request: web.Request) -> dict[str, Any]:
    if request.method == "GET":
        return dict(request.query)
    raw = await request.read()
    if request.content_type == "application/json":
        return json.loads(raw or b"{}")
    # Some methods (files.getUploadURLExternal) send their arguments in the query string of a POST.
    return dict(request.query) | {key: values[-1] for key, values in parse_qs(raw.decode()).items()}


def _answer(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(payload, status=status, headers=headers)


def message_error(body: dict[str, Any]) -> str | None:
    """The error Slack answers for a chat.postMessage body it refuses, or None when it takes it."""
    blocks = body.get("blocks") or []
    if isinstance(blocks, str):  # form-encoded requests carry blocks as a JSON string
        blocks = json.loads(blocks)
    if len(body.get("text") or "") > MAX_TEXT_CHARS:
        return "msg_too_long"
    if not blocks and not body.get("text"):
        return "no_text"
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    try:
        for block in blocks:
            parsed = Block.parse(block)
            if parsed is None:
                return "invalid_blocks"
            parsed.validate_json()
    except (SlackObjectFormationError, KeyError, TypeError, ValueError):
        return "invalid_blocks"
    return None


def _complete_upload(state: FakeSlackState, body: dict[str, Any]) -> web.Response:
    """files.completeUploadExternal: share uploaded files in a channel, as Slack does only where the bot is a member."""
    channel = body.get("channel_id", "")
    if channel in state.channel_errors:
        return _answer({"ok": False, "error": state.channel_errors[channel]})
    shared = body.get("files") or []
    shared = json.loads(shared) if isinstance(shared, str) else shared
    uploads = [state.uploads.get(item.get("id", "")) for item in shared]
    if not shared or any(upload is None or upload["content"] is None for upload in uploads):
        return _answer({"ok": False, "error": "file_not_found"})
    for item, upload in zip(shared, uploads):
        state.files.append({"channel": channel, "filename": upload["filename"], "title": item.get("title"), "content": upload["content"]})
    return _answer({"ok": True, "files": [{"id": item["id"], "title": item.get("title")} for item in shared]})


def build_slack_app(state: FakeSlackState) -> web.Application:
    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        state.calls.append(method)
        if method == "apps.connections.open":
            if request.headers.get("Authorization") != f"Bearer {APP_TOKEN}":
                return _answer({"ok": False, "error": "invalid_auth"})
            return _answer({"ok": True, "url": f"ws://{request.host}/socket"})
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return _answer({"ok": False, "error": "invalid_auth"})
        body = await _body(request)
        if method == "auth.test":
            return _answer({"ok": True, "user_id": "UBOT", "team_id": "T1", "bot_id": "B1", "user": "arxiv"})
        if method == "users.info":
            user = state.users.get(body.get("user", ""))
            return _answer({"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"})
        if method == "conversations.info":
            channel = body.get("channel", "")
            archived = state.channel_errors.get(channel) == "is_archived"
            return _answer({"ok": True, "channel": {"id": channel, "is_archived": archived}})
        if method == "chat.postMessage":
            if state.rate_limits_left > 0:
                state.rate_limits_left -= 1
                state.rate_limited_answers += 1
                return _answer(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(state.retry_after_seconds)},
                )
            channel = body.get("channel", "")
            if channel in state.channel_errors:
                return _answer({"ok": False, "error": state.channel_errors[channel]})
            error = message_error(body) or (state.block_errors.popleft() if body.get("blocks") and state.block_errors else None)
            if error is not None:
                state.rejected.append(error)
                return _answer({"ok": False, "error": error})
            ts = f"1700000000.{next(state._ts):06d}"
            state.messages.append({**body, "ts": ts})
            return _answer({"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text")}})
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(state.uploads) + 1:04d}"
            state.uploads[file_id] = {"filename": body.get("filename"), "length": int(body.get("length") or 0), "content": None}
            return _answer({"ok": True, "file_id": file_id, "upload_url": f"http://{request.host}/upload/{file_id}"})
        if method == "files.completeUploadExternal":
            return _complete_upload(state, body)
        return _answer({"ok": False, "error": "unknown_method"})

    async def upload(request: web.Request) -> web.Response:
        """The upload URL files.getUploadURLExternal hands out: the file's bytes, of the length announced."""
        upload = state.uploads.get(request.match_info["file_id"])
        content = await request.read()
        if upload is None or len(content) != upload["length"]:
            return web.Response(status=400, text="bad upload")
        upload["content"] = content
        return web.Response(text="OK - " + str(len(content)))

    async def response_url(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if sum(1 for response in state.responses if response["key"] == key) >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        state.responses.append({"key": key, **json.loads(await request.read())})
        return web.Response(text="ok")

    async def socket(request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: hello first, then envelopes the test pushes; every ack is recorded."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        state.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        async for message in ws:
            if message.type == web.WSMsgType.TEXT:
                state.socket_acks.append(json.loads(message.data))
        return ws

    app = web.Application()
    app.router.add_get("/socket", socket)
    app.router.add_route("*", "/api/{method}", api)
    app.router.add_post("/response/{key}", response_url)
    app.router.add_post("/upload/{file_id}", upload)
    return app
