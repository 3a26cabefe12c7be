"""Due times: each chat's digest at its own local time, across UTC-10..UTC+14 and DST switches; no weekend digests."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.schedule_times import (
    delivery_moment,
    due_days,
    feed_ready_at,
    local_moment,
    next_delivery,
    recent_announcement_days,
)
from core.models import ChatRef, ChatSettings

UTC = dt.timezone.utc
THURSDAY = dt.date(2026, 9, 24)


def _chat(zone: str, at: dt.time = dt.time(8, 0), **fields) -> ChatSettings:
    return ChatSettings(ChatRef("recording", zone), timezone=zone, delivery_time=at, **fields)


def _utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", _utc(2026, 9, 24, 8)),
        # UTC-10: Thursday's feed is out at 18:30 Wednesday local, so 08:00 Thursday local.
        ("Pacific/Honolulu", _utc(2026, 9, 24, 18)),
        # UTC+14: the feed is out at 18:30 Thursday local, so 08:00 Friday local.
        ("Pacific/Kiritimati", _utc(2026, 9, 24, 18)),
        ("Europe/Berlin", _utc(2026, 9, 24, 6)),
    ],
)
def test_each_zone_gets_its_digest_at_local_delivery_time(zone, expected):
    chat = _chat(zone)
    moment = delivery_moment(chat, THURSDAY)
    assert moment == expected
    assert moment.astimezone(dt.timezone.utc) >= feed_ready_at(THURSDAY)
    assert moment.astimezone(ZoneInfo(zone)).time() == dt.time(8, 0)
    wednesday = THURSDAY - dt.timedelta(days=1)
    assert due_days(chat, moment - dt.timedelta(minutes=1), wednesday, {wednesday}, catch_up_days=5) == []
    assert due_days(chat, moment, wednesday, {wednesday}, catch_up_days=5) == [THURSDAY]


def test_berlin_keeps_local_time_across_the_october_switch():
    chat = _chat("Europe/Berlin")
    before, after = dt.date(2026, 10, 23), dt.date(2026, 10, 26)  # the clocks go back on Sunday 25 October
    assert delivery_moment(chat, before) == _utc(2026, 10, 23, 6)
    assert delivery_moment(chat, after) == _utc(2026, 10, 26, 7)


def test_new_york_keeps_local_time_across_the_march_switch():
    chat = _chat("America/New_York", dt.time(7, 30))
    assert delivery_moment(chat, dt.date(2026, 3, 6)) == _utc(2026, 3, 6, 12, 30)
    assert delivery_moment(chat, dt.date(2026, 3, 9)) == _utc(2026, 3, 9, 11, 30)


def test_a_local_time_skipped_by_the_spring_switch_maps_to_just_after_it():
    new_york = ZoneInfo("America/New_York")
    assert local_moment(dt.date(2026, 3, 8), dt.time(2, 30), new_york) == _utc(2026, 3, 8, 7, 30)  # 03:30 EDT
    assert local_moment(dt.date(2026, 3, 9), dt.time(2, 30), new_york) == _utc(2026, 3, 9, 6, 30)


def test_weekends_and_holidays_have_no_digest():
    chat = _chat("UTC")
    friday = dt.date(2026, 9, 25)
    saturday_noon, sunday_noon = _utc(2026, 9, 26, 12), _utc(2026, 9, 27, 12)
    assert due_days(chat, saturday_noon, friday, {friday}, catch_up_days=5) == []
    assert due_days(chat, sunday_noon, friday, {friday}, catch_up_days=5) == []
    holiday = dt.date(2026, 9, 28)
    assert due_days(chat, _utc(2026, 9, 28, 12), friday, {friday}, catch_up_days=5, holidays=[holiday]) == []
    assert due_days(chat, _utc(2026, 9, 29, 12), friday, {friday}, catch_up_days=5, holidays=[holiday]) == [
        dt.date(2026, 9, 29)
    ]


def test_downtime_catches_up_missed_days_up_to_the_limit():
    chat = _chat("UTC")
    first = dt.date(2026, 9, 14)
    served = {first, dt.date(2026, 9, 21)}  # the service was down from Monday the 21st until the next Monday
    now = _utc(2026, 9, 28, 9)
    assert due_days(chat, now, first, served, catch_up_days=5) == [
        dt.date(2026, 9, 22), dt.date(2026, 9, 23), dt.date(2026, 9, 24), dt.date(2026, 9, 25), dt.date(2026, 9, 28)
    ]
    assert due_days(chat, now, first, served, catch_up_days=2) == [
        dt.date(2026, 9, 24), dt.date(2026, 9, 25), dt.date(2026, 9, 28)
    ]
    assert due_days(chat, now, None, catch_up_days=5) == [dt.date(2026, 9, 28)]
    # a day arXiv failed to serve stays due even after later days were planned
    assert due_days(chat, now, first, served | {dt.date(2026, 9, 23), dt.date(2026, 9, 25)}, catch_up_days=5) == [
        dt.date(2026, 9, 22), dt.date(2026, 9, 24), dt.date(2026, 9, 28)
    ]
    # a chat that started on Thursday gets nothing from before it existed
    assert due_days(chat, now, dt.date(2026, 9, 24), {dt.date(2026, 9, 24)}, catch_up_days=5) == [
        dt.date(2026, 9, 25), dt.date(2026, 9, 28)
    ]
    assert recent_announcement_days(dt.date(2026, 9, 28), 2) == [dt.date(2026, 9, 25), dt.date(2026, 9, 28)]


def test_days_setting_limits_which_announcement_days_a_chat_gets():
    chat = _chat("UTC", days=(0,))
    monday = dt.date(2026, 9, 21)
    assert due_days(chat, _utc(2026, 9, 24, 9), monday, {monday}, catch_up_days=5) == []
    assert due_days(chat, _utc(2026, 9, 28, 9), monday, {monday}, catch_up_days=5) == [dt.date(2026, 9, 28)]


def test_next_delivery():
    chat = _chat("Europe/Berlin")
    assert next_delivery(chat, _utc(2026, 9, 24, 5), set()) == _utc(2026, 9, 24, 6)
    assert next_delivery(chat, _utc(2026, 9, 24, 7), set()) == _utc(2026, 9, 24, 7)  # due now
    assert next_delivery(chat, _utc(2026, 9, 24, 7), {THURSDAY}) == _utc(2026, 9, 25, 6)
    assert next_delivery(chat, _utc(2026, 9, 25, 7), {dt.date(2026, 9, 25)}) == _utc(2026, 9, 28, 6)
    assert next_delivery(_chat("UTC", paused=True), _utc(2026, 9, 24, 7), set()) is None


def test_a_new_chat_starts_with_the_first_digest_due_after_it_was_created():
    chat = _chat("UTC")
    tuesday = dt.date(2026, 9, 22)
    assert due_days(chat, _utc(2026, 9, 22, 9), None, catch_up_days=5, owed_from=_utc(2026, 9, 22, 7)) == [tuesday]
    assert due_days(chat, _utc(2026, 9, 22, 11), None, catch_up_days=5, owed_from=_utc(2026, 9, 22, 10)) == []
    sunday = _utc(2026, 9, 27, 15)  # Friday's digest is not sent on Sunday to a chat that did not exist on Friday
    assert due_days(chat, sunday, None, catch_up_days=5, owed_from=sunday) == []
    assert next_delivery(chat, sunday, set(), not_before=sunday) == _utc(2026, 9, 28, 8)
    assert due_days(chat, _utc(2026, 9, 28, 8), None, catch_up_days=5, owed_from=sunday) == [dt.date(2026, 9, 28)]
    # Down through its first delivery time and back after the next mailing: the first digest is caught up too.
    wednesday = dt.date(2026, 9, 23)
    assert due_days(chat, _utc(2026, 9, 23, 9), None, catch_up_days=5, owed_from=_utc(2026, 9, 22, 7)) == [tuesday, wednesday]
