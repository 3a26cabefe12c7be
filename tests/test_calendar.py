"""Which announcement day is current, across weekends, holidays and the Eastern-time cut-over."""
from __future__ import annotations

import datetime as dt

from core.arxiv.calendar import announcement_days, current_announcement_day, is_announcement_day, next_announcement_day

UTC = dt.timezone.utc


def test_weekend_is_not_an_announcement_day():
    assert not is_announcement_day(dt.date(2026, 11, 28))  # Saturday
    assert is_announcement_day(dt.date(2026, 11, 27))


def test_current_day_switches_after_midnight_eastern():
    # 04:00 UTC on Thu 24 Sep 2026 is 00:00 EDT: the Thursday feed is not reliably out yet.
    assert current_announcement_day(dt.datetime(2026, 9, 24, 4, 0, tzinfo=UTC)) == dt.date(2026, 9, 23)
    assert current_announcement_day(dt.datetime(2026, 9, 24, 5, 0, tzinfo=UTC)) == dt.date(2026, 9, 24)


def test_weekend_and_holiday_fall_back_to_last_mailing():
    sunday = dt.datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    assert current_announcement_day(sunday) == dt.date(2026, 11, 27)
    thanksgiving = {dt.date(2026, 11, 26), dt.date(2026, 11, 27)}
    assert current_announcement_day(sunday, thanksgiving) == dt.date(2026, 11, 25)


def test_days_between_and_next():
    days = list(announcement_days(dt.date(2026, 11, 27), dt.date(2026, 12, 1)))
    assert days == [dt.date(2026, 11, 27), dt.date(2026, 11, 30), dt.date(2026, 12, 1)]
    assert next_announcement_day(dt.date(2026, 11, 27)) == dt.date(2026, 11, 30)
