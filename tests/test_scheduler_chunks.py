"""A tick plans and delivers its chats chunk by chunk: every paper arrives exactly once, also across a crash between chunks."""
from __future__ import annotations

import datetime as dt
import gc
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.base import OutgoingMessage
from bot import scheduler as scheduler_module
from bot.delivery import DeliveryOutcome
from bot.scheduler import Scheduler
from core.arxiv.fetcher import Fetcher
from core.models import ChatRef, Digest, PlanEntry
from core.store import Store
from core.summarize import Summarizer
from tests.delivery_support import assert_each_sent_once, wait_for_marker
from tests.recording_adapter import PLATFORM, RecordingAdapter
from tests.scheduler_support import DAY, DUE_AT, SETTINGS, populate

CHATS = 7
CHUNK = 3  # chunks of 3, 3 and 1 chats
PAPERS_PER_MESSAGE = 3
ROOT = Path(__file__).resolve().parents[1]


def expected_papers(store: Store, refs: list[ChatRef]) -> dict[str, list[str]]:
    """Each chat's selection for the day, in order, from the same one-pass scoring the tick uses."""
    scheduler = Scheduler(store, SETTINGS, Fetcher(SETTINGS.arxiv, store), {})
    digests = scheduler.digests.build_digests(DAY, [store.chats.get_chat(ref) for ref in refs], DUE_AT)
    return {ref.chat_id: [scored.paper.arxiv_id for scored in digests[ref].papers] for ref in refs}


def messages_per_chat(papers: list[str]) -> int:
    """Header, the paper messages, footer (RecordingAdapter's rendering)."""
    return 2 + -(-len(papers) // PAPERS_PER_MESSAGE)


@dataclass
class PlanWatchingAdapter(RecordingAdapter):
    """Records, at each send, how many chats have the day planned: proof that later chunks wait."""

    store: Store | None = None
    planned_at_send: list[int] = field(default_factory=list)

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        assert self.store is not None
        self.planned_at_send.append(sum(DAY in days for _, days in self.store.outbox.digest_days(DAY).values()))
        return await super().send(chat, message, plain=plain)


async def test_a_tick_larger_than_a_chunk_delivers_every_paper_once_chunk_after_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(scheduler_module, "PLAN_CHUNK_CHATS", CHUNK)
    store = Store(tmp_path / "chunks.db", clock=lambda: DUE_AT)
    refs = populate(store, CHATS)
    expected = expected_papers(store, refs)
    assert all(expected.values())
    assert len({tuple(ids) for ids in expected.values()}) > 1
    adapter = PlanWatchingAdapter(papers_per_message=PAPERS_PER_MESSAGE, store=store)
    fetcher = Fetcher(SETTINGS.arxiv, store)
    report = await Scheduler(store, SETTINGS, fetcher, {PLATFORM: adapter}, clock=lambda: DUE_AT).tick(DUE_AT)
    await fetcher.aclose()

    assert report.planned == CHATS
    assert [r.outcome for r in report.deliveries] == [DeliveryOutcome.DELIVERED] * CHATS
    assert {ref.chat_id: adapter.papers_sent_to(ref.chat_id) for ref in refs} == expected
    first_chunk = sum(messages_per_chat(expected[ref.chat_id]) for ref in refs[:CHUNK])
    second_chunk = sum(messages_per_chat(expected[ref.chat_id]) for ref in refs[CHUNK : 2 * CHUNK])
    assert set(adapter.planned_at_send[:first_chunk]) == {CHUNK}, "the first chunk was sent before later ones were planned"
    assert set(adapter.planned_at_send[first_chunk : first_chunk + second_chunk]) == {2 * CHUNK}
    assert set(adapter.planned_at_send[first_chunk + second_chunk :]) == {CHATS}
    assert store.outbox.open_digest_days() == []
    store.close()


@dataclass
class FreezeWatchingAdapter(RecordingAdapter):
    """Records at each send how many objects the collector has set aside as kept alive (core/collector.py)."""

    frozen_at_send: list[int] = field(default_factory=list)

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        self.frozen_at_send.append(gc.get_freeze_count())
        return await super().send(chat, message, plain=plain)


async def test_the_day_s_selection_is_kept_out_of_collections_while_it_is_served_and_released_after(tmp_path):
    store = Store(tmp_path / "frozen.db", clock=lambda: DUE_AT)
    populate(store, CHATS)
    adapter = FreezeWatchingAdapter(papers_per_message=PAPERS_PER_MESSAGE)
    fetcher = Fetcher(SETTINGS.arxiv, store)
    report = await Scheduler(store, SETTINGS, fetcher, {PLATFORM: adapter}, clock=lambda: DUE_AT).tick(DUE_AT)
    await fetcher.aclose()
    store.close()
    assert report.planned == CHATS
    assert adapter.frozen_at_send
    assert min(adapter.frozen_at_send) > 0
    assert gc.get_freeze_count() == 0


def live_digests() -> int:
    return sum(isinstance(thing, Digest) for thing in gc.get_objects())


@dataclass
class DigestCountingAdapter(RecordingAdapter):
    """Records how many Digest objects are alive whenever it renders one (besides those it keeps in `rendered` and
    those alive before the tick, `baseline`); at its first send it plans `plan_at_first_send` (a chat, a day, one
    entry), as another process (or an earlier day's delivery) would have left it."""

    store: Store | None = None
    plan_at_first_send: tuple[ChatRef, dt.date, PlanEntry] | None = None
    baseline: int = 0
    alive_at_render: list[int] = field(default_factory=list)

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        self.alive_at_render.append(live_digests() - len(self.rendered) - self.baseline)
        return super().render_digest(digest)

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        if self.store is not None and self.plan_at_first_send is not None:
            ref, day, entry = self.plan_at_first_send
            self.store.outbox.plan_digest(ref, day, [entry])
            self.plan_at_first_send = None
        return await super().send(chat, message, plain=plain)


async def test_each_digest_is_built_when_delivery_reaches_its_chat_from_what_was_planned(tmp_path, monkeypatch):
    """A chunk's chats are planned from their selection's entries; each one's Digest is built right before it is
    sent and dropped after (one chat at a time here), and holds only what the outbox planned for it."""
    monkeypatch.setattr(scheduler_module, "PLAN_CHUNK_CHATS", CHATS - 1)  # the last chat is planned after the first sends
    monkeypatch.setattr(scheduler_module, "DELIVERY_CONCURRENCY", 1)
    store = Store(tmp_path / "lazy.db", clock=lambda: DUE_AT)
    refs = populate(store, CHATS)
    expected = expected_papers(store, refs)
    last = refs[-1]
    taken = expected[last.chat_id][0]
    earlier = (last, DAY - dt.timedelta(days=1), PlanEntry(taken, 1, 1.0))
    adapter = DigestCountingAdapter(papers_per_message=PAPERS_PER_MESSAGE, store=store, plan_at_first_send=earlier)
    fetcher = Fetcher(SETTINGS.arxiv, store)
    scheduler = Scheduler(store, SETTINGS, fetcher, {PLATFORM: adapter}, clock=lambda: DUE_AT)
    gc.collect()
    adapter.baseline = live_digests()
    report = await scheduler.tick(DUE_AT)
    await fetcher.aclose()

    assert [r.outcome for r in report.deliveries] == [DeliveryOutcome.DELIVERED] * CHATS
    assert adapter.papers_sent_to(last.chat_id) == [arxiv_id for arxiv_id in expected[last.chat_id] if arxiv_id != taken]
    assert {ref.chat_id: adapter.papers_sent_to(ref.chat_id) for ref in refs[:-1]} == {
        ref.chat_id: expected[ref.chat_id] for ref in refs[:-1]
    }
    # The digest being sent and its copy cut to the pending rows: never the chunk's other chats' digests.
    assert len(adapter.alive_at_render) == CHATS and max(adapter.alive_at_render) <= 2
    store.close()


async def test_a_day_planned_meanwhile_with_a_paper_the_selection_lacks_is_closed_and_the_tick_goes_on(tmp_path, monkeypatch):
    """The last chat's day gets planned by someone else after the tick found it due (with a paper not among the
    day's): the tick summarizes and sends that chat nothing it cannot show and delivers every other chat."""
    monkeypatch.setattr(scheduler_module, "PLAN_CHUNK_CHATS", CHATS - 1)
    store = Store(tmp_path / "meanwhile.db", clock=lambda: DUE_AT)
    refs = populate(store, CHATS)
    for ref in refs:
        store.chats.update_chat(ref, summaries=True)
    expected = expected_papers(store, refs)
    last = refs[-1]
    meanwhile = (last, DAY, PlanEntry("2604.99999", 1, 1.0))
    adapter = DigestCountingAdapter(papers_per_message=PAPERS_PER_MESSAGE, store=store, plan_at_first_send=meanwhile)
    fetcher = Fetcher(SETTINGS.arxiv, store)
    summarizer = Summarizer(SETTINGS.summaries, store, api_key=None)  # no key: the extractive summaries, no network
    scheduler = Scheduler(store, SETTINGS, fetcher, {PLATFORM: adapter}, summarizer=summarizer, clock=lambda: DUE_AT)
    report = await scheduler.tick(DUE_AT)
    await fetcher.aclose()

    assert report.failed_chats == []
    assert {ref.chat_id: adapter.papers_sent_to(ref.chat_id) for ref in refs[:-1]} == {
        ref.chat_id: expected[ref.chat_id] for ref in refs[:-1]
    }
    assert adapter.papers_sent_to(last.chat_id) == []
    assert all(digest.summaries for digest in adapter.rendered)
    assert store.outbox.open_digest_days() == []
    store.close()


def _run_child(tmp_path: Path, block_after: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.scheduler_crash_child", str(tmp_path / "chunks.db"),
         str(tmp_path / "sent.log"), str(tmp_path / "blocked"), str(block_after), str(CHUNK)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("into_second_chunk", [0, 2])  # right after the first chunk; inside the second
def test_sigkill_between_chunks_resumes_without_loss_or_duplicates(tmp_path, into_second_chunk):
    store = Store(tmp_path / "chunks.db", clock=lambda: DUE_AT)
    refs = populate(store, CHATS)
    expected = expected_papers(store, refs)
    store.close()
    first_chunk = sum(messages_per_chat(expected[ref.chat_id]) for ref in refs[:CHUNK])

    child = _run_child(tmp_path, first_chunk + into_second_chunk)
    wait_for_marker(tmp_path / "blocked", child)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    crashed = Store(tmp_path / "chunks.db", clock=lambda: DUE_AT)
    assert len(crashed.outbox.digest_days(DAY)) == 2 * CHUNK, "the third chunk must not be planned before the second is sent"
    crashed.close()
    lines_before = (tmp_path / "sent.log").read_text().splitlines()

    restart = _run_child(tmp_path, -1)
    assert restart.wait(60) == 0, restart.stderr.read().decode()

    assert_each_sent_once(tmp_path / "sent.log", lines_before, expected)
    reopened = Store(tmp_path / "chunks.db", clock=lambda: DUE_AT)
    assert reopened.outbox.delivery_stats().papers_sent == sum(map(len, expected.values()))
    assert reopened.outbox.open_digest_days() == []
    reopened.close()
