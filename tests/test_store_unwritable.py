"""A store that refuses writes during delivery (locked by another process, read-only) causes no duplicate message.

The attack of the audit: the write lock is taken (or the database turns read-only) after a few
messages went out, 2-second ticks go on for 40 seconds, then the store recovers. Every paper must
reach every chat exactly once, /healthz must say 503 while it lasts, and a locked database must be
waited for up to the busy timeout rather than failing at once.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from adapters.base import OutgoingMessage
from bot import scheduler as scheduler_module
from bot.scheduler import Scheduler
from bot.web import create_app
from core.arxiv.fetcher import Fetcher
from core.config import ArxivSettings, DefaultsSettings, Settings
from core.models import ChatRef
from core.store import Store, StoreUnwritable
from core.store.outbox import DayStatus
from tests.delivery_support import FakeClock, fixture_papers, store_feed
from tests.recording_adapter import PLATFORM, RecordingAdapter

UTC = dt.timezone.utc
TUESDAY = dt.date(2026, 4, 21)
CHATS = 30
TICK_SECONDS = 2
FAULT_SECONDS = 40
BUSY_TIMEOUT_SECONDS = 0.05
CHUNK_CHATS = 7  # chats planned at a time in the chunked-tick test: the fault starts inside the first chunk
UNREACHABLE_ARXIV = ArxivSettings(
    feed_url="http://127.0.0.1:9/rss/", api_url="http://127.0.0.1:9/api/query",
    min_interval_seconds=0, max_retries=0, timeout_seconds=2,
)
SETTINGS = Settings(
    arxiv=UNREACHABLE_ARXIV,
    defaults=DefaultsSettings(categories=("cs.CV",), keywords=("diffusion", "segmentation", "3D", "video"),
                              min_score=1.0, max_papers=12, summaries=False),
)


@dataclass
class FaultingAdapter(RecordingAdapter):
    """Records like RecordingAdapter; after `fault_after` confirmed messages it calls `fault` once."""

    fault_after: int = 0
    fault: Callable[[], None] | None = None

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        message_id = await super().send(chat, message, plain=plain)
        if self.fault is not None and len(self.sent) == self.fault_after:
            self.fault()
        return message_id


def _duplicates(adapter: RecordingAdapter) -> int:
    """Messages that went out more than once (same chat, same papers or same header/footer text)."""
    counts = Counter((m.chat, m.paper_ids or m.text) for m in adapter.sent)
    return sum(count - 1 for count in counts.values())


class LockedByAnotherProcess:
    """A second, real connection holding the write lock (as `sqlite3 db 'BEGIN IMMEDIATE'` in a shell would)."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)

    def start(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def end(self) -> None:
        self.connection.execute("ROLLBACK")
        self.connection.close()


class TurnedReadOnly:
    """The store's own connection refuses writes, as after a read-only remount (SQLITE_READONLY)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def start(self) -> None:
        self.store.db.execute("PRAGMA query_only = ON")

    def end(self) -> None:
        self.store.db.execute("PRAGMA query_only = OFF")


def _chats_due_at_eight(tmp_path, clock: FakeClock) -> Store:
    """CHATS chats owed Tuesday's digest at 08:00 UTC, the day's papers stored."""
    store = Store(tmp_path / "attack.db", clock=clock, busy_timeout_seconds=BUSY_TIMEOUT_SECONDS)
    store_feed(store, TUESDAY, fixture_papers("2026-04-21"))
    for n in range(CHATS):
        ref = ChatRef(PLATFORM, str(n))
        store.chats.get_or_create_chat(ref, SETTINGS.defaults)
        store.chats.update_chat(ref, timezone="UTC", delivery_time=dt.time(8, 0))
    return store


async def _attack(tmp_path, make_fault) -> tuple[FaultingAdapter, Store, list[int]]:
    """Deliver to CHATS chats, the fault starting after 10 messages and lasting FAULT_SECONDS of 2 s ticks."""
    clock = FakeClock(dt.datetime(2026, 4, 21, 5, 0, tzinfo=UTC))  # chats exist before their 08:00 digest
    store = _chats_due_at_eight(tmp_path, clock)
    fault = make_fault(store)
    adapter = FaultingAdapter(papers_per_message=2, fault_after=10, fault=fault.start)
    scheduler = Scheduler(store, SETTINGS, Fetcher(SETTINGS.arxiv, store, clock=clock), {PLATFORM: adapter}, clock=clock)
    health_during_fault: list[int] = []
    app = create_app(store, SETTINGS)
    try:
        await scheduler.tick(clock.set(dt.datetime(2026, 4, 21, 9, 0, tzinfo=UTC)))
        assert len(adapter.sent) >= 10, "the fault must start mid-delivery"
        for _ in range(FAULT_SECONDS // TICK_SECONDS):
            await scheduler.tick(clock.set(clock() + dt.timedelta(seconds=TICK_SECONDS)))
        with TestClient(app) as client:
            health_during_fault.append(client.get("/healthz").status_code)
        fault.end()
        for _ in range(60):  # the store's back-off is 15 s: a minute of ticks is plenty
            await scheduler.tick(clock.set(clock() + dt.timedelta(seconds=TICK_SECONDS)))
        with TestClient(app) as client:
            health_during_fault.append(client.get("/healthz").status_code)
    finally:
        await scheduler.fetcher.aclose()
    return adapter, store, health_during_fault


@pytest.mark.parametrize("make_fault", [lambda store: LockedByAnotherProcess(store.path), TurnedReadOnly],
                         ids=["locked", "read-only"])
async def test_a_store_refusing_writes_mid_delivery_sends_nothing_twice(tmp_path, make_fault) -> None:
    adapter, store, health = await _attack(tmp_path, make_fault)
    try:
        assert _duplicates(adapter) == 0
        assert health == [503, 200]
        planned = {chat: store.outbox.delivery_stats(ChatRef(PLATFORM, str(chat))) for chat in range(CHATS)}
        assert all(stats.papers_pending == 0 and stats.papers_failed == 0 for stats in planned.values())
        for chat, stats in planned.items():
            assert len(adapter.papers_sent_to(str(chat))) == stats.papers_sent > 0
            assert store.outbox.digest_day_status(ChatRef(PLATFORM, str(chat)), TUESDAY) == DayStatus.DONE
    finally:
        store.close()


async def test_a_tick_in_chunks_plans_no_later_chunk_while_the_store_refuses_writes(tmp_path, monkeypatch) -> None:
    """The store-unwritable pause holds between chunks too: the later chunks stay due, none counts as failed."""
    monkeypatch.setattr(scheduler_module, "PLAN_CHUNK_CHATS", CHUNK_CHATS)
    clock = FakeClock(dt.datetime(2026, 4, 21, 5, 0, tzinfo=UTC))
    store = _chats_due_at_eight(tmp_path, clock)
    fault = TurnedReadOnly(store)
    adapter = FaultingAdapter(papers_per_message=2, fault_after=10, fault=fault.start)
    scheduler = Scheduler(store, SETTINGS, Fetcher(SETTINGS.arxiv, store, clock=clock), {PLATFORM: adapter}, clock=clock)
    try:
        report = await scheduler.tick(clock.set(dt.datetime(2026, 4, 21, 9, 0, tzinfo=UTC)))
        assert report.planned == CHUNK_CHATS
        assert report.failed_chats == []
        assert len(store.outbox.digest_days(TUESDAY)) == CHUNK_CHATS, "a later chunk was planned while the store refused writes"
        fault.end()
        for _ in range(30):  # past the store's 15 s back-off
            await scheduler.tick(clock.set(clock() + dt.timedelta(seconds=TICK_SECONDS)))
        assert _duplicates(adapter) == 0
        assert all(store.outbox.digest_day_status(ChatRef(PLATFORM, str(n)), TUESDAY) == DayStatus.DONE for n in range(CHATS))
    finally:
        await scheduler.fetcher.aclose()
        store.close()


def test_a_locked_database_is_waited_for_up_to_the_busy_timeout(tmp_path) -> None:
    """A write that reads first (as mark_sent does) used to fail at once: SQLite does not wait to upgrade a read lock."""
    store = Store(tmp_path / "busy.db", busy_timeout_seconds=0.4)
    ref = ChatRef(PLATFORM, "1")
    store.chats.get_or_create_chat(ref, SETTINGS.defaults)
    other = LockedByAnotherProcess(store.path)
    other.start()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnwritable, match="locked"):
            store.outbox.mark_sent(ref, ["2604.00001"], "m1")
        assert time.monotonic() - started >= 0.4
        assert store.write_failure is not None
        assert "locked" in store.write_failure
    finally:
        other.end()
    store.probe_writable()
    assert store.write_failure is None
    store.close()
