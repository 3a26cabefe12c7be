"""The tick's due phase: every chat's schedule is checked from a light row, only due chats are loaded in full,
delivery moments are worked out once per distinct schedule and answer as they would for each chat alone."""
from __future__ import annotations

import datetime as dt
import itertools
import re

from bot.schedule_times import (
    DueTimes,
    delivery_moment,
    last_weekly_moment,
    recent_announcement_days,
    week_days,
)
from core.arxiv.calendar import current_announcement_day
from core.models import WEEKLY, ChatRef, DeliverySchedule
from core.store.outbox import DayStatus
from tests import test_scheduler as scheduler_tests
from tests.test_scheduler import TUESDAY, UTC

TERMS_READ = re.compile(r"FROM chat_terms WHERE chat IN \(([^)]*)\)")


world = scheduler_tests.world  # test_scheduler's: two days of real announcements stored, no chat yet


async def test_a_tick_reads_the_terms_of_due_chats_only(world):
    due = world.chat("berlin", "Europe/Berlin")  # 08:00 CEST = 06:00 UTC
    later = world.chat("utc-evening", at=dt.time(20, 0))
    paused = world.chat("paused", "Europe/Berlin", paused=True)
    elsewhere = ChatRef("nowhere", "1")  # due too, but no adapter serves its platform in this process
    world.store.chats.get_or_create_chat(elsewhere, world.settings.defaults)
    world.store.chats.update_chat(elsewhere, timezone="Europe/Berlin", delivery_time=dt.time(8, 0))
    read_for: list[str] = []
    world.store.db.conn.set_trace_callback(lambda sql: read_for.extend(TERMS_READ.findall(sql)))
    report = await world.tick_at(2026, 4, 21, 6, 0)
    world.store.db.conn.set_trace_callback(None)
    assert [r.chat for r in report.deliveries] == [due.ref] and report.due == 1
    loaded = {int(pk) for chats in read_for for pk in chats.split(",")}
    assert loaded == {world.store.chats.chat_pk(due.ref)}, "only the due chat is loaded with its terms"
    assert world.store.outbox.digest_day_status(paused.ref, TUESDAY) == DayStatus.PAUSED
    assert world.store.outbox.digest_day_status(later.ref, TUESDAY) is None
    assert world.store.outbox.digest_day_status(elsewhere, TUESDAY) is None


async def test_chats_with_an_unknown_stored_zone_are_reported_and_the_others_served(world):
    broken = [world.chat(name, "Mars/Olympus_Mons") for name in ("mars-1", "mars-2")]  # one schedule, two chats
    fine = world.chat("fine", "Europe/Berlin")
    report = await world.tick_at(2026, 4, 21, 6, 0)
    assert report.failed_chats == [chat.ref for chat in broken]
    assert [r.chat for r in report.deliveries] == [fine.ref]


ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Pacific/Kiritimati", "Pacific/Honolulu", "Asia/Kolkata")
TIMES = (dt.time(0, 0), dt.time(2, 30), dt.time(8, 0), dt.time(23, 59))
DAYS = ((0, 1, 2, 3, 4), (1, 3), ())
SCHEDULES = [
    DeliverySchedule(zone, at, days, schedule, weekly_day)
    for zone, at, days in itertools.product(ZONES, TIMES, DAYS)
    for schedule, weekly_day in (("daily", 4), (WEEKLY, 1), (WEEKLY, 5))
]
# Across the spring DST switch in Europe and the US, a weekend and a catch-up window.
MOMENTS = [dt.datetime(2026, 3, 6, 0, 0, tzinfo=UTC) + dt.timedelta(hours=7 * step) for step in range(24)]


def _owed_days(schedule, now, first, planned, owed_from, catch_up_days):
    """due_days as a chat alone works it out: each day's delivery moment from the chat's own zone."""
    current = current_announcement_day(now)

    def owed(day: dt.date) -> bool:
        moment = delivery_moment(schedule, day)
        return day.weekday() in schedule.days and moment <= now and (owed_from is None or moment >= owed_from)

    if first is None and owed_from is None:
        return [current] if owed(current) else []
    window = recent_announcement_days(current, catch_up_days + 1)
    return [day for day in window if (first is None or day >= first) and day not in planned and owed(day)]


def _owed_week(schedule, now, after, owed_from):
    moment = last_weekly_moment(schedule, now)
    return () if owed_from is not None and moment < owed_from else week_days(moment, after)


def test_one_due_times_answers_every_schedule_as_each_chat_alone_would():
    for now in MOMENTS:
        shared = DueTimes(now, catch_up_days=3)
        first, planned, owed_from = shared.window[1], {shared.window[-1]}, now - dt.timedelta(days=2)
        for schedule in SCHEDULES + SCHEDULES[::-1]:  # asked again, in the other order: answers come from the memo
            for records in ((None, set(), None), (first, planned, owed_from), (None, set(), now), (first, set(), None)):
                assert shared.days(schedule, *records) == _owed_days(schedule, now, *records, 3), (now, schedule, records)
            for after, since in ((None, None), (first, owed_from), (None, now)):
                assert shared.week(schedule, after, since) == _owed_week(schedule, now, after, since), (now, schedule)
