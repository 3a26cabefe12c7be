"""The scheduler end to end on real announcements: due at local time, once per day, only new papers, catch-up, isolation."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from adapters.base import ChatGone, DeliveryError
from bot.delivery import DeliveryOutcome
from bot.scheduler import Scheduler
from core.arxiv.fetcher import Fetcher
from core.config import ArxivSettings, DefaultsSettings, Settings
from core.models import ChatRef
from core.store import Store
from core.store.outbox import DayStatus
from tests.delivery_support import FakeClock, fixture_papers, store_feed
from tests.fakes.arxiv import Fault
from tests.recording_adapter import PLATFORM, RecordingAdapter

UTC = dt.timezone.utc
TUESDAY, WEDNESDAY = dt.date(2026, 4, 21), dt.date(2026, 4, 22)
KEYWORDS = ("diffusion", "segmentation", "3D", "video", "point cloud")


# Nothing listens on port 9: a fetch fails fast, like arXiv being down.
UNREACHABLE_ARXIV = ArxivSettings(
    feed_url="http://127.0.0.1:9/rss/", api_url="http://127.0.0.1:9/api/query",
    min_interval_seconds=0, max_retries=0, timeout_seconds=2,
)


def _settings(arxiv: ArxivSettings) -> Settings:
    return Settings(
        arxiv=arxiv,
        defaults=DefaultsSettings(categories=("cs.CV",), keywords=KEYWORDS, min_score=1.0, max_papers=12, summaries=False),
    )


class World:
    def __init__(self, tmp_path, start: dt.datetime, arxiv: ArxivSettings = UNREACHABLE_ARXIV) -> None:
        self.clock = FakeClock(start)
        self.settings = _settings(arxiv)
        self.store = Store(tmp_path / "sched.db", clock=self.clock)
        self.adapter = RecordingAdapter(papers_per_message=5)
        self.scheduler = self.new_scheduler()

    def new_scheduler(self) -> Scheduler:
        """A fresh process's scheduler: no memory but the store."""
        fetcher = Fetcher(self.settings.arxiv, self.store, clock=self.clock)
        return Scheduler(self.store, self.settings, fetcher, {PLATFORM: self.adapter}, clock=self.clock)

    def chat(self, chat_id: str, zone: str = "UTC", at: dt.time = dt.time(8, 0), **changes):
        ref = ChatRef(PLATFORM, chat_id)
        self.store.chats.get_or_create_chat(ref, self.settings.defaults)
        return self.store.chats.update_chat(ref, timezone=zone, delivery_time=at, **changes)

    async def close(self) -> None:
        await self.scheduler.fetcher.aclose()
        self.store.close()

    async def tick_at(self, *parts: int):
        return await self.scheduler.tick(self.clock.set(dt.datetime(*parts, tzinfo=UTC)))


@pytest.fixture
async def world(tmp_path):
    world = World(tmp_path, dt.datetime(2026, 4, 21, 5, 0, tzinfo=UTC))
    store_feed(world.store, TUESDAY, fixture_papers("2026-04-21"))
    store_feed(world.store, WEDNESDAY, fixture_papers("2026-04-22"))
    yield world
    await world.close()


async def test_digest_arrives_once_at_delivery_time_and_next_day_only_new_papers(world):
    chat = world.chat("berlin", "Europe/Berlin")  # 08:00 CEST = 06:00 UTC
    assert (await world.tick_at(2026, 4, 21, 5, 59)).deliveries == []
    report = await world.tick_at(2026, 4, 21, 6, 0)
    assert [r.outcome for r in report.deliveries] == [DeliveryOutcome.DELIVERED]
    first_day = world.adapter.papers_sent_to("berlin")
    assert 0 < len(first_day) <= 12
    assert [s.paper.arxiv_id for s in world.adapter.rendered[0].papers] == first_day
    assert (await world.tick_at(2026, 4, 21, 6, 1)).deliveries == []
    assert (await world.tick_at(2026, 4, 21, 23, 0)).deliveries == []
    assert world.adapter.papers_sent_to("berlin") == first_day
    await world.tick_at(2026, 4, 22, 6, 0)
    second_day = world.adapter.papers_sent_to("berlin")[len(first_day):]
    assert second_day
    assert not set(second_day) & set(first_day)
    assert world.store.outbox.delivered_ids(chat.ref) == set(first_day) | set(second_day)


async def test_each_time_zone_gets_its_digest_at_local_time(world):
    expected = {
        "Pacific/Honolulu": dt.datetime(2026, 4, 21, 18, 0, tzinfo=UTC),  # 08:00 HST on Tuesday
        "UTC": dt.datetime(2026, 4, 21, 8, 0, tzinfo=UTC),
        "Pacific/Kiritimati": dt.datetime(2026, 4, 21, 18, 0, tzinfo=UTC),  # 08:00 Wednesday local
        "Europe/Berlin": dt.datetime(2026, 4, 21, 6, 0, tzinfo=UTC),
    }
    for zone in expected:
        world.chat(zone, zone)
    arrived: dict[str, dt.datetime] = {}
    moment = dt.datetime(2026, 4, 21, 5, 0, tzinfo=UTC)
    while moment < dt.datetime(2026, 4, 21, 23, 0, tzinfo=UTC):
        report = await world.scheduler.tick(world.clock.set(moment))
        for result in report.deliveries:
            arrived.setdefault(result.chat.chat_id, moment)
        moment += dt.timedelta(minutes=30)
    assert arrived == expected
    assert {m.chat.chat_id for m in world.adapter.sent if "header" in m.text} == set(expected)


async def test_weekend_has_no_digest_and_downtime_is_caught_up(world):
    world.chat("utc")
    await world.tick_at(2026, 4, 21, 9, 0)
    friday = dt.date(2026, 4, 24)
    renamed = [dataclasses.replace(paper, arxiv_id=paper.arxiv_id + "9") for paper in fixture_papers("2026-04-21")]
    store_feed(world.store, friday, renamed)
    # Down from Tuesday 09:00 until Saturday noon: Wednesday and Friday arrive on the first tick back,
    # Thursday (never fetched, arXiv unreachable) stays due.
    report = await world.tick_at(2026, 4, 25, 12, 0)
    assert [r.announcement_day for r in report.deliveries] == [WEDNESDAY, friday]
    assert report.waiting_for_arxiv == [dt.date(2026, 4, 23)]
    headers = [m.text for m in world.adapter.sent if "header" in m.text]
    assert [h.split()[1].rstrip(":") for h in headers] == ["2026-04-21", "2026-04-22", "2026-04-24"]
    sent_before_sunday = len(world.adapter.sent)
    for hour in range(0, 24, 3):  # Sunday: nothing announced, nothing sent
        assert (await world.tick_at(2026, 4, 26, hour, 30)).deliveries == []
    assert len(world.adapter.sent) == sent_before_sunday


async def test_failed_fetch_leaves_the_day_open_for_a_later_tick(world):
    world.chat("utc")
    thursday = dt.date(2026, 4, 23)
    await world.tick_at(2026, 4, 21, 9, 0)
    await world.tick_at(2026, 4, 22, 9, 0)
    report = await world.tick_at(2026, 4, 23, 9, 0)
    assert report.deliveries == []
    assert report.waiting_for_arxiv == [thursday]
    assert world.store.outbox.digest_day_status(ChatRef(PLATFORM, "utc"), thursday) is None
    store_feed(world.store, thursday, fixture_papers("2026-04-22")[:5])  # arXiv is back
    report = await world.tick_at(2026, 4, 23, 9, 10)
    assert [r.announcement_day for r in report.deliveries] == [thursday]


async def test_one_chat_failing_does_not_block_the_others(world):
    world.chat("gone")
    world.chat("fine")
    world.adapter.failures = {1: ChatGone("bot was kicked")}
    report = await world.tick_at(2026, 4, 21, 9, 0)
    outcomes = {r.chat.chat_id: r.outcome for r in report.deliveries}
    assert outcomes == {"gone": DeliveryOutcome.CHAT_GONE, "fine": DeliveryOutcome.DELIVERED}
    assert world.store.chats.get_chat(ChatRef(PLATFORM, "gone")).active is False
    assert world.adapter.papers_sent_to("fine")


async def test_paused_chat_skips_the_day_for_good(world):
    chat = world.chat("paused", paused=True)
    await world.tick_at(2026, 4, 21, 9, 0)
    assert world.store.outbox.digest_day_status(chat.ref, TUESDAY) == DayStatus.PAUSED
    world.store.chats.update_chat(chat.ref, paused=False)
    assert (await world.tick_at(2026, 4, 21, 10, 0)).deliveries == []
    assert [r.announcement_day for r in (await world.tick_at(2026, 4, 22, 9, 0)).deliveries] == [WEDNESDAY]


async def test_a_restarted_scheduler_resumes_a_deferred_digest_without_duplicates(world):
    world.chat("utc")
    world.adapter.failures = {3: DeliveryError("server overloaded", retry_after=600)}
    report = await world.tick_at(2026, 4, 21, 9, 0)
    assert [r.outcome for r in report.deliveries] == [DeliveryOutcome.DEFERRED]
    assert (await world.tick_at(2026, 4, 21, 9, 1)).deliveries == []  # backing off
    world.scheduler = world.new_scheduler()  # a restart forgets the back-off, the outbox remembers the rest
    report = await world.tick_at(2026, 4, 21, 9, 2)
    assert [r.outcome for r in report.deliveries] == [DeliveryOutcome.DELIVERED]
    sent = world.adapter.papers_sent_to("utc")
    assert len(sent) == len(set(sent)) == len(world.adapter.rendered[0].papers)
    assert sum("header" in m.text for m in world.adapter.sent) == 1
    first, resumed = world.adapter.rendered[0], world.adapter.rendered[-1]
    assert [s.paper.arxiv_id for s in resumed.papers] == [s.paper.arxiv_id for s in first.papers][5:]  # one message of 5 went out
    assert all(s.matched_terms for s in resumed.papers)  # why each paper was picked survives the restart


async def test_next_delivery_reports_the_local_moment(world):
    chat = world.chat("berlin", "Europe/Berlin")
    assert world.scheduler.next_delivery(chat, dt.datetime(2026, 4, 21, 5, 0, tzinfo=UTC)) == dt.datetime(
        2026, 4, 21, 6, 0, tzinfo=UTC
    )
    await world.tick_at(2026, 4, 21, 6, 0)
    assert world.scheduler.next_delivery(chat, dt.datetime(2026, 4, 21, 7, 0, tzinfo=UTC)) == dt.datetime(
        2026, 4, 22, 6, 0, tzinfo=UTC
    )


async def test_arxiv_failure_is_retried_on_a_later_tick_with_one_request_for_all_chats(tmp_path, fake_arxiv):
    world = World(tmp_path, dt.datetime(2026, 4, 21, 5, 0, tzinfo=UTC), fake_arxiv.settings(max_retries=0))
    fake_arxiv.announce(fixture_papers("2026-04-21"), TUESDAY)
    fake_arxiv.fail_next(Fault("status", 503))
    vision = world.chat("vision")
    both = world.chat("both")
    world.store.chats.replace_terms(both.ref, "category", [("cs.CV", 1.0), ("cs.LG", 1.0)])
    report = await world.tick_at(2026, 4, 21, 9, 0)
    assert report.deliveries == []
    assert report.waiting_for_arxiv == [TUESDAY]
    assert world.store.outbox.digest_day_status(vision.ref, TUESDAY) is None
    await world.tick_at(2026, 4, 21, 9, 1)  # arXiv just failed: not asked again yet
    assert len(fake_arxiv.feed_requests()) == 1
    report = await world.tick_at(2026, 4, 21, 9, 10)
    assert sorted(r.chat.chat_id for r in report.deliveries if r.outcome == DeliveryOutcome.DELIVERED) == ["both", "vision"]
    requests = fake_arxiv.feed_requests()
    # the union, in one call
    assert len(requests) == 2
    assert requests[-1].path == "/rss/cs.CV+cs.LG"
    await world.close()


def _outage() -> DeliveryError:
    return DeliveryError("platform down", retry_after=600)


async def test_open_days_of_one_chat_resume_oldest_first_never_interleaved(world):
    world.chat("utc")
    world.adapter.outage = _outage()
    assert [r.outcome for r in (await world.tick_at(2026, 4, 21, 9, 0)).deliveries] == [DeliveryOutcome.DEFERRED]
    assert [r.outcome for r in (await world.tick_at(2026, 4, 22, 9, 0)).deliveries] == [DeliveryOutcome.DEFERRED, DeliveryOutcome.DEFERRED]
    world.adapter.outage = None
    world.scheduler = world.new_scheduler()  # a restart: both open days are resumed in one tick
    report = await world.tick_at(2026, 4, 22, 10, 0)
    assert [(r.announcement_day, r.outcome) for r in report.deliveries] == [(TUESDAY, DeliveryOutcome.DELIVERED), (WEDNESDAY, DeliveryOutcome.DELIVERED)]
    texts = [message.text for message in world.adapter.sent]
    tuesday_ends = next(i for i, text in enumerate(texts) if f"footer {TUESDAY}" in text)
    wednesday_starts = next(i for i, text in enumerate(texts) if f"header {WEDNESDAY}" in text)
    assert tuesday_ends < wednesday_starts  # all of Tuesday's messages before any of Wednesday's


async def test_a_chat_that_removed_the_bot_and_came_back_gets_no_old_digests(world):
    chat = world.chat("utc")
    world.adapter.outage = _outage()
    await world.tick_at(2026, 4, 21, 9, 0)  # Tuesday defers ...
    world.store.chats.set_active(chat.ref, False)  # ... then the bot is removed: what was pending is dropped
    assert world.store.outbox.pending_papers(chat.ref, TUESDAY) == []
    world.adapter.outage = None
    world.clock.set(dt.datetime(2026, 4, 22, 12, 0, tzinfo=UTC))
    world.store.chats.set_active(chat.ref, True)  # added back on Wednesday at 12:00, after its 08:00 digest time
    assert (await world.tick_at(2026, 4, 22, 12, 1)).deliveries == []
    assert world.adapter.sent == []
    report = await world.tick_at(2026, 4, 23, 8, 0)  # Thursday's feed is not stored: Wednesday's is current
    assert report.deliveries == []
    assert world.scheduler.next_delivery(world.store.chats.require_chat(chat.ref)) is not None


async def test_pausing_stops_a_digest_that_was_deferred(world):
    chat = world.chat("utc")
    world.adapter.outage = _outage()
    await world.tick_at(2026, 4, 21, 9, 0)
    world.adapter.outage = None
    world.store.chats.update_chat(chat.ref, paused=True)
    assert (await world.tick_at(2026, 4, 21, 11, 0)).deliveries == []
    assert world.adapter.sent == []
    assert world.store.outbox.pending_papers(chat.ref, TUESDAY) == []


async def test_a_preview_and_a_tick_fetching_at_once_ask_arxiv_once(tmp_path, fake_arxiv):
    world = World(tmp_path, dt.datetime(2026, 4, 21, 9, 0, tzinfo=UTC), fake_arxiv.settings())
    fake_arxiv.announce(fixture_papers("2026-04-21"), TUESDAY)
    now = world.clock()
    both = await asyncio.gather(*(world.scheduler.digests.ensure_fetched(TUESDAY, {"cs.CV"}, now) for _ in range(2)))
    assert both == [{"cs.CV"}, {"cs.CV"}]
    assert len(fake_arxiv.feed_requests()) == 1
    await world.close()


async def test_a_paper_received_before_the_selection_looked_is_left_out_when_delivery_claims_the_day(world):
    """Planning records the selection as it is; the chat received one of its papers long ago (beyond the days
    delivered_on_day reads), announced again today: the claim at delivery leaves it out, and the digest the chat
    gets, header count included, is the rest."""
    chat = world.chat("lab")
    await world.tick_at(2026, 4, 21, 8, 0)
    received = world.adapter.papers_sent_to("lab")[0]
    # As if it had reached the chat months ago, and arXiv announced it again on Wednesday as a cross-list.
    world.store.db.execute("UPDATE deliveries SET announced = '2026-01-05' WHERE arxiv_id = ?", [received])
    tuesday_copy = next(paper for paper in fixture_papers("2026-04-21") if paper.arxiv_id == received)
    world.store.papers.store_announcement(WEDNESDAY, [dataclasses.replace(tuesday_copy, announce_type="cross")])
    now = dt.datetime(2026, 4, 22, 8, 0, tzinfo=UTC)
    selected = world.scheduler.digests.build_digests(WEDNESDAY, [chat], now)
    assert received in selected.plans([chat.ref])[chat.ref].arxiv_ids  # the selection could not know

    report = await world.tick_at(2026, 4, 22, 8, 0)
    assert [r.outcome for r in report.deliveries] == [DeliveryOutcome.DELIVERED]
    wednesday = world.adapter.rendered[-1]
    sent_wednesday = world.adapter.papers_sent_to("lab")[len(world.adapter.rendered[0].papers):]
    assert received not in sent_wednesday and sent_wednesday == [s.paper.arxiv_id for s in wednesday.papers]
    assert world.adapter.papers_sent_to("lab").count(received) == 1
    assert world.store.outbox.digest_day_status(chat.ref, WEDNESDAY) == DayStatus.DONE


async def test_a_damaged_plan_left_by_a_crash_costs_its_chat_that_day_not_the_scheduler(world):
    """A crash after planning leaves the day's selections unclaimed; if one of them cannot be read back, the next
    tick gives up that chat's day (with the reason) and still resumes the others and serves what is due."""
    damaged, fine = world.chat("damaged"), world.chat("fine")
    selected = world.scheduler.digests.build_digests(TUESDAY, [damaged, fine], dt.datetime(2026, 4, 21, 8, 0, tzinfo=UTC))
    world.store.outbox.plan_digests(TUESDAY, selected.plans([damaged.ref, fine.ref]))  # then the process died
    world.store.db.execute("UPDATE chat_days SET plan = 'x', plan_numbers = NULL WHERE chat = (SELECT id FROM chats WHERE chat_id = 'damaged')")
    report = await world.new_scheduler().tick(world.clock.set(dt.datetime(2026, 4, 21, 8, 5, tzinfo=UTC)))
    assert damaged.ref in report.failed_chats
    assert world.store.outbox.digest_day_status(damaged.ref, TUESDAY) == DayStatus.FAILED
    assert world.adapter.papers_sent_to("fine") == list(selected.plans([fine.ref])[fine.ref].arxiv_ids)
    assert world.adapter.papers_sent_to("damaged") == []
