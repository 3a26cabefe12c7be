"""arXiv's announcement calendar: which days have a mailing, and which one is current at a given moment.

arXiv announces Sunday to Thursday at 20:00 US Eastern; the RSS feed, rebuilt around midnight
Eastern, carries that mailing dated the next day (Monday to Friday). Holidays are configured.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from zoneinfo import ZoneInfo

ARXIV_TIMEZONE = "America/New_York"
FEED_READY = dt.time(0, 30)  # Eastern: the feed for day D is reliably rebuilt by then


def is_announcement_day(day: dt.date, holidays: Collection[dt.date] = ()) -> bool:
    return day.weekday() < 5 and day not in holidays


def current_announcement_day(
    now: dt.datetime, holidays: Collection[dt.date] = (), timezone: str = ARXIV_TIMEZONE
) -> dt.date:
    """The newest announcement day whose feed is out at `now` (an aware datetime)."""
    local = now.astimezone(ZoneInfo(timezone))
    day = local.date() if local.time() >= FEED_READY else local.date() - dt.timedelta(days=1)
    while not is_announcement_day(day, holidays):
        day -= dt.timedelta(days=1)
    return day


def announcement_days(start: dt.date, end: dt.date, holidays: Collection[dt.date] = ()) -> Iterator[dt.date]:
    """Announcement days from start to end, both included, oldest first."""
    day = start
    while day <= end:
        if is_announcement_day(day, holidays):
            yield day
        day += dt.timedelta(days=1)


def previous_announcement_day(before: dt.date, holidays: Collection[dt.date] = ()) -> dt.date:
    day = before - dt.timedelta(days=1)
    while not is_announcement_day(day, holidays):
        day -= dt.timedelta(days=1)
    return day


def next_announcement_day(after: dt.date, holidays: Collection[dt.date] = ()) -> dt.date:
    day = after + dt.timedelta(days=1)
    while not is_announcement_day(day, holidays):
        day += dt.timedelta(days=1)
    return day
