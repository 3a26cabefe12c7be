"""When a weekly digest is due and which announcement days it covers: pure time arithmetic, across zones and DST."""
from __future__ import annotations

import datetime as dt

from bot.schedule_times import (
    WEEK_ANNOUNCEMENT_DAYS,
    due_week,
    last_weekly_moment,
    next_weekly_delivery,
    week_days,
)
from core.models import ChatRef, ChatSettings

UTC = dt.timezone.utc
FRIDAY = 4


def weekly(zone: str = "UTC", at: dt.time = dt.time(8, 0), day: int = FRIDAY, **fields) -> ChatSettings:
    return ChatSettings(ChatRef("recording", zone), timezone=zone, delivery_time=at, schedule="weekly", weekly_day=day, **fields)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def dates(*days: int, month: int = 9) -> tuple[dt.date, ...]:
    return tuple(dt.date(2026, month, day) for day in days)


def test_the_weekly_moment_is_the_chats_weekday_and_local_time_also_across_dst():
    assert last_weekly_moment(weekly(), utc(2026, 9, 25, 8, 0)) == utc(2026, 9, 25, 8, 0)
    assert last_weekly_moment(weekly(), utc(2026, 9, 25, 7, 59)) == utc(2026, 9, 18, 8, 0)
    assert last_weekly_moment(weekly(), utc(2026, 9, 28, 12, 0)) == utc(2026, 9, 25, 8, 0)
    # Berlin leaves summer time on Sunday 2026-10-25: Friday 08:00 local is 06:00 UTC before, 07:00 UTC after.
    berlin = weekly("Europe/Berlin")
    assert last_weekly_moment(berlin, utc(2026, 10, 23, 6, 0)) == utc(2026, 10, 23, 6, 0)
    assert last_weekly_moment(berlin, utc(2026, 10, 30, 7, 0)) == utc(2026, 10, 30, 7, 0)
    # UTC+14: Saturday 08:00 in Kiritimati is Friday 18:00 UTC.
    assert last_weekly_moment(weekly("Pacific/Kiritimati", day=5), utc(2026, 9, 25, 18, 0)) == utc(2026, 9, 25, 18, 0)


def test_a_week_covers_the_announcement_days_out_in_the_seven_days_before_at_most_five():
    # Friday 08:00 UTC: Friday's feed (04:30 UTC) is out; last Friday's came out more than 7 days before.
    assert week_days(utc(2026, 9, 25, 8, 0), None) == dates(21, 22, 23, 24, 25)
    # Friday 02:00 UTC: Friday's feed is not out yet, last Friday's (04:30 UTC a week ago) counts.
    assert week_days(utc(2026, 9, 25, 2, 0), None) == dates(18, 21, 22, 23, 24)
    assert len(week_days(utc(2026, 9, 27, 12, 0), None)) == WEEK_ANNOUNCEMENT_DAYS  # a Sunday: Mon to Fri
    # Only the days since the chat was last served, and holidays are no announcement days.
    assert week_days(utc(2026, 9, 25, 8, 0), dt.date(2026, 9, 23)) == dates(24, 25)
    assert week_days(utc(2026, 9, 25, 8, 0), None, holidays=dates(22, 23)) == dates(21, 24, 25)
    assert week_days(utc(2026, 9, 25, 8, 0), dt.date(2026, 9, 25)) == ()


def test_a_week_is_due_once_from_its_moment_on_and_not_before_the_chat_was_owed_it():
    chat = weekly()
    assert due_week(chat, utc(2026, 9, 25, 7, 59), dt.date(2026, 9, 18)) == ()
    assert due_week(chat, utc(2026, 9, 25, 8, 0), dt.date(2026, 9, 18)) == dates(21, 22, 23, 24, 25)
    assert due_week(chat, utc(2026, 9, 27, 8, 0), dt.date(2026, 9, 18)) == dates(21, 22, 23, 24, 25)  # after downtime
    assert due_week(chat, utc(2026, 9, 25, 9, 0), dt.date(2026, 9, 25)) == ()  # planned: the week's newest day
    # A chat created on Friday after its moment waits for next Friday (and then gets the full week).
    created = utc(2026, 9, 25, 10, 0)
    assert due_week(chat, utc(2026, 9, 25, 11, 0), None, owed_from=created) == ()
    assert due_week(chat, utc(2026, 10, 2, 8, 0), None, owed_from=created) == dates(28, 29, 30, month=9) + (
        dt.date(2026, 10, 1), dt.date(2026, 10, 2))


def test_next_weekly_delivery():
    chat = weekly("Europe/Berlin")
    assert next_weekly_delivery(chat, utc(2026, 9, 22, 12, 0), dt.date(2026, 9, 18)) == utc(2026, 9, 25, 6, 0)
    assert next_weekly_delivery(chat, utc(2026, 9, 25, 9, 0), dt.date(2026, 9, 18)) == utc(2026, 9, 25, 9, 0)  # due now
    assert next_weekly_delivery(chat, utc(2026, 9, 25, 9, 0), dt.date(2026, 9, 25)) == utc(2026, 10, 2, 6, 0)
    assert next_weekly_delivery(chat, utc(2026, 10, 20, 12, 0), None) == utc(2026, 10, 20, 12, 0)  # never served: last week's
    created = utc(2026, 10, 20, 11, 0)
    assert next_weekly_delivery(chat, utc(2026, 10, 20, 12, 0), None, not_before=created) == utc(2026, 10, 23, 6, 0)
    assert next_weekly_delivery(chat, utc(2026, 10, 24, 12, 0), dt.date(2026, 10, 23)) == utc(2026, 10, 30, 7, 0)  # winter time
    assert next_weekly_delivery(weekly(paused=True), utc(2026, 9, 22, 12, 0), None) is None
