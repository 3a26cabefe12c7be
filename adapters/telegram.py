"""The Telegram adapter: bot commands to the command core, digests and replies to Telegram HTML messages."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import re
import warnings
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from telegram import BotCommand, ChatMember, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning
from telegram.ext import Updater
from telegram.ext import Application, BaseRateLimiter, CallbackQueryHandler, ChatMemberHandler, ContextTypes, MessageHandler, filters

from adapters.base import (
    ChatGone,
    ChatGoneEvent,
    ChatMoved,
    ChatMovedEvent,
    CommandHandler,
    DeliveryError,
    EventSink,
    FormattingRejected,
    MessageKind,
    OutgoingMessage,
    button_event,
    ignore_events,
    reply_messages,
)
from adapters.telegram_render import Button, TelegramMessage, render_digest, render_reply, visible_text
from adapters.telegram_transport import ChatOrderedUpdates, FloodControl, TokenRedactor
from core.commands import COMMAND_SPECS
from core.config import Settings, TelegramSettings, secret
from core.models import Attachment, ChatRef, CommandContext, Digest, Reply

log = logging.getLogger(__name__)

PLATFORM = "telegram"
TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
WEBHOOK_SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_TIMEOUT_SECONDS = 10
REPLY_RETRY_MAX_SECONDS = 5.0  # a command reply waits out a short flood limit once, longer ones are dropped
ALLOWED_UPDATES = ("message", "channel_post", "callback_query", "my_chat_member")
CHAT_KINDS = {"private": "private", "group": "group", "supergroup": "group", "channel": "channel"}
SETTINGS_CHANGERS = (ChatMember.OWNER, ChatMember.ADMINISTRATOR)
BOT_GONE_STATUSES = (ChatMember.LEFT, ChatMember.BANNED)  # removed from a group, or blocked in a private chat
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# "/subscribe llm", "/subscribe@bot llm", and the typos "/subscribe,llm" or "/subscribe:llm" alike.
_COMMAND = re.compile(r"/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?(?:[\s,:;]+(.*))?", re.DOTALL)
_CHAT_GONE_REASONS = ("chat not found", "group chat was deactivated", "user is deactivated", "bot was kicked", "not enough rights to send")

def command_text(text: str, bot_username: str) -> tuple[str, bool] | None:
    """`/subscribe@bot llm` -> ("subscribe llm", True); None when the command is addressed to another bot."""
    match = _COMMAND.fullmatch(text.strip())
    if match is None:
        return None
    name, addressee, rest = match.group(1).lower(), match.group(2), (match.group(3) or "").strip()
    if addressee is not None and addressee.lower() != bot_username.lower():
        return None
    return f"{name} {rest}".strip(), addressee is not None


def webhook_secret(token: str) -> str:
    """The webhook's secret token: $TELEGRAM_WEBHOOK_SECRET, else derived from the bot token (never the token itself)."""
    return secret(WEBHOOK_SECRET_ENV) or hashlib.sha256(f"arxiv-digest webhook {token}".encode()).hexdigest()


def _keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, url=b.url, callback_data=b.callback_data) for b in row] for row in rows]
    )


def _retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int will become a timedelta; accept both
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TelegramAdapter:
    """One bot: long polling or a webhook on the shared web app; flood control on every send."""

    platform = PLATFORM

    def __init__(self, token: str, settings: TelegramSettings, *, public_url: str = "",
                 events: EventSink = ignore_events, flood_control: BaseRateLimiter[Any] | None = None) -> None:
        self.settings = settings
        self._events = events
        self._public_url = (settings.public_url or public_url).rstrip("/")
        self._secret = webhook_secret(token)
        self._redactor = TokenRedactor(token, self._secret)
        self._redactor.install()
        self._handle_command: CommandHandler | None = None
        self._known_commands = frozenset(spec.name for spec in COMMAND_SPECS)
        self._migrations: set[tuple[ChatRef, ChatRef]] = set()
        self._running = False
        self._polling_watch: asyncio.Task[None] | None = None
        self._polling_problem: str | None = None  # why long polling is not running, while it is being restarted
        file_url = re.sub(r"/bot$", "/file/bot", settings.api_base_url)
        builder = (
            Application.builder().token(token).base_url(settings.api_base_url).base_file_url(file_url)
            .rate_limiter(flood_control or FloodControl()).concurrent_updates(ChatOrderedUpdates())
        )
        if settings.mode == "webhook":
            builder = builder.updater(None)
        self.application = builder.build()
        self.application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migration))
        self.application.add_handler(MessageHandler(
            filters.COMMAND & (filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST), self._on_command))
        self.application.add_handler(MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, self._on_private_text))
        self.application.add_handler(CallbackQueryHandler(self._on_button))
        self.application.add_handler(ChatMemberHandler(self._on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        self.application.add_error_handler(self._on_error)

    # ---- lifecycle ---------------------------------------------------------------------------
    async def start(self, handle_command: CommandHandler) -> None:
        self._handle_command = handle_command
        try:
            await self.application.initialize()
            await self._publish_commands()
            await self.application.start()
            if self.settings.mode == "webhook":
                await self.application.bot.set_webhook(
                    self._public_url + self.settings.webhook_path, secret_token=self._secret,
                    allowed_updates=list(ALLOWED_UPDATES))
            else:
                await self._start_polling()
        except TelegramError as exc:
            raise DeliveryError(f"cannot start the Telegram bot: {exc}") from exc
        self._running = True
        if self.settings.mode == "polling":
            self._polling_watch = asyncio.create_task(self._keep_polling(), name="telegram-polling-watch")
        log.info("telegram bot @%s running (%s)", self.application.bot.username, self.settings.mode)

    async def _start_polling(self) -> None:
        await self.application.updater.start_polling(  # type: ignore[union-attr]
            timeout=POLL_TIMEOUT_SECONDS, allowed_updates=list(ALLOWED_UPDATES))

    async def _keep_polling(self) -> None:
        """Restart long polling whenever PTB's loop ends on its own (a 401 ends it for good), with back-off.

        PTB has no public way to tell its polling loop ended, nor to restart an Updater whose loop died
        (its stop() re-raises the loop's error and leaves it unable to poll again), so the loop's task is
        watched and a fresh Updater takes over on the same bot and update queue.
        """
        delay = self.settings.poll_restart_seconds
        while self._running:
            task: asyncio.Task | None = getattr(self.application.updater, "_Updater__polling_task", None)
            if task is not None and not task.done():
                await asyncio.wait([task])
            error = task.exception() if task is not None and task.done() and not task.cancelled() else None
            if not self._running or (task is not None and error is None):
                return  # stopped by us
            if error is not None:
                self._polling_problem = f"polling stopped ({type(error).__name__}); restarting"
            log.warning("telegram long polling stopped (%s); restarting in %.1f s", error, delay)
            await asyncio.sleep(delay)
            if not self._running:
                return
            try:
                await self._replace_updater()
            except TelegramError as exc:
                self._polling_problem = f"polling stopped ({type(exc).__name__}); restarting"
                log.warning("restarting telegram long polling failed: %s", exc)
                delay = min(delay * 2, self.settings.poll_restart_max_seconds)
                continue
            log.info("telegram long polling running again")
            self._polling_problem = None
            delay = self.settings.poll_restart_seconds

    async def _replace_updater(self) -> None:
        old = self.application.updater
        if old is not None and old.running:
            with contextlib.suppress(TelegramError):  # re-raises the dead loop's error; it has stopped all the same
                await old.stop()
        self.application.updater = Updater(self.application.bot, self.application.update_queue)
        await self.application.updater.initialize()
        await self._start_polling()

    def health_problem(self) -> str | None:
        """None while updates arrive (polling, or a webhook set); else what is wrong, for /healthz."""
        return self._polling_problem

    async def stop(self) -> None:
        was_running, self._running = self._running, False
        if self._polling_watch is not None:
            self._polling_watch.cancel()
            await asyncio.gather(self._polling_watch, return_exceptions=True)
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        if was_running:
            await self.application.shutdown()
        self._redactor.remove()

    async def _publish_commands(self) -> None:
        """The command menu clients show, from the one command registry."""
        menu = [BotCommand(spec.name, spec.summary[:256]) for spec in COMMAND_SPECS
                if re.fullmatch(r"[a-z0-9_]{1,32}", spec.name) and spec.summary]
        try:
            await self.application.bot.set_my_commands(menu[:100])
        except TelegramError as exc:
            log.warning("could not publish the telegram command menu: %s", exc)

    # ---- incoming ----------------------------------------------------------------------------
    async def _on_command(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or not message.text or self._handle_command is None:
            return
        parsed = command_text(message.text, self.application.bot.username)
        if parsed is None:
            return
        text, addressed = parsed
        if chat.type != "private" and not addressed and text.split()[0] not in self._known_commands:
            return  # probably another bot's command in a shared group
        await self._run_command(update, text)

    async def _on_private_text(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """In a private chat everything is meant for us: "/помощь" or "hello" get the core's hint, not silence."""
        message = update.effective_message
        if message is None or not message.text or self._handle_command is None:
            return
        await self._run_command(update, message.text.strip().removeprefix("/"))

    async def _run_command(self, update: Update, text: str) -> None:
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None and self._handle_command is not None
        user_id = str(update.effective_user.id) if update.effective_user else str(chat.id)
        context = CommandContext(
            chat=ChatRef(PLATFORM, str(chat.id)),
            user_id=user_id,
            can_change_settings=await self._may_change_settings(update),
            chat_title=chat.title or chat.full_name or "",
            chat_kind=CHAT_KINDS.get(chat.type, "group"),
        )
        reply = await self._handle_command(context, text)
        await self._answer(context.chat, reply, reply_to=message.message_id)

    async def _may_change_settings(self, update: Update) -> bool:
        """Private chats: always. Groups: the owner and administrators (getChatMember), or the chat itself posting."""
        chat, message, user = update.effective_chat, update.effective_message, update.effective_user
        if chat is None or chat.type == "private":
            return True
        if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous administrator, or a channel post
        if user is None:
            return False
        try:
            member = await self.application.bot.get_chat_member(chat.id, user.id)
        except TelegramError as exc:
            log.warning("getChatMember failed in chat %s: %s", chat.id, exc)
            return False
        return member.status in SETTINGS_CHANGERS

    async def _on_migration(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        await self._migrated(ChatRef(PLATFORM, str(old)), ChatRef(PLATFORM, str(new)))

    async def _migrated(self, old: ChatRef, new: ChatRef) -> None:
        """Both the old and the new chat announce a migration: act on the first only."""
        if (old, new) in self._migrations:
            return
        self._migrations.add((old, new))
        log.info("telegram chat %s became supergroup %s", old.chat_id, new.chat_id)
        await self._events(ChatMovedEvent(old, new))

    async def _on_membership(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot's own membership changed; being added back needs no event (`/start` reactivates through the commands)."""
        change = update.my_chat_member
        if change is None or change.new_chat_member.status not in BOT_GONE_STATUSES:
            return
        log.info("telegram bot left or was blocked in chat %s", change.chat.id)
        await self._events(ChatGoneEvent(ChatRef(PLATFORM, str(change.chat.id))))

    async def _on_button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query, chat = update.callback_query, update.effective_chat
        if query is None:
            return
        pressed = button_event(query.data or "", ChatRef(PLATFORM, str(chat.id)), str(query.from_user.id)) if chat else None
        if pressed is None:
            await query.answer()
            return
        event, thanks = pressed
        await self._events(event)
        await query.answer(thanks)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed: %s", context.error, exc_info=context.error)

    # ---- outgoing ----------------------------------------------------------------------------
    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        return render_digest(digest)

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        payload = message.payload
        if not isinstance(payload, TelegramMessage):
            raise FormattingRejected(f"not a Telegram message: {type(payload).__name__}")
        return await self._send(chat, message.plain_text if plain else payload.html, plain, payload.keyboard)

    async def _send(self, chat: ChatRef, text: str, plain: bool, keyboard: tuple[tuple[Button, ...], ...],
                    reply_to: int | None = None) -> str:
        try:
            sent = await self.application.bot.send_message(
                chat_id=int(chat.chat_id), text=text, parse_mode=None if plain else ParseMode.HTML,
                link_preview_options=NO_PREVIEW, reply_markup=_keyboard(keyboard),
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None)
        except ChatMigrated as exc:
            new = ChatRef(PLATFORM, str(exc.new_chat_id))
            await self._migrated(chat, new)
            raise ChatMoved(f"group {chat.chat_id} became supergroup {new.chat_id}", new) from exc
        except RetryAfter as exc:
            raise DeliveryError(f"Telegram flood limit: {exc}", retry_after=_retry_after_seconds(exc)) from exc
        except Forbidden as exc:
            raise ChatGone(str(exc)) from exc
        except BadRequest as exc:
            if any(reason in exc.message.lower() for reason in _CHAT_GONE_REASONS):
                raise ChatGone(exc.message) from exc
            raise FormattingRejected(exc.message) from exc
        except TelegramError as exc:
            raise DeliveryError(str(exc)) from exc
        return str(sent.message_id)

    async def _answer(self, chat: ChatRef, reply: Reply, reply_to: int | None = None) -> None:
        """A command's reply, or the digest it carries, then the file it carries; failures are logged, not raised."""
        for index, message in enumerate(reply_messages(reply, render_digest, _text_messages)):
            try:
                await self._send_answer(chat, message, reply_to if index == 0 else None)
            except DeliveryError as exc:
                log.warning("reply to telegram chat %s not delivered: %s", chat.chat_id, exc)
                return
        if reply.attachment is not None:
            await self._send_file(chat, reply.attachment)

    async def _send_file(self, chat: ChatRef, attachment: Attachment) -> None:
        """A reply's file as a document (sendDocument); a refusal is logged like any reply's."""
        try:
            await self.application.bot.send_document(
                chat_id=int(chat.chat_id), document=attachment.content.encode(), filename=attachment.filename)
        except TelegramError as exc:
            log.warning("file %s to telegram chat %s not delivered: %s", attachment.filename, chat.chat_id, exc)

    async def _send_answer(self, chat: ChatRef, message: OutgoingMessage, reply_to: int | None) -> None:
        payload: TelegramMessage = message.payload
        try:
            await self._send(chat, payload.html, False, payload.keyboard, reply_to)
        except ChatMoved as moved:
            await self._send_answer(moved.new_chat, message, None)  # the replied-to message stayed behind
        except FormattingRejected:
            await self._send(chat, message.plain_text, True, payload.keyboard, reply_to)
        except DeliveryError as exc:
            if isinstance(exc, ChatGone) or exc.retry_after is None or exc.retry_after > REPLY_RETRY_MAX_SECONDS:
                raise
            await asyncio.sleep(exc.retry_after)
            await self._send(chat, payload.html, False, payload.keyboard, reply_to)

    # ---- webhook -----------------------------------------------------------------------------
    def web_routes(self) -> list[BaseRoute]:
        """The webhook endpoint for the shared web app (only in webhook mode)."""
        if self.settings.mode != "webhook":
            return []
        return [Route(self.settings.webhook_path, self._on_webhook, methods=["POST"])]

    async def _on_webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            return Response("forbidden", status_code=403)
        if not self._running:
            return Response("not running", status_code=503)
        try:
            payload = await request.json()
            update = Update.de_json(payload, self.application.bot) if isinstance(payload, dict) else None
        except (ValueError, TypeError, KeyError):
            update = None
        if update is None:  # `null`, `[]` or `1` parse as JSON but are no update
            return Response("not an update", status_code=400)
        await self.application.update_queue.put(update)
        return Response("ok")


def _text_messages(reply: Reply) -> list[OutgoingMessage]:
    html = render_reply(reply)
    return [OutgoingMessage((), TelegramMessage(html), visible_text(html), MessageKind.REPLY)]


def create_adapter(settings: Settings, events: EventSink) -> TelegramAdapter | None:
    """The adapter when TELEGRAM_BOT_TOKEN is set, else None (Telegram stays off)."""
    token = secret(TOKEN_ENV)
    if token is None:
        return None
    return TelegramAdapter(token, settings.telegram, public_url=settings.web.public_url, events=events)
