"""A loopback fake of the Telegram Bot API: long polling, messages checked like Telegram checks them, faults and flood limits."""
from __future__ import annotations

import asyncio
import datetime as dt
import html
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from core.models import Digest, Keyword, KeywordMatch, Paper, ScoredPaper, Summary

MESSAGE_LIMIT = 4096
OVERALL_PER_SECOND = 30
CHAT_SPACING_SECONDS = 1.0
GROUP_PER_MINUTE = 20
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler", "span", "blockquote"}
_JSON_FIELDS = {
    "chat_id", "user_id", "offset", "timeout", "limit", "message_id", "reply_markup", "link_preview_options",
    "disable_web_page_preview", "commands", "scope", "allowed_updates", "entities", "reply_parameters",
    "reply_to_message_id", "show_alert", "drop_pending_updates", "max_connections",
}
_TAG = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:="[^"<>]*")?)*)\s*>')
_ATTRIBUTE = re.compile(r'([a-zA-Z-]+)(?:="([^"<>]*)")?')
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message mirrors Telegram's wording."""


def _check_tag(name: str, attributes: dict[str, str | None], stack: list[str], offset: int) -> None:
    if name not in ALLOWED_TAGS:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
    if stack and stack[-1] in ("code", "pre") and not (stack[-1] == "pre" and name == "code"):
        raise EntityParseError(f'Can\'t nest "{name}" inside "{stack[-1]}" at byte offset {offset}')
    if name == "a" and ("a" in stack or not attributes.get("href")):
        raise EntityParseError(f"Bad link at byte offset {offset}")
    allowed = {"a": {"href"}, "span": {"class"}, "code": {"class"}, "blockquote": {"expandable"}}.get(name, set())
    if set(attributes) - allowed:
        raise EntityParseError(f'Unsupported attribute in tag "{name}" at byte offset {offset}')
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')


def parse_telegram_html(markup: str) -> str:
    """The text Telegram would keep after parsing `markup` as HTML, or EntityParseError like Telegram's 400."""
    visible: list[str] = []
    stack: list[str] = []
    position = 0
    while position < len(markup):
        char = markup[position]
        offset = len(markup[:position].encode())
        if char == "<":
            tag = _TAG.match(markup, position)
            if tag is None:
                raise EntityParseError(f"Unexpected end of name token at byte offset {offset}")
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if closing:
                if not stack or stack[-1] != name:
                    raise EntityParseError(f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1] if stack else ""}>", found "</{name}>"')
                stack.pop()
            else:
                attributes = {m.group(1).lower(): m.group(2) for m in _ATTRIBUTE.finditer(tag.group(3))}
                _check_tag(name, attributes, stack, offset)
                stack.append(name)
            position = tag.end()
        elif char == "&":
            entity = _ENTITY.match(markup, position)
            if entity is None:
                raise EntityParseError(f"Unsupported HTML entity at byte offset {offset}")
            visible.append(html.unescape(entity.group(0)))
            position = entity.end()
        else:
            visible.append(char)
            position += 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(visible)


def telegram_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units, after trimming surrounding whitespace."""
    return len(text.strip().encode("utf-16-le")) // 2


@dataclass(frozen=True)
class SentMessage:
    """A message the fake accepted, as the chat would show it."""

    message_id: int
    chat_id: int
    text: str
    parse_mode: str | None
    visible: str
    reply_markup: dict[str, Any] | None
    previews_disabled: bool
    at: float


@dataclass(frozen=True)
class SentDocument:
    """A file the fake accepted through sendDocument."""

    message_id: int
    chat_id: int
    filename: str
    content: bytes
    caption: str


@dataclass
class Fault:
    """An error to answer the next matching sendMessage with."""

    status: int
    description: str
    chat_id: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    after: int = 0  # matching sends to let through first


class FakeTelegram:
    """The Bot API for one bot token, served on 127.0.0.1 by `serve()` in the test's event loop."""

    def __init__(self, token: str = "123456:TEST-token", username: str = "arxiv_digest_bot", *,
                 enforce_rate_limits: bool = False, long_poll_hold: float = 1.0) -> None:
        self.token = token
        self.username = username
        self.enforce_rate_limits = enforce_rate_limits
        self.long_poll_hold = long_poll_hold
        self.url = ""
        self.sent: list[SentMessage] = []
        self.calls: list[str] = []
        self.commands: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self.callback_answers: list[dict[str, Any]] = []
        self.documents: list[SentDocument] = []
        self.member_status: dict[tuple[int, int], str] = {}
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.faults: deque[Fault] = deque()
        self.rejected: list[tuple[int, str]] = []  # (chat_id, description) of every error answer
        self.too_many_requests = 0
        self.rejected_tokens = 0  # calls answered 401 because they carried another token
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._recent_sends: deque[float] = deque()
        self._last_send: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._changed: asyncio.Event | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/bot{token}/{method}", self._dispatch)

    @property
    def api_base_url(self) -> str:
        """What to configure as TelegramSettings.api_base_url (the client appends token and method)."""
        return f"{self.url}/bot"

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[FakeTelegram]:
        self._changed = asyncio.Event()
        runner = web.AppRunner(self.app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        try:
            yield self
        finally:
            self._notify()
            await runner.cleanup()

    # ---- what tests do in a chat -------------------------------------------------------------
    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    def _chat(self, chat_id: int, chat_type: str, title: str) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = f"User{chat_id}"
        else:
            chat["title"] = title or f"Group {chat_id}"
        return chat

    def _inject(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, kind: payload})
        self._notify()
        return update_id

    def type_message(self, chat_id: int, user_id: int, text: str, *, chat_type: str = "private", title: str = "") -> int:
        """A user types `text`; a leading /command gets the bot_command entity Telegram adds."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": int(time.time()),
            "chat": self._chat(chat_id, chat_type, title), "from": self._user(user_id), "text": text,
        }
        command = re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return self._inject("message", message)

    def press_button(self, chat_id: int, user_id: int, data: str, message_id: int = 1) -> int:
        query = {
            "id": str(next(self._update_ids) * 1000), "from": self._user(user_id), "chat_instance": str(chat_id),
            "data": data,
            "message": {"message_id": message_id, "date": int(time.time()), "chat": self._chat(chat_id, "private", ""), "text": "digest"},
        }
        return self._inject("callback_query", query)

    def migrate_group(self, old_chat_id: int, new_chat_id: int) -> int:
        """The group becomes a supergroup: the service message arrives and the old id stops working."""
        self.migrated[old_chat_id] = new_chat_id
        message = {
            "message_id": next(self._message_ids), "date": int(time.time()),
            "chat": self._chat(old_chat_id, "group", ""), "from": self._user(1), "migrate_to_chat_id": new_chat_id,
        }
        return self._inject("message", message)

    def bot_membership(self, chat_id: int, user_id: int, status: str, *, chat_type: str = "private") -> int:
        """The bot's own status in a chat changes (`kicked`: blocked or removed, `left`, `member`): a my_chat_member update."""
        bot = {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "Digest", "username": self.username}
        update = {
            "chat": self._chat(chat_id, chat_type, ""), "from": self._user(user_id), "date": int(time.time()),
            "old_chat_member": {"status": "member", "user": bot},
            "new_chat_member": {"status": status, "user": bot} | ({"until_date": 0} if status == "kicked" else {}),
        }
        return self._inject("my_chat_member", update)

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        self.member_status[(chat_id, user_id)] = status

    def fail_next(self, status: int, description: str, *, chat_id: int | None = None, count: int = 1, after: int = 0,
                  **parameters: Any) -> None:
        """Answer `count` matching sendMessage calls, once `after` have passed, with this error (e.g. 429, retry_after=1)."""
        for index in range(count):
            self.faults.append(Fault(status, description, chat_id, parameters, after if index == 0 else 0))

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        return [message for message in self.sent if message.chat_id == chat_id]

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Return once `condition()` holds, re-checking whenever the fake changes; AssertionError at the deadline."""
        assert self._changed is not None, "serve() the fake first"
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out; sent so far: {[m.visible[:60] for m in self.sent]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_for(self, count: int, chat_id: int | None = None, timeout: float = 5.0) -> list[SentMessage]:
        """The messages sent (to `chat_id`) once there are at least `count`."""
        def found() -> list[SentMessage]:
            return self.sent if chat_id is None else self.messages_to(chat_id)

        await self.wait_until(lambda: len(found()) >= count, timeout)
        return found()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()

    # ---- the HTTP side -----------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.Response:
        # The body is read first, as the real API does: an answer before the upload ends leaves the client's connection stuck.
        form = await request.post()
        params = {key: _decode(key, value) for key, value in form.items() if isinstance(value, str)}
        params |= {key: value for key, value in form.items() if isinstance(value, web.FileField)}
        if request.match_info["token"] != self.token:
            self.rejected_tokens += 1
            self._notify()
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        self.calls.append(method)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            return await handler(params)
        finally:
            self._notify()  # every call can be what a test waits for

    async def _api_getMe(self, params: dict[str, Any]) -> web.Response:
        bot_id = int(self.token.split(":")[0])
        return _ok({"id": bot_id, "is_bot": True, "first_name": "arXiv digest", "username": self.username,
                    "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False})

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = None
        return _ok(True)

    async def _api_setWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = params
        return _ok(True)

    async def _api_setMyCommands(self, params: dict[str, Any]) -> web.Response:
        self.commands = params.get("commands", [])
        return _ok(True)

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:
        self.callback_answers.append(params)
        self._notify()
        return _ok(True)

    async def _api_getChatMember(self, params: dict[str, Any]) -> web.Response:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = self.member_status.get((chat_id, user_id), "member")
        member: dict[str, Any] = {"status": status, "user": self._user(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        if status == "administrator":
            member |= {flag: False for flag in (
                "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users",
                "can_post_stories", "can_edit_stories", "can_delete_stories")}
        return _ok(member)

    async def _api_getUpdates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        self._updates = [update for update in self._updates if update["update_id"] >= offset]
        wait = min(float(params.get("timeout") or 0), self.long_poll_hold)
        if not self._updates and wait > 0 and self._changed is not None:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), wait)
            except TimeoutError:
                pass
        allowed = set(params.get("allowed_updates") or ())
        if allowed:  # like Telegram: kinds the bot did not ask for are never delivered
            self._updates = [update for update in self._updates if set(update) & allowed]
        return _ok(self._updates[: int(params.get("limit") or 100)])

    async def _api_sendMessage(self, params: dict[str, Any]) -> web.Response:
        chat_id = int(params["chat_id"])
        rejection = self._refuse(chat_id)
        if rejection is not None:
            return rejection
        text, parse_mode = params.get("text", ""), params.get("parse_mode")
        try:
            visible = parse_telegram_html(text) if parse_mode == "HTML" else text
        except EntityParseError as exc:
            return self._reject(chat_id, 400, f"Bad Request: can't parse entities: {exc}")
        if not visible.strip():
            return self._reject(chat_id, 400, "Bad Request: message text is empty")
        if telegram_length(visible) > MESSAGE_LIMIT:
            return self._reject(chat_id, 400, "Bad Request: message is too long")
        now = time.monotonic()
        self._record_send(chat_id, now)
        preview = params.get("link_preview_options") or {}
        message = SentMessage(next(self._message_ids), chat_id, text, parse_mode, visible, params.get("reply_markup"),
                              bool(preview.get("is_disabled") or params.get("disable_web_page_preview")), now)
        self.sent.append(message)
        self._notify()
        return _ok({"message_id": message.message_id, "date": int(time.time()),
                    "chat": self._chat(chat_id, "private" if chat_id > 0 else "supergroup", ""), "text": visible})

    async def _api_sendDocument(self, params: dict[str, Any]) -> web.Response:
        """A file upload (multipart): kept with its name and bytes; Telegram refuses an empty one."""
        chat_id = int(params["chat_id"])
        rejection = self._refuse(chat_id)
        if rejection is not None:
            return rejection
        upload = params.get("document")
        if not isinstance(upload, web.FileField):
            return self._reject(chat_id, 400, "Bad Request: there is no document in the request")
        content = upload.file.read()
        if not content:
            return self._reject(chat_id, 400, "Bad Request: file must be non-empty")
        document = SentDocument(next(self._message_ids), chat_id, upload.filename, content, params.get("caption", ""))
        self.documents.append(document)
        self._notify()
        return _ok({"message_id": document.message_id, "date": int(time.time()),
                    "chat": self._chat(chat_id, "private" if chat_id > 0 else "supergroup", ""),
                    "document": {"file_id": f"doc{document.message_id}", "file_unique_id": f"u{document.message_id}",
                                 "file_name": upload.filename, "file_size": len(content)}})

    def _refuse(self, chat_id: int) -> web.Response | None:
        """Injected faults, then the chat's state, then flood control, like the real server's order."""
        for fault in list(self.faults):
            if fault.chat_id in (None, chat_id):
                if fault.after > 0:
                    fault.after -= 1
                    break
                self.faults.remove(fault)
                return self._reject(chat_id, fault.status, fault.description, fault.parameters)
        if chat_id in self.blocked:
            return self._reject(chat_id, 403, "Forbidden: bot was blocked by the user")
        if chat_id in self.migrated:
            return self._reject(chat_id, 400, "Bad Request: group chat was upgraded to a supergroup chat",
                                {"migrate_to_chat_id": self.migrated[chat_id]})
        wait = self._flood_wait(chat_id, time.monotonic()) if self.enforce_rate_limits else 0.0
        if wait > 0:
            return self._reject(chat_id, 429, f"Too Many Requests: retry after {math.ceil(wait)}",
                                {"retry_after": math.ceil(wait)})
        return None

    def _flood_wait(self, chat_id: int, now: float) -> float:
        """Seconds until this message would be within 30/s overall, 1/s per chat and 20/min per group."""
        while self._recent_sends and self._recent_sends[0] <= now - 1:
            self._recent_sends.popleft()
        waits = [0.0]
        if len(self._recent_sends) >= OVERALL_PER_SECOND:
            waits.append(self._recent_sends[0] + 1 - now)
        if chat_id in self._last_send:
            waits.append(self._last_send[chat_id] + CHAT_SPACING_SECONDS - now)
        group = self._group_sends.get(chat_id)
        if chat_id < 0 and group:
            while group and group[0] <= now - 60:
                group.popleft()
            if len(group) >= GROUP_PER_MINUTE:
                waits.append(group[0] + 60 - now)
        return max(waits)

    def _record_send(self, chat_id: int, now: float) -> None:
        self._recent_sends.append(now)
        self._last_send[chat_id] = now
        if chat_id < 0:
            self._group_sends.setdefault(chat_id, deque()).append(now)

    def _reject(self, chat_id: int, status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
        self.rejected.append((chat_id, description))
        if status == 429:
            self.too_many_requests += 1
        self._notify()
        return _error(status, description, parameters)


def _decode(key: str, value: str) -> Any:
    """PTB form-encodes non-string values as JSON; strings (text, parse_mode) arrive as they are."""
    if key not in _JSON_FIELDS:
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


SAMPLE_PAPERS = Path(__file__).parent.parent / "fixtures" / "telegram" / "cs_cl_2025-10-22.json"


def sample_digest(count: int = 60, summaries: dict[int, str] | None = None,
                  day: dt.date = dt.date(2025, 10, 22)) -> Digest:
    """A digest of `count` real cs.CL papers (with summaries for the given positions), as scoring would hand it over."""
    rows = json.loads(SAMPLE_PAPERS.read_text(encoding="utf-8"))[:count]
    keywords = (Keyword("LLM", 2.0), Keyword("language model"))
    scored = tuple(
        ScoredPaper(
            Paper(arxiv_id=row["id"], version=1, title=" ".join(row["title"].split()), authors=tuple(row["authors"]),
                  abstract=row["summary"], categories=tuple(row["categories"]), primary_category=row["categories"][0],
                  announced=day),
            score=round(10 - position * 0.1, 1),
            matches=(KeywordMatch("LLM", True, True, 4.0),) if position % 2 == 0 else (),
        )
        for position, row in enumerate(rows)
    )
    summary_objects = {
        scored[position].paper.arxiv_id: Summary(scored[position].paper.arxiv_id, 1, "qwen-long", "en", "v1", "abstract", text)
        for position, text in (summaries or {}).items()
    }
    return Digest(day, scored, ("cs.CL",), keywords, considered=480,
                  generated_at=dt.datetime(2025, 10, 22, 8, 0, tzinfo=dt.timezone.utc), summaries=summary_objects)
