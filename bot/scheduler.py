"""The scheduler: each tick finds due chats, fetches once, scores once, summarizes once, and delivers.

Per tick: (1) resume digests a previous run planned but did not finish; (2) find every chat whose
digest for an announcement day is due at its local delivery time (catching up missed days after
downtime), and every weekly chat whose week is due (bot/schedule_times.py); (3) per day (or week), fetch
the union of their categories in one Fetcher call, select all their digests in one `select_digests` pass,
then per chunk of chats plan them in the outbox (from the selection's entries, no Digest built), summarize
the papers they show (per language; the summary cache makes a paper's second chunk free) and deliver them
concurrently, each chat's Digest built when delivery reaches it. A failing fetch leaves the day unplanned
(retried on a later tick); one chat failing never blocks the others; a crash between chunks leaves the
later chunks' chats due.

A process that serves pages and feeds (`publish`) also keeps their categories fetched each
announcement day, chats or not, catching up the days it missed while it was down.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from adapters.base import Adapter
from bot.delivery import UNFINISHED, DeliveryResult, DigestSender
from bot.schedule_times import DueTimes, next_delivery, next_weekly_delivery, recent_announcement_days
from bot.digests import ChatDigests, DayFetcher, DigestService, PaperSummarizer
from core.collector import kept_alive
from core.config import Settings
from core.models import WEEKLY, ChatRef, ChatSettings, Digest, ScoredPaper, Summary
from core.store import Store
from core.store.chats import ScheduledChat
from core.store.outbox import DamagedPlan, DayStatus

log = logging.getLogger(__name__)

# Chats planned, summarized and delivered together (their Digest objects are built one chat at a time as
# delivery reaches it); with Telegram's 30 msg/s a chunk takes about a minute to send.
PLAN_CHUNK_CHATS = 1000
DELIVERY_CONCURRENCY = 48  # chats sent to at once: above Telegram's 30 msg/s at 1 msg/s per chat, so the platform limit binds


@dataclass(frozen=True, order=True)
class DigestDay:
    """What one digest covers: an announcement day, or (`week`, oldest first) the days of a weekly digest,
    planned and sent under the newest of them (core/store/outbox.py)."""

    day: dt.date
    week: tuple[dt.date, ...] = ()

    @property
    def days(self) -> tuple[dt.date, ...]:
        return self.week or (self.day,)


@dataclass(frozen=True)
class _Delivery:
    """One chat's digest of one day to send; `build` makes the Digest when delivery reaches the chat."""

    chat: ChatSettings
    day: dt.date
    build: Callable[[], Digest]

    @classmethod
    def built(cls, chat: ChatSettings, digest: Digest) -> _Delivery:
        return cls(chat, digest.announcement_day, lambda: digest)


@dataclass
class TickReport:
    """What one tick did (for logs, tests and the benchmark)."""

    due: int = 0
    planned: int = 0
    waiting_for_arxiv: list[dt.date] = field(default_factory=list)
    deliveries: list[DeliveryResult] = field(default_factory=list)
    failed_chats: list[ChatRef] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # wall time per phase

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - started


class Scheduler:
    """Owns the delivery loop; everything it needs comes in through the constructor."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        fetcher: DayFetcher,
        adapters: Mapping[str, Adapter],
        summarizer: PaperSummarizer | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.fetcher = fetcher
        self.adapters = adapters
        self.summarizer = summarizer
        self.clock = clock or store.now
        self.sender = DigestSender(store, self.clock)
        self.digests = DigestService(store, settings, fetcher, summarizer, self.clock)
        self._tick_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._current_tick: asyncio.Task[TickReport] | None = None
        self._delivering = 0  # deliveries in progress: a stop must let their message in flight finish
        self._published: frozenset[str] = frozenset()  # categories pages and feeds show: fetched every announcement day

    # -- the loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Tick every `tick_seconds` (or at once when woken) until `stop()`."""
        while not self._stopping.is_set():
            # Cleared before the tick, so a wake-up that arrives during it causes another one right after.
            self._wake.clear()
            self._current_tick = asyncio.create_task(self.tick(self.clock()), name="scheduler-tick")
            try:
                await self._current_tick
            except asyncio.CancelledError:
                if not self._stopping.is_set():
                    raise
            except Exception:
                log.exception("scheduler tick failed; trying again next tick")
            if self._stopping.is_set():
                break
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.scheduler.tick_seconds)
            except TimeoutError:
                pass

    def wake(self) -> None:
        """Tick now (a chat changed its time, the machine woke up, a test advanced its clock)."""
        self._wake.set()

    def stop(self) -> None:
        """End `run`: a tick that is sending finishes the message in flight and leaves the rest pending;
        one that is fetching or summarizing (nothing half-written there) is cancelled at once."""
        self._stopping.set()
        self._wake.set()
        if self._current_tick is not None and not self._delivering:
            self._current_tick.cancel()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def publish(self, categories: Collection[str]) -> None:
        """Fetch these categories every announcement day even when no chat is due: pages and feeds show them."""
        self._published = frozenset(categories)

    async def tick(self, now: dt.datetime | None = None) -> TickReport:
        now = now or self.clock()
        report = TickReport()
        async with self._tick_lock:
            await self._resume_open_digests(now, report)
            if not self.sender.store_writable(now):
                return report  # planning writes too; the store's back-off holds new days as well
            with report.timed("due"):
                by_day = self._due_chats_by_day(now, report)
            # Oldest first; on one day a week goes before the day's daily digests: its pass holds five days of
            # papers, and the smaller daily pass then reuses that memory instead of adding its own on top.
            served = sorted(set(by_day) | {DigestDay(day) for day in self._published_days(now)}, key=_weeks_first)
            for digest_day in served:
                await self._serve_day(digest_day, by_day.get(digest_day, []), now, report)
        return report

    def _published_days(self, now: dt.datetime) -> list[dt.date]:
        """Days pages and feeds may still miss: the current one and, after downtime, those since the newest
        stored day (at most catch_up_days back; a new store starts with the current day)."""
        if not self._published:
            return []
        current = self.current_day(now)
        newest = self.store.papers.announcement_days(limit=1)
        if not newest:
            return [current]
        window = recent_announcement_days(current, self.settings.scheduler.catch_up_days + 1, self.settings.arxiv.holidays)
        return [day for day in window if day >= newest[0]]

    # -- what is due ----------------------------------------------------------------------------

    def _due_chats_by_day(self, now: dt.datetime, report: TickReport) -> dict[DigestDay, list[ChatSettings]]:
        """Every chat's schedule is checked (a light row each, times worked out per distinct schedule); only
        the chats found due are loaded with their settings and terms."""
        arxiv = self.settings.arxiv
        due_times = DueTimes(
            now, catch_up_days=self.settings.scheduler.catch_up_days, holidays=arxiv.holidays, arxiv_timezone=arxiv.announcement_timezone
        )
        due_refs: dict[DigestDay, list[ChatRef]] = defaultdict(list)
        for chat in self.store.chats.schedules(due_times.window[0]):
            if chat.ref.platform not in self.adapters:
                continue  # its platform is off in this process; catch-up serves it when it is back
            try:
                due = _due(chat, due_times)
            except (ValueError, KeyError) as error:  # a stored zone the tz database no longer knows
                log.error("chat %s:%s has unusable schedule settings: %s", chat.ref.platform, chat.ref.chat_id, error)
                report.failed_chats.append(chat.ref)
                continue
            for digest_day in due:
                if chat.paused:
                    self.store.outbox.skip_digest_day(chat.ref, digest_day.day, DayStatus.PAUSED)
                else:
                    due_refs[digest_day].append(chat.ref)
        loaded = self.store.chats.chats_by_ref({ref for refs in due_refs.values() for ref in refs})
        by_day: dict[DigestDay, list[ChatSettings]] = {}
        for digest_day, refs in due_refs.items():
            by_day[digest_day] = [loaded[ref] for ref in refs if ref in loaded]  # one deleted meanwhile is not served
            report.due += len(by_day[digest_day])
        return by_day

    def current_day(self, now: dt.datetime) -> dt.date:
        return self.digests.current_day(now)

    def next_delivery(self, chat: ChatSettings, now: dt.datetime | None = None) -> dt.datetime | None:
        now = now or self.clock()
        not_before = self.store.outbox.chats_owed_from(chat.ref).get(chat.ref)
        if chat.schedule == WEEKLY:
            return next_weekly_delivery(
                chat,
                now,
                self.store.outbox.latest_digest_days(chat.ref).get(chat.ref),
                not_before=not_before,
                holidays=self.settings.arxiv.holidays,
                arxiv_timezone=self.settings.arxiv.announcement_timezone,
            )
        current = self.current_day(now)
        planned = {current} if self.store.outbox.digest_day_status(chat.ref, current) else set()
        return next_delivery(
            chat,
            now,
            planned,
            not_before=not_before,
            holidays=self.settings.arxiv.holidays,
            arxiv_timezone=self.settings.arxiv.announcement_timezone,
        )

    # -- one announcement day for many chats ------------------------------------------------------

    async def _serve_day(self, digest_day: DigestDay, chats: list[ChatSettings], now: dt.datetime, report: TickReport) -> None:
        """Fetch the day (each day of a week) for its due chats and the published categories in one call per day,
        then serve the chats."""
        wanted = {category for chat in chats for category in self.digests.subscription_for(chat).categories}
        published = frozenset() if digest_day.week else self._published  # pages and feeds show days, not weeks
        fetched = set(wanted | published)
        with report.timed("fetch"):
            for day in digest_day.days:
                fetched &= await self.digests.ensure_fetched(day, wanted | published, now)
        ready = [chat for chat in chats if set(self.digests.subscription_for(chat).categories) <= fetched]
        if len(ready) < len(chats) or not published <= fetched:
            report.waiting_for_arxiv.append(digest_day.day)
        if not ready:
            return
        with report.timed("score"):
            digests = self.digests.build_digests(digest_day.day, ready, now, week=digest_day.week)
        with kept_alive():  # the selection and the chats live until the day is served
            for start in range(0, len(ready), PLAN_CHUNK_CHATS):
                if self._stopping.is_set() or not self.sender.store_writable(now):
                    return  # the later chunks' chats are still due: the next tick plans them
                if not await self._serve_chunk(digest_day, ready[start : start + PLAN_CHUNK_CHATS], digests, report):
                    return

    async def _serve_chunk(
        self, digest_day: DigestDay, chats: Sequence[ChatSettings], digests: ChatDigests, report: TickReport
    ) -> bool:
        """Plan one chunk of the day's chats from their selection's entries (one transaction), summarize what they
        show and deliver them. No Digest is built here: each chat's is built when delivery reaches it, and
        dropped after it was sent, so a tick holds the digests being sent, not every chat's.

        False when planning failed: the rest of the day waits for the next tick (its chats are still due)."""
        try:
            with report.timed("plan"):
                plans = self.store.outbox.plan_digests(
                    digest_day.day, digests.plans([chat.ref for chat in chats]), digest_day.week
                )
        except Exception:
            log.exception("planning the digests of %s failed; the next tick tries again", digest_day.day)
            report.failed_chats.extend(chat.ref for chat in chats)
            return False
        planned = [(chat, plans[chat.ref]) for chat in chats if plans[chat.ref]]
        report.planned += len(planned)
        with report.timed("summarize"):
            summaries = await self.digests.summaries_for(
                (chat, digests.papers(arxiv_ids)) for chat, arxiv_ids in planned
            )
        deliveries = [
            _Delivery(chat, digest_day.day, functools.partial(self._planned_now, digests, summaries, chat, arxiv_ids))
            for chat, arxiv_ids in planned
        ]
        with report.timed("deliver"):
            await self._deliver_all(deliveries, report)
        return True

    def _planned_now(
        self, digests: ChatDigests, summaries: Mapping[str, Mapping[str, Summary]], chat: ChatSettings, arxiv_ids: list[str]
    ) -> Digest:
        """The chat's planned digest, built as delivery reaches it: its planned papers, their summaries attached."""
        return self.digests.with_chat_summaries(chat, digests.planned(chat.ref, set(arxiv_ids)), summaries)

    async def _deliver_all(self, deliveries: Sequence[_Delivery], report: TickReport) -> None:
        if self._stopping.is_set():
            return
        self._delivering += 1
        try:
            await self._deliver_concurrently(deliveries, report)
        finally:
            self._delivering -= 1

    async def _deliver_concurrently(self, deliveries: Sequence[_Delivery], report: TickReport) -> None:
        """Chats in parallel; one chat's digests (several days after downtime) one after another, in order,
        and none after one that could not finish. A digest is built when its turn comes and dropped after."""
        gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)
        per_chat: dict[ChatRef, list[_Delivery]] = defaultdict(list)
        for delivery in deliveries:
            per_chat[delivery.chat.ref].append(delivery)

        async def deliver(chat_deliveries: list[_Delivery]) -> None:
            async with gate:
                for delivery in chat_deliveries:
                    chat = delivery.chat
                    try:
                        with report.timed("build"):  # synchronous: no other chat's time is counted
                            digest = delivery.build()
                        result = await self.sender.deliver(self.adapters[chat.ref.platform], chat, digest, self._stopping)
                    except Exception:
                        log.exception("delivering %s to %s:%s failed", delivery.day, chat.ref.platform, chat.ref.chat_id)
                        report.failed_chats.append(chat.ref)
                        return
                    del digest
                    report.deliveries.append(result)
                    if result.outcome in UNFINISHED:
                        return

        await asyncio.gather(*(deliver(chat_deliveries) for chat_deliveries in per_chat.values()))

    # -- after a restart --------------------------------------------------------------------------

    async def _resume_open_digests(self, now: dt.datetime, report: TickReport) -> None:
        """Digests planned before (this run or a crashed one) and not finished: send what is pending.

        A chat paused since gets no more of them; one with several open days gets them oldest first."""
        by_day: dict[DigestDay, list[ChatSettings]] = defaultdict(list)
        for open_day in self.store.outbox.open_digest_days():
            ref, day = open_day.chat, open_day.announcement_day
            chat = self.store.chats.get_chat(ref)
            if chat is None or ref.platform not in self.adapters:
                continue
            if chat.paused:
                self.store.outbox.give_up_deliveries(ref, "paused before the digest was out", day)
            elif self.sender.ready(ref, day, now):
                by_day[DigestDay(day, self.store.outbox.digest_week(ref, day))].append(chat)
        resumable: list[tuple[ChatSettings, Digest]] = []
        for digest_day, chats in sorted(by_day.items()):
            rebuilt = self.digests.build_digests(digest_day.day, chats, now, exclude_delivered=False, week=digest_day.week)
            for chat in chats:
                try:
                    resumable.append((chat, self._planned_digest(chat, rebuilt[chat.ref])))
                except DamagedPlan as error:  # one chat's unreadable day, not every later tick
                    self.sender.give_up_damaged(chat.ref, digest_day.day, error)
                    report.failed_chats.append(chat.ref)
        if resumable:
            # Built before sending (a restart's few open digests), unlike a tick's: their rows, not a selection, say what is left.
            summarized = await self.digests.with_summaries(resumable)
            await self._deliver_all([_Delivery.built(chat, digest) for chat, digest in summarized], report)

    def _planned_digest(self, chat: ChatSettings, rebuilt: Digest) -> Digest:
        """The planned digest again: its pending rows in planned order, with today's scores and matched terms
        where the chat's current settings still select the paper, else the planned score alone."""
        rows = self.store.outbox.pending_papers(chat.ref, rebuilt.announcement_day)
        selected = {scored.paper.arxiv_id: scored for scored in rebuilt.papers}
        stored = self.store.papers.papers_by_id(row.arxiv_id for row in rows if row.arxiv_id not in selected)
        papers = tuple(
            selected.get(row.arxiv_id) or ScoredPaper(stored[row.arxiv_id], row.score)
            for row in rows
            if row.arxiv_id in selected or row.arxiv_id in stored
        )
        return dataclasses.replace(rebuilt, papers=papers)


def _due(chat: ScheduledChat, due_times: DueTimes) -> list[DigestDay]:
    """The digests the chat is owed now: missed and current days, or its week."""
    if chat.schedule.schedule == WEEKLY:
        week = due_times.week(chat.schedule, chat.last_served, chat.owed_from)
        return [_digest_day(week[-1], week)] if week else []
    return [_digest_day(day) for day in due_times.days(chat.schedule, chat.first_served, chat.recent_served, chat.owed_from)]


@functools.lru_cache(maxsize=64)
def _digest_day(day: dt.date, week: tuple[dt.date, ...] = ()) -> DigestDay:
    """One DigestDay object for the 100,000 chats due for it: made and hashed (in Python) once, not per chat."""
    return DigestDay(day, week)


def _weeks_first(digest_day: DigestDay) -> tuple[dt.date, bool, tuple[dt.date, ...]]:
    return digest_day.day, not digest_day.week, digest_day.week
