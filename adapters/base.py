"""The Adapter protocol every chat platform implements, and the types and outcomes that cross it.

Flow: the scheduler (bot/) asks an adapter to `render_digest`, writes the outbox rows, then calls
`send` once per OutgoingMessage and marks the message's papers sent with the returned id.
Incoming commands go the other way through the CommandHandler the adapter is started with.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from core.models import ChatRef, ChatSettings, CommandContext, Digest, Reply

CommandHandler = Callable[[CommandContext, str], Awaitable[Reply]]
"""The core's entry point for a command: `await handler(context, "subscribe llm")` (no leading slash)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """One platform message of a digest, and which papers it carries (empty for a header)."""

    paper_ids: tuple[str, ...]
    payload: Any  # the platform's form: Telegram HTML, Discord embeds, Slack blocks, console text
    plain_text: str  # what to send instead if the platform rejects the formatting


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

    def render_digest(self, digest: Digest, settings: ChatSettings) -> list[OutgoingMessage]:
        """The digest as platform messages, each within the platform's limits, split at paper boundaries."""

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        """Send one message; return the platform's message id. Raises DeliveryError and subclasses."""

    async def send_reply(self, chat: ChatRef, reply: Reply) -> None:
        """Answer a command outside a platform interaction (e.g. the console, or a late reply)."""
