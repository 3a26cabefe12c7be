"""Sending one chat's planned digest through its Adapter, with the outbox making every step resumable.

Order of events per message: the rows are already pending (written by `Store.plan_digest`), the
adapter sends, and only the platform's confirmation marks the message's papers sent. A crash
between the two re-sends that one message on restart (at-least-once at the very boundary, the
best a platform without idempotency keys allows); everything confirmed is never sent again.
When the store refuses the write that records a confirmation (disk full, locked, read-only), the
confirmation is kept in memory and written before anything else is sent to that chat, and no chat
is sent anything until the store takes writes again: a bookkeeping failure never re-sends a message.
Header messages are tracked in the day's status, so a resumed digest does not repeat them; a footer
is sent once the papers are out, and the day is closed right after.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from adapters.base import Adapter, ChatGone, ChatMoved, DeliveryError, FormattingRejected, MessageKind, OutgoingMessage
from core.models import ChatRef, ChatSettings, Digest
from core.store import Store, StoreError
from core.store.outbox import OPEN_DAY_STATUSES, DamagedPlan, DayStatus

log = logging.getLogger(__name__)

INLINE_RETRY_MAX_SECONDS = 5.0  # a retry_after this short is waited out in place (per-chat flood limits)
INLINE_RETRY_ATTEMPTS = 3
BACKOFF_BASE_SECONDS = 30.0  # later transient failures of one digest wait 30 s, 60 s, 120 s, ...
BACKOFF_MAX_SECONDS = 3600.0
# Deferred attempts in a row without one message out before a digest is given up: with the back-off
# above that is about 5 hours of trying (30 s doubling to hourly), so a platform outage of an
# afternoon delays digests but does not drop them.
MAX_DELIVERY_FAILURES = 12
# After the store refused a write, nothing is sent to anyone for this long; then one small write probes it.
STORE_RETRY_SECONDS = 15.0



class DeliveryOutcome(StrEnum):
    """How one attempt at a digest ended."""

    DELIVERED = "delivered"
    DEFERRED = "deferred"  # a transient failure (or the store refused a write): tried again after a back-off
    CHAT_GONE = "chat_gone"
    GAVE_UP = "gave_up"
    STOPPED = "stopped"  # the app is shutting down; the rest is sent after the restart
    NOTHING_TO_SEND = "nothing_to_send"


# The chat's later digests wait for a digest that ended like this.
UNFINISHED = frozenset({DeliveryOutcome.DEFERRED, DeliveryOutcome.CHAT_GONE, DeliveryOutcome.STOPPED})


@dataclass(frozen=True)
class Confirmation:
    """A message the platform confirmed whose record the store has not taken yet: papers sent, or the header."""

    paper_ids: tuple[str, ...]
    message_id: str = ""


@dataclass(frozen=True)
class DeliveryResult:
    chat: ChatRef
    announcement_day: dt.date
    outcome: DeliveryOutcome
    messages_sent: int = 0
    papers_sent: int = 0
    retry_at: dt.datetime | None = None
    error: str = ""


def _is_short_wait(error: BaseException) -> bool:
    """Only plain transient errors with a short retry_after are retried in place."""
    return (
        isinstance(error, DeliveryError)
        and not isinstance(error, (ChatGone, FormattingRejected))
        and error.retry_after is not None
        and error.retry_after <= INLINE_RETRY_MAX_SECONDS
    )


def _wait_retry_after(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    return float(getattr(error, "retry_after", 0.0) or 0.0)


def backoff_seconds(failures: int, retry_after: float | None) -> float:
    """How long a deferred digest waits: exponential in its failures, never less than the platform asked."""
    exponential = min(BACKOFF_BASE_SECONDS * 2 ** max(failures - 1, 0), BACKOFF_MAX_SECONDS)
    return max(exponential, retry_after or 0.0)


class DigestSender:
    """Delivers planned digests; remembers (in memory) which digests are backing off after failures."""

    def __init__(self, store: Store, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.store = store
        self.clock = clock or store.now
        self._failures: dict[tuple[ChatRef, dt.date], int] = {}
        self._retry_at: dict[tuple[ChatRef, dt.date], dt.datetime] = {}
        self._unrecorded: dict[tuple[ChatRef, dt.date], list[Confirmation]] = {}
        self._store_retry_at: dt.datetime | None = None  # set while the store refuses writes

    def ready(self, chat: ChatRef, day: dt.date, now: dt.datetime) -> bool:
        """False while this digest is backing off after a transient failure."""
        retry_at = self._retry_at.get((chat, day))
        return retry_at is None or now >= retry_at

    def store_writable(self, now: dt.datetime) -> bool:
        """False while backing off after the store refused a write; when the wait is over, a probe write decides."""
        if self._store_retry_at is None and self.store.write_failure is None:
            return True
        if self._store_retry_at is not None and now < self._store_retry_at:
            return False
        try:
            self.store.probe_writable()
        except StoreError as error:
            self._store_failed(error)
            return False
        log.info("the store takes writes again: delivery resumes")
        self._store_retry_at = None
        return True

    async def deliver(
        self, adapter: Adapter, chat: ChatSettings, digest: Digest, stop: asyncio.Event | None = None
    ) -> DeliveryResult:
        """Send whatever of this planned digest is still pending; never raises for platform or store errors."""
        ref, day = chat.ref, digest.announcement_day
        if not self.store_writable(self.clock()):
            error = "the store cannot be written"
            return DeliveryResult(ref, day, DeliveryOutcome.DEFERRED, retry_at=self._store_retry_at, error=error)
        try:
            return await self._deliver(adapter, ref, digest, stop)
        except StoreError as error:
            self._store_failed(error)
            return DeliveryResult(ref, day, DeliveryOutcome.DEFERRED, retry_at=self._store_retry_at, error=str(error))

    async def _deliver(self, adapter: Adapter, ref: ChatRef, digest: Digest, stop: asyncio.Event | None) -> DeliveryResult:
        day = digest.announcement_day
        self._record_unrecorded(ref, day)
        status = self.store.outbox.digest_day_status(ref, day)
        if status not in OPEN_DAY_STATUSES:
            return DeliveryResult(ref, day, DeliveryOutcome.NOTHING_TO_SEND)
        try:
            digest = self._still_pending(ref, digest)
        except DamagedPlan as error:
            return self.give_up_damaged(ref, day, error)
        if not digest.papers:
            # Everything was confirmed before a restart (a footer, if any, is not worth a duplicate risk), or the
            # claim found the chat had received it all (the day closed as empty).
            return self._finish(ref, day, 0, 0)
        try:
            messages = adapter.render_digest(digest)
        except Exception as error:  # an adapter bug: back off and give up in the end, not retry every minute
            log.exception("rendering digest %s for %s:%s failed", day, ref.platform, ref.chat_id)
            return self._defer(ref, day, (), DeliveryError(f"rendering failed: {error}"), 0, 0)
        if status == DayStatus.SENDING:
            messages = [message for message in messages if message.kind != MessageKind.HEADER]
        return await self._send_messages(adapter, ref, day, messages, stop)

    def give_up_damaged(self, ref: ChatRef, day: dt.date, error: DamagedPlan) -> DeliveryResult:
        """A day whose stored plan cannot be read back is closed as failed, with the reason: retrying cannot help."""
        log.error("digest %s for %s:%s given up: %s", day, ref.platform, ref.chat_id, error)
        self.store.outbox.give_up_deliveries(ref, str(error), day)
        self._forget(ref, day)
        return DeliveryResult(ref, day, DeliveryOutcome.GAVE_UP, error=str(error))

    def _still_pending(self, ref: ChatRef, digest: Digest) -> Digest:
        """The digest cut to the papers still to send: claimed from the plan when delivery first reaches it (what the
        chat received meanwhile is left out), then those not confirmed yet (a resumed digest sends only the rest)."""
        pending = {row.arxiv_id for row in self.store.outbox.claim_pending(ref, digest.announcement_day)}
        return dataclasses.replace(digest, papers=tuple(p for p in digest.papers if p.paper.arxiv_id in pending))

    async def _send_messages(
        self, adapter: Adapter, ref: ChatRef, day: dt.date, messages: list[OutgoingMessage], stop: asyncio.Event | None
    ) -> DeliveryResult:
        """Send in order, recording each confirmation before the next message; close the day when all are out."""
        headers = [message for message in messages if message.kind == MessageKind.HEADER]
        last_header = headers[-1] if headers else None  # the header counts as sent once its last message is
        sent_messages = sent_papers = 0
        for index, message in enumerate(messages):
            if stop is not None and stop.is_set():
                return DeliveryResult(ref, day, DeliveryOutcome.STOPPED, sent_messages, sent_papers)
            try:
                ref, message_id = await self._send_following(adapter, ref, day, message)
            except ChatGone as error:
                return self._chat_gone(ref, day, error, sent_messages, sent_papers)
            except FormattingRejected as error:
                log.warning("chat %s:%s rejected message %d even as plain text: %s", ref.platform, ref.chat_id, index, error)
                self.store.outbox.mark_failed(ref, message.paper_ids, f"rejected: {error}")
                continue
            except DeliveryError as error:
                return self._defer(ref, day, message.paper_ids, error, sent_messages, sent_papers)
            sent_messages += 1
            sent_papers += len(message.paper_ids)
            if message.paper_ids or message is last_header:
                self._unrecorded.setdefault((ref, day), []).append(Confirmation(message.paper_ids, message_id))
                self._record_unrecorded(ref, day)
        return self._finish(ref, day, sent_messages, sent_papers)

    def _finish(self, ref: ChatRef, day: dt.date, messages: int, papers: int) -> DeliveryResult:
        self.store.outbox.finish_digest_day(ref, day)
        self._forget(ref, day)
        return DeliveryResult(ref, day, DeliveryOutcome.DELIVERED, messages, papers)

    def _chat_gone(self, ref: ChatRef, day: dt.date, error: ChatGone, messages: int, papers: int) -> DeliveryResult:
        log.warning("chat %s:%s is gone (%s): deactivating it", ref.platform, ref.chat_id, error)
        self.store.outbox.give_up_deliveries(ref, f"chat gone: {error}")
        self.store.chats.set_active(ref, False)
        self._forget(ref, day)
        return DeliveryResult(ref, day, DeliveryOutcome.CHAT_GONE, messages, papers, error=str(error))

    async def _send_following(
        self, adapter: Adapter, ref: ChatRef, day: dt.date, message: OutgoingMessage
    ) -> tuple[ChatRef, str]:
        """Send; if the chat moved (and the store with it), send there and go on under the new ref."""
        try:
            return ref, await self._send(adapter, ref, message)
        except ChatMoved as moved:
            log.info("chat %s:%s moved to %s: sending there", ref.platform, ref.chat_id, moved.new_chat.chat_id)
            self._forget(ref, day)
            return moved.new_chat, await self._send(adapter, moved.new_chat, message)

    async def _send(self, adapter: Adapter, ref: ChatRef, message: OutgoingMessage) -> str:
        """Send, waiting out short retry_after answers; on a formatting rejection re-send once as plain text."""
        try:
            return await self._send_retrying(adapter, ref, message, plain=False)
        except FormattingRejected as error:
            log.info("chat %s:%s rejected formatting (%s): re-sending as plain text", ref.platform, ref.chat_id, error)
            return await self._send_retrying(adapter, ref, message, plain=True)

    @staticmethod
    async def _send_retrying(adapter: Adapter, ref: ChatRef, message: OutgoingMessage, *, plain: bool) -> str:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(_is_short_wait),
            wait=_wait_retry_after,
            stop=stop_after_attempt(INLINE_RETRY_ATTEMPTS),
            reraise=True,
        ):
            with attempt:
                return await adapter.send(ref, message, plain=plain)
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    def _record_unrecorded(self, ref: ChatRef, day: dt.date) -> None:
        """Write the confirmations the store has not taken yet, oldest first; raises StoreError if it still refuses."""
        waiting = self._unrecorded.get((ref, day), [])
        while waiting:
            confirmation = waiting[0]
            if confirmation.paper_ids:
                self.store.outbox.mark_sent(ref, confirmation.paper_ids, confirmation.message_id)
            else:
                self.store.outbox.mark_header_sent(ref, day)
            waiting.pop(0)
        self._unrecorded.pop((ref, day), None)

    def _store_failed(self, error: StoreError) -> None:
        self._store_retry_at = self.clock() + dt.timedelta(seconds=STORE_RETRY_SECONDS)
        log.error("the store refused a write (%s): no digest is sent until it works again (next try %s)",
                  error, self._store_retry_at)

    def _defer(
        self, ref: ChatRef, day: dt.date, paper_ids: tuple[str, ...], error: DeliveryError, messages: int, papers: int
    ) -> DeliveryResult:
        key = (ref, day)
        # A digest that got messages out is moving (a group's 20/min flood limit, a long catch-up): start afresh.
        failures = (0 if messages else self._failures.get(key, 0)) + 1
        if paper_ids:
            self.store.outbox.note_failed_attempt(ref, paper_ids, str(error))
        if failures >= MAX_DELIVERY_FAILURES:
            log.error("giving up digest %s for %s:%s after %d failures: %s", day, ref.platform, ref.chat_id, failures, error)
            self.store.outbox.give_up_deliveries(ref, f"gave up: {error}", day)
            self._forget(ref, day)
            return DeliveryResult(ref, day, DeliveryOutcome.GAVE_UP, messages, papers, error=str(error))
        retry_at = self.clock() + dt.timedelta(seconds=backoff_seconds(failures, error.retry_after))
        self._failures[key] = failures
        self._retry_at[key] = retry_at
        log.warning("digest %s for %s:%s deferred until %s: %s", day, ref.platform, ref.chat_id, retry_at, error)
        return DeliveryResult(ref, day, DeliveryOutcome.DEFERRED, messages, papers, retry_at=retry_at, error=str(error))

    def _forget(self, ref: ChatRef, day: dt.date) -> None:
        self._failures.pop((ref, day), None)
        self._retry_at.pop((ref, day), None)

