"""Slack: the `/arxiv` slash command and channel digests through slack-bolt, over signed HTTP or Socket Mode."""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.base import (
    ChatGone,
    CommandHandler,
    DeliveryError,
    EventSink,
    FormattingRejected,
    MessageKind,
    OutgoingMessage,
    attachment_as_text,
    button_event,
    ignore_events,
    reply_messages,
)
from adapters.slack_render import MAX_SECTION_CHARS, escape_mrkdwn, render_digest_messages, render_reply
from adapters.slack_requests import SlackRequestGate
from core.commands import COMMAND_SPECS
from core.commands.parsing import split_command
from core.config import ConfigError, Settings, SlackSettings, secret
from core.render.chunks import split_blocks
from core.models import Attachment, ChatRef, CommandContext, Digest, Reply

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
SLASH_COMMAND = "/arxiv"
SLOW_COMMANDS = frozenset(spec.name for spec in COMMAND_SPECS if spec.slow)  # acked first, answered through response_url
PAPER_ACTION = re.compile(r"feedback[+-]1|save")  # the action_ids of the 👍/👎/🔖 buttons under a digest's papers
FAST_REPLY_SECONDS = 2.5  # Slack wants the ack within 3 s
RATE_LIMIT_RETRIES = 3
# Errors after which posting to the channel can never work again.
GONE_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "team_access_not_granted"}
)
FORMAT_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text"})
RESPONSE_URL_MAX_MESSAGES = 5  # Slack accepts at most five uses of one response_url


class SlackAdapter:
    """One workspace's bot: answers `/arxiv`, posts digests, reports who may change a channel's settings and 👍/👎 presses."""

    platform = "slack"

    def __init__(
        self,
        settings: SlackSettings,
        bot_token: str,
        signing_secret: str,
        app_token: str | None = None,
        events: EventSink = ignore_events,
    ) -> None:
        self.settings = settings
        self._bot_token = bot_token
        self._app_token = app_token
        self._events = events
        self.client = AsyncWebClient(token=bot_token, base_url=settings.api_base_url)
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
        self._identity: AuthorizeResult | None = None
        self._handle_command: CommandHandler | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._background: set[asyncio.Task[None]] = set()

        async def authorize() -> AuthorizeResult:  # bolt passes arguments by name; this needs none
            if self._identity is None:
                await self._load_identity()
            assert self._identity is not None
            return self._identity

        self._signing_secret = signing_secret
        self.app = AsyncApp(client=self.client, signing_secret=signing_secret, authorize=authorize)
        self.app.command(SLASH_COMMAND)(self._on_command)
        self.app.action(PAPER_ACTION)(self._on_paper_button)
        self._http = AsyncSlackRequestHandler(self.app)

    async def _load_identity(self) -> None:
        answer = await self.client.auth_test()
        self._identity = AuthorizeResult(
            enterprise_id=answer.get("enterprise_id"),
            team_id=answer.get("team_id"),
            bot_user_id=answer.get("user_id"),
            bot_id=answer.get("bot_id"),
            bot_token=self._bot_token,
        )

    async def start(self, handle_command: CommandHandler) -> None:
        self._handle_command = handle_command
        await self._load_identity()
        if self.settings.mode == "socket":
            self._socket = AsyncSocketModeHandler(self.app, self._app_token)
            await self._socket.connect_async()
        log.info("slack adapter started in %s mode", self.settings.mode)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        for task in list(self._background):
            task.cancel()
        self._background.clear()

    def web_routes(self) -> list[BaseRoute]:
        """Mounted on the shared web app in HTTP mode; the gate, then bolt, verify the signature (401 otherwise)."""
        if self.settings.mode != "http":
            return []
        gate = SlackRequestGate(self._signing_secret)

        async def events(request: Request) -> Response:
            refusal = gate.refusal(request.headers, await request.body())
            return refusal or await self._http.handle(request)

        return [Route(EVENTS_PATH, events, methods=["POST"])]

    async def _may_change_settings(self, user_id: str, is_direct: bool) -> bool:
        """Their own DM, a workspace admin or owner, or anyone when the policy says so; the first-configurer
        rule (policy "admins_or_configurer") is the command core's."""
        if is_direct or self.settings.settings_change == "anyone":
            return True
        try:
            user = (await self.client.users_info(user=user_id)).get("user") or {}
        except SlackApiError as exc:
            log.warning("slack users.info failed for a settings check: %s", _error_name(exc))
            return False
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))

    async def _on_paper_button(self, ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        """A 👍/👎/🔖 under a digest's paper (block_actions): report it, and thank the reader (only they see it)."""
        await ack()
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        user_id = str((body.get("user") or {}).get("id") or "")
        pressed = button_event(str(action.get("value") or ""), ChatRef(self.platform, str(channel)), user_id) if channel else None
        if pressed is None:
            return
        event, thanks = pressed
        await self._events(event)
        await respond(response_type="ephemeral", replace_original=False, text=thanks)

    async def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        text = (command.get("text") or "").strip()
        name = split_command(text)[0] or "help"
        channel_id = command.get("channel_id", "")
        chat = ChatRef(self.platform, channel_id)
        # The channel id alone says "DM" (D...): a channel's name is chosen by its members ("directmessage" included).
        is_direct = channel_id.startswith("D")
        if self._handle_command is None:
            await ack(response_type="ephemeral", text="The bot is starting, try again in a moment.")
            return
        if name in SLOW_COMMANDS:
            await ack(response_type="ephemeral", text=f"Working on `{escape_mrkdwn(name)}`…")
            task = asyncio.create_task(self._answer_later(chat, command, text, is_direct, respond))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        # The command runs once; if it outlasts Slack's ack window the answer follows by response_url.
        running = asyncio.create_task(self._run(chat, command, text, is_direct))
        done, _ = await asyncio.wait({running}, timeout=FAST_REPLY_SECONDS)
        if done and running.result().digest is None and running.result().attachment is None:
            await ack(response_type="ephemeral", **render_reply(running.result()))
            return
        await ack(response_type="ephemeral", text="Still working on it, the answer follows.")
        await self._respond(await running, chat, respond)

    async def _run(self, chat: ChatRef, command: dict[str, Any], text: str, is_direct: bool) -> Reply:
        assert self._handle_command is not None
        user_id = command.get("user_id", "")
        context = CommandContext(
            chat=chat,
            user_id=user_id,
            can_change_settings=await self._may_change_settings(user_id, is_direct),
            chat_title=command.get("channel_name", ""),
            chat_kind="private" if is_direct else "channel",
            configurer_may_change=self.settings.settings_change == "admins_or_configurer",
        )
        return await self._handle_command(context, text or "help")

    async def _answer_later(
        self, chat: ChatRef, command: dict[str, Any], text: str, is_direct: bool, respond: Any
    ) -> None:
        reply = await self._run(chat, command, text, is_direct)
        try:
            await self._respond(reply, chat, respond)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # the ack is gone: nothing left to tell the caller
            log.warning("slack: late answer to %r in %s not delivered: %s", text.split(maxsplit=1)[:1], chat.chat_id, exc)

    async def _respond(self, reply: Reply, chat: ChatRef, respond: Any) -> None:
        """A late answer through response_url: a digest in the channel, anything else to the caller alone; then its file."""
        visibility = "ephemeral" if reply.digest is None else "in_channel"
        for payload in response_url_payloads(reply_messages(reply, render_digest_messages, _text_messages)):
            await respond(response_type=visibility, **payload)
        if reply.attachment is not None:
            await self._send_file(chat, reply.attachment, respond)

    async def _send_file(self, chat: ChatRef, attachment: Attachment, respond: Any) -> None:
        """The file uploaded to the channel; where Slack refuses it (the bot is not in the channel), its text to the caller."""
        try:
            await self.client.files_upload_v2(
                channel=chat.chat_id, content=attachment.content, filename=attachment.filename, title=attachment.filename)
        except (SlackApiError, SlackRequestError) as exc:
            reason = _error_name(exc) if isinstance(exc, SlackApiError) else "upload failed"
            log.warning("slack: file %s not uploaded to %s (%s): sent as text", attachment.filename, chat.chat_id, reason)
            for text in attachment_text_payloads(attachment, RESPONSE_URL_MAX_MESSAGES - 1):
                await respond(response_type="ephemeral", text=text)

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        return render_digest_messages(digest)

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        if plain:
            body: dict[str, Any] = {"text": escape_mrkdwn(message.plain_text)}
        else:
            body = dict(message.payload)
        try:
            answer = await self.client.chat_postMessage(
                channel=chat.chat_id, unfurl_links=False, unfurl_media=False, **body
            )
        except SlackApiError as exc:
            raise self._classify(chat, exc) from exc
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DeliveryError(f"slack unreachable: {exc.__class__.__name__}") from exc
        return str(answer.get("ts", ""))

    @staticmethod
    def _classify(chat: ChatRef, exc: SlackApiError) -> DeliveryError:
        error = _error_name(exc)
        if error in GONE_ERRORS:
            log.warning("slack channel %s is gone (%s): deactivating it", chat.chat_id, error)
            return ChatGone(error)
        if error in FORMAT_ERRORS:
            return FormattingRejected(error)
        retry_after = None
        if exc.response.status_code == 429:
            retry_after = float(exc.response.headers.get("Retry-After", 1) or 1)
        return DeliveryError(error, retry_after=retry_after)


def _error_name(exc: SlackApiError) -> str:
    data = exc.response.data
    return str(data.get("error", "unknown_error")) if isinstance(data, dict) else f"http_{exc.response.status_code}"


def _text_messages(reply: Reply) -> list[OutgoingMessage]:
    body = render_reply(reply)
    return [OutgoingMessage((), body, reply.text, MessageKind.REPLY)]


def create_adapter(settings: Settings, events: EventSink) -> SlackAdapter | None:
    """A SlackAdapter when SLACK_BOT_TOKEN is set; the mode's other secret must then be set too."""
    bot_token = secret("SLACK_BOT_TOKEN")
    if bot_token is None:
        return None
    signing_secret = secret("SLACK_SIGNING_SECRET")
    app_token = secret("SLACK_APP_TOKEN")
    if settings.slack.mode == "http" and signing_secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET must be set for Slack's HTTP mode (slack.mode = \"http\")")
    if settings.slack.mode == "socket" and app_token is None:
        raise ConfigError("SLACK_APP_TOKEN (xapp-...) must be set for Slack's Socket Mode (slack.mode = \"socket\")")
    return SlackAdapter(settings.slack, bot_token, signing_secret or "", app_token, events)


def response_url_payloads(messages: list[OutgoingMessage]) -> list[dict[str, Any]]:
    """What one response_url can carry: the digest's messages, or as many as fit plus a note on the rest."""
    if len(messages) <= RESPONSE_URL_MAX_MESSAGES:
        return [message.payload for message in messages]
    shown = messages[: RESPONSE_URL_MAX_MESSAGES - 1]
    left_out = sum(len(message.paper_ids) for message in messages[len(shown):])
    note = (
        f"…and {left_out} more papers that do not fit in one answer. "
        "Lower `/arxiv max`, or read the whole digest through `/arxiv feed`."
    )
    return [message.payload for message in shown] + [{"text": note}]


def attachment_text_payloads(attachment: Attachment, max_messages: int) -> list[str]:
    """A file's text as code blocks for messages that cannot carry the file, at most `max_messages` of them."""
    fence = "```"
    lines = escape_mrkdwn(attachment_as_text(attachment)).splitlines()
    chunks = [chunk.text for chunk in split_blocks(lines, MAX_SECTION_CHARS - 2 * len(fence), separator="\n")]
    shown = [f"{fence}{text}{fence}" for text in chunks[:max_messages]]
    if len(chunks) > max_messages:
        shown[-1] = "…the rest does not fit here: invite the bot to this channel to get the whole file."
    return shown
