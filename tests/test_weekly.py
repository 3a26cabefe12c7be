"""Weekly digests end to end: one digest on the chat's day with the week's best papers, once, beside unchanged daily chats."""
from __future__ import annotations

import collections
import datetime as dt

from bot.scheduler import Scheduler
from core.arxiv.fetcher import Fetcher
from core.commands import CommandProcessor
from core.models import ChatRef, CommandContext
from core.store import Store
from tests.delivery_support import FakeClock
from tests.recording_adapter import PLATFORM, RecordingAdapter
from tests.scheduler_support import DAY, NEXT_DAY, SETTINGS, WEEK, WEEK_DUE_AT, WEDNESDAY, make_weekly, store_week

UTC = dt.timezone.utc
CREATED_AT = dt.datetime(2026, 4, 15, 12, 0, tzinfo=UTC)  # Wednesday, after that day's 08:00: the first week is the next one
KEYWORDS = [("segmentation", 1.0), ("diffusion", 1.0), ("video", 1.0)]
WEEKLY_MAX = 8
WEEKLY, DAILY = ChatRef(PLATFORM, "weekly"), ChatRef(PLATFORM, "daily")


def new_chat(store: Store, ref: ChatRef) -> None:
    """A chat reading cs.CV with KEYWORDS, classic ranking (a paper's score does not depend on the other papers)."""
    store.chats.get_or_create_chat(ref, SETTINGS.defaults)
    store.chats.update_chat(ref, timezone="UTC", delivery_time=dt.time(8, 0), ranking="classic", max_papers=WEEKLY_MAX)
    store.chats.replace_terms(ref, "keyword", KEYWORDS)


class Week:
    """A store with the week's announcements, a scheduler on a fake clock and a recording adapter."""

    def __init__(self, tmp_path) -> None:
        self.clock = FakeClock(CREATED_AT)
        self.store = Store(tmp_path / "weekly.db", clock=self.clock)
        store_week(self.store)
        self.adapter = RecordingAdapter(papers_per_message=3)
        self.fetcher = Fetcher(SETTINGS.arxiv, self.store, clock=self.clock)
        self.scheduler = Scheduler(self.store, SETTINGS, self.fetcher, {PLATFORM: self.adapter}, clock=self.clock)

    async def tick(self, moment: dt.datetime) -> list[tuple[str, tuple[str, ...]]]:
        """Tick at `moment`; what it sent, as (chat id, paper ids) per message."""
        before = len(self.adapter.sent)
        await self.scheduler.tick(self.clock.set(moment))
        return [(message.chat.chat_id, message.paper_ids) for message in self.adapter.sent[before:]]

    async def command(self, ref: ChatRef, text: str) -> str:
        context = CommandContext(chat=ref, user_id="U1", can_change_settings=True)
        from bot.app import AppServices

        services = AppServices(SETTINGS, self.store, self.fetcher, self.scheduler)
        reply = await CommandProcessor(self.store, SETTINGS, services).handle(context, text)
        assert reply.ok, reply.text
        return reply.text

    def headers(self, chat_id: str) -> list[str]:
        return [m.text.removeprefix("<b>").removesuffix("</b>") for m in self.adapter.sent
                if m.chat.chat_id == chat_id and not m.paper_ids and "header" in m.text]

    async def close(self) -> None:
        await self.fetcher.aclose()
        self.store.close()


def daily_selection(week: Week, ref: ChatRef, day: dt.date) -> list[tuple[float, str]]:
    """(score, id) of every paper the chat's classic scoring picks on one day (no limit): the reference the week is cut from."""
    chat = week.store.chats.require_chat(ref)
    unlimited = week.store.chats.update_chat(ref, max_papers=100)
    digest = week.scheduler.digests.build_digests(day, [unlimited], WEEK_DUE_AT, exclude_delivered=False)[ref]
    week.store.chats.update_chat(ref, max_papers=chat.max_papers)
    return [(scored.score, scored.paper.arxiv_id) for scored in digest.papers]


async def test_a_weekly_chat_gets_one_digest_on_its_day_with_the_best_papers_of_the_week(tmp_path):
    week = Week(tmp_path)
    new_chat(week.store, WEEKLY)
    new_chat(week.store, DAILY)
    make_weekly(week.store, WEEKLY, WEDNESDAY)
    per_day = {day: daily_selection(week, WEEKLY, day) for day in (DAY, NEXT_DAY)}
    # The reference: both days' selections as one list, best first (ties by id), cut to max once for the week.
    candidates = sorted({entry for entries in per_day.values() for entry in entries}, key=lambda e: (-e[0], e[1]))
    expected = [arxiv_id for _, arxiv_id in candidates[:WEEKLY_MAX]]
    assert len(candidates) > WEEKLY_MAX
    assert all(len(entries) > 0 for entries in per_day.values())

    tuesday = await week.tick(dt.datetime(2026, 4, 21, 8, 0, tzinfo=UTC))
    assert {chat for chat, _ in tuesday} == {"daily"}, "a weekly chat gets nothing on other days"
    wednesday = await week.tick(WEEK_DUE_AT)
    later = await week.tick(WEEK_DUE_AT + dt.timedelta(hours=4))
    assert later == []

    weekly_papers = [arxiv_id for chat, ids in wednesday if chat == "weekly" for arxiv_id in ids]
    assert weekly_papers == expected, "the week's best papers, in score order, max applied to the whole week"
    days_of = {day: {arxiv_id for _, arxiv_id in entries} for day, entries in per_day.items()}
    assert set(weekly_papers) & days_of[DAY], "papers of several days"
    assert set(weekly_papers) & days_of[NEXT_DAY], "papers of several days"
    assert week.headers("weekly") == [f"header {WEEK[0]} to {NEXT_DAY}: {WEEKLY_MAX} papers"], "exactly one digest"
    [weekly_digest] = [digest for digest in week.adapter.rendered if digest.week_from is not None]
    assert (weekly_digest.week_from, weekly_digest.announcement_day) == (WEEK[0], NEXT_DAY)

    # The daily chat, same settings, is served as before: one digest per announcement day, each cut on its own.
    assert week.headers("daily") == [f"header {DAY}: {len(per_day[DAY][:WEEKLY_MAX])} papers",
                                      f"header {NEXT_DAY}: {len(per_day[NEXT_DAY][:WEEKLY_MAX])} papers"]
    assert week.adapter.papers_sent_to("daily") == [arxiv_id for day in (DAY, NEXT_DAY) for _, arxiv_id in per_day[day][:WEEKLY_MAX]]
    await week.close()


async def test_a_paper_listed_on_several_days_of_the_week_comes_once_as_first_announced(tmp_path):
    """04-22 re-lists 16 papers of 04-21 as replacements: the week shows them as 04-21's new papers, once."""
    week = Week(tmp_path)
    new_chat(week.store, WEEKLY)
    make_weekly(week.store, WEEKLY, WEDNESDAY)
    week.store.chats.update_chat(WEEKLY, max_papers=100, min_score=0.0)
    week.store.chats.replace_terms(WEEKLY, "keyword", [])  # no keywords: every cs.CV paper of the week
    relisted = {p.arxiv_id for p in week.store.papers.papers_announced(DAY)} & {p.arxiv_id for p in week.store.papers.papers_announced(NEXT_DAY)}
    assert len(relisted) == 16

    await week.tick(WEEK_DUE_AT)
    sent = collections.Counter(week.adapter.papers_sent_to("weekly"))
    assert relisted & set(sent)
    assert max(sent.values()) == 1
    [digest] = week.adapter.rendered
    assert {scored.paper.announce_type for scored in digest.papers if scored.paper.arxiv_id in relisted} == {"new"}
    assert {scored.paper.announced for scored in digest.papers if scored.paper.arxiv_id in relisted} == {DAY}
    # max 100 over 160 papers
    assert len(sent) == 100
    assert digest.matched is not None
    assert digest.matched > 100
    await week.close()


async def test_switching_schedules_serves_each_day_once(tmp_path):
    """Daily, then weekly (only the days since its last digest, none of the papers it had), then daily again
    (no catch-up of the days the week covered)."""
    week = Week(tmp_path)
    new_chat(week.store, WEEKLY)
    assert await week.tick(dt.datetime(2026, 4, 16, 8, 0, tzinfo=UTC)) == []  # Thursday's day: nothing of ours
    await week.command(WEEKLY, "schedule weekly wednesday")
    assert await week.tick(dt.datetime(2026, 4, 21, 8, 0, tzinfo=UTC)) == []
    weekly = await week.tick(WEEK_DUE_AT)
    assert week.headers("weekly") == [f"header {WEEK[1]} to {NEXT_DAY}: {WEEKLY_MAX} papers"]
    assert week.store.outbox.digest_week(WEEKLY, NEXT_DAY) == WEEK[1:], "the days since its last digest (16 was daily)"
    assert "Digests will arrive at 08:00 UTC." in await week.command(WEEKLY, "schedule daily")
    assert await week.tick(WEEK_DUE_AT + dt.timedelta(hours=4)) == [], "the week's days are not caught up as daily digests"
    assert [ids for _, ids in weekly if ids]

    # Weekly again after Tuesday's daily digest: its next week starts after it.
    switcher = ChatRef(PLATFORM, "switcher")
    week.clock.set(CREATED_AT)
    new_chat(week.store, switcher)
    await week.tick(dt.datetime(2026, 4, 21, 8, 0, tzinfo=UTC))
    had = set(week.adapter.papers_sent_to("switcher"))
    await week.command(switcher, "schedule weekly wed")
    await week.tick(WEEK_DUE_AT)
    got = week.adapter.papers_sent_to("switcher")[len(had):]
    assert had
    assert got
    assert not had & set(got)
    assert set(got) <= {p.arxiv_id for p in week.store.papers.papers_announced(NEXT_DAY)}
    assert week.store.outbox.digest_week(switcher, NEXT_DAY) == (NEXT_DAY,)
    await week.close()


async def test_a_paused_weekly_chat_skips_its_week_and_status_shows_the_next_one(tmp_path):
    week = Week(tmp_path)
    new_chat(week.store, WEEKLY)
    await week.command(WEEKLY, "schedule weekly wednesday")
    week.clock.set(dt.datetime(2026, 4, 20, 9, 0, tzinfo=UTC))
    status = await week.command(WEEKLY, "status")
    assert "Digests arrive weekly on Wednesdays at 08:00 UTC." in status
    assert "Next weekly digest: Wed 2026-04-22 08:00 UTC (in 1 d 23 h)." in status
    await week.command(WEEKLY, "time 09:30 Europe/Berlin")
    assert "Next weekly digest: Wed 2026-04-22 09:30 CEST (in 1 d 22 h 30 min)." in await week.command(WEEKLY, "status")
    await week.command(WEEKLY, "pause")
    assert await week.tick(dt.datetime(2026, 4, 22, 8, 0, tzinfo=UTC)) == []
    await week.command(WEEKLY, "resume")
    assert await week.tick(dt.datetime(2026, 4, 22, 9, 0, tzinfo=UTC)) == [], "a paused week is skipped, not sent late"
    assert "Next weekly digest: Wed 2026-04-29 09:30 CEST" in await week.command(WEEKLY, "status")
    await week.close()


async def test_digest_previews_a_weekly_chats_week_so_far_without_planning_it(tmp_path):
    week = Week(tmp_path)
    new_chat(week.store, WEEKLY)
    new_chat(week.store, DAILY)
    make_weekly(week.store, WEEKLY, WEDNESDAY)
    week.clock.set(WEEK_DUE_AT - dt.timedelta(hours=1))
    weekly = await week.command(WEEKLY, "digest")
    assert weekly.startswith(f"Weekly digest for {WEEK[0]} to {NEXT_DAY}: {WEEKLY_MAX} papers of "), weekly
    assert (await week.command(DAILY, "digest")).startswith(f"Digest for {NEXT_DAY}: "), "a daily chat's is unchanged"
    assert week.store.outbox.latest_digest_days() == {} and week.adapter.sent == [], "a preview plans and sends nothing"

    await week.tick(WEEK_DUE_AT)
    assert week.headers("weekly") == [f"header {WEEK[0]} to {NEXT_DAY}: {WEEKLY_MAX} papers"]
    week.clock.set(WEEK_DUE_AT + dt.timedelta(hours=1))
    again = await week.command(WEEKLY, "digest")
    assert again.startswith(f"Weekly digest for {WEEK[0]} to {NEXT_DAY}: "), "no new day yet: the week it got"
    await week.close()
