"""The Adapter protocol every chat platform implements, and the types, events and outcomes that cross it.

Flow: the scheduler (bot/) asks an adapter to `render_digest`, writes the outbox rows, then calls
`send` once per OutgoingMessage and marks the message's papers sent with the returned id.
Incoming commands go the other way through the CommandHandler the adapter is started with;
everything else a platform reports (a chat moved or left, a 👍 on a paper) goes to the one
EventSink the app hands every adapter when creating it.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from starlette.routing import BaseRoute

from core.models import Attachment, ChatRef, CommandContext, Digest, Reply

CommandHandler = Callable[[CommandContext, str], Awaitable[Reply]]
"""The core's entry point for a command: `await handler(context, "subscribe llm")` (no leading slash)."""

FEEDBACK_PREFIX = "fb"
VOTES = (+1, -1)
FEEDBACK_THANKS = {+1: "Noted 👍 Thanks!", -1: "Noted 👎 Thanks!"}  # what the reader alone sees after a press
SAVE_PREFIX = "sv"
SAVE_THANKS = 'Saved 🔖 to this chat\'s reading list ("saved" lists it, "bibtex" exports it).'


class MessageKind(StrEnum):
    """What part of a digest a message is, which decides how delivery records it."""

    HEADER = "header"  # before the papers; recorded in the day's status, so a resumed digest does not repeat it
    PAPERS = "papers"  # carries papers (maybe with the header); recorded per paper
    FOOTER = "footer"  # after the papers; sent once they are out, not recorded
    REPLY = "reply"  # a command's answer outside any digest


@dataclass(frozen=True)
class OutgoingMessage:
    """One platform message, what part of a digest it is, and which papers it carries."""

    paper_ids: tuple[str, ...]
    payload: Any  # the platform's form: Telegram HTML, Discord embeds, Slack blocks, console text
    plain_text: str  # what to send instead if the platform rejects the formatting
    kind: MessageKind


@dataclass(frozen=True)
class ChatMovedEvent:
    """The chat lives under a new id now (a Telegram group became a supergroup): move its settings and outbox."""

    old: ChatRef
    new: ChatRef


@dataclass(frozen=True)
class ChatGoneEvent:
    """The bot was removed from the chat or blocked there: stop delivering to it."""

    chat: ChatRef


@dataclass(frozen=True)
class FeedbackEvent:
    """A reader pressed 👍 (+1) or 👎 (-1) under a paper of a digest."""

    chat: ChatRef
    arxiv_id: str
    user_id: str
    vote: int


@dataclass(frozen=True)
class SaveEvent:
    """A reader pressed 🔖 under a paper of a digest: keep it on the chat's reading list."""

    chat: ChatRef
    arxiv_id: str
    user_id: str


ChatEvent = ChatMovedEvent | ChatGoneEvent | FeedbackEvent | SaveEvent
EventSink = Callable[[ChatEvent], Awaitable[None]]
"""Where an adapter reports platform events; the app stores what they mean."""


async def ignore_events(event: ChatEvent) -> None:
    """The sink of an adapter built without an app (tests, tools): events are dropped."""


def feedback_data(arxiv_id: str, vote: int) -> str:
    """A feedback button's payload on every platform: "fb:+1:2601.00001" (within Telegram's 64 bytes)."""
    return f"{FEEDBACK_PREFIX}:{vote:+d}:{arxiv_id}"


def parse_feedback_data(data: str) -> tuple[str, int] | None:
    """(arxiv_id, vote) from a feedback button's payload, or None if it is not one."""
    prefix, _, rest = data.partition(":")
    vote, _, arxiv_id = rest.partition(":")
    if prefix != FEEDBACK_PREFIX or vote not in ("+1", "-1") or not arxiv_id:
        return None
    return arxiv_id, int(vote)


def save_data(arxiv_id: str) -> str:
    """A 🔖 button's payload on every platform: "sv:2601.00001"."""
    return f"{SAVE_PREFIX}:{arxiv_id}"


def button_event(data: str, chat: ChatRef, user_id: str) -> tuple[ChatEvent, str] | None:
    """The event a paper's button payload means, and the thanks the presser alone sees; None if it is none of ours."""
    feedback = parse_feedback_data(data)
    if feedback is not None:
        arxiv_id, vote = feedback
        return FeedbackEvent(chat, arxiv_id, user_id, vote), FEEDBACK_THANKS[vote]
    prefix, _, arxiv_id = data.partition(":")
    if prefix == SAVE_PREFIX and arxiv_id:
        return SaveEvent(chat, arxiv_id, user_id), SAVE_THANKS
    return None


def attachment_as_text(attachment: Attachment) -> str:
    """A reply's file where it cannot go as a file (the console, a refused upload): its name, then its content."""
    return f"--- {attachment.filename} ---\n{attachment.content}"


def reply_messages(
    reply: Reply,
    render_digest: Callable[[Digest], list[OutgoingMessage]],
    render_text: Callable[[Reply], list[OutgoingMessage]],
) -> list[OutgoingMessage]:
    """A command's answer as messages: the digest it carries (whose header says what the reply says), else its text."""
    if reply.digest is not None:
        return render_digest(reply.digest)
    return render_text(reply)


class DeliveryError(Exception):
    """Sending failed for a reason that may pass: back off and try again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ChatGone(DeliveryError):
    """The chat blocked, removed or lost the bot (403, channel_not_found, ...): deactivate it."""


class ChatMoved(DeliveryError):
    """The chat lives under a new id now (Telegram group -> supergroup) and the store has moved it: send there."""

    def __init__(self, message: str, new_chat: ChatRef) -> None:
        super().__init__(message)
        self.new_chat = new_chat


class FormattingRejected(DeliveryError):
    """The platform refused the message's markup: re-send it once as plain text."""


@runtime_checkable
class Adapter(Protocol):
    platform: str

    async def start(self, handle_command: CommandHandler) -> None:
        """Connect and begin handing incoming commands to `handle_command`; returns once running."""

    async def stop(self) -> None:
        """Disconnect cleanly; safe to call twice."""

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        """The digest as platform messages, each within the platform's limits, split at paper boundaries."""

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        """Send one message; return the platform's message id. Raises DeliveryError and subclasses."""

    def web_routes(self) -> list[BaseRoute]:
        """HTTP endpoints the platform calls (webhooks, interactions), mounted on the shared web app; often none."""
