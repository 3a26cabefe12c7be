"""When a chat's digest for an announcement day is due: pure time arithmetic over zoneinfo, no I/O.

A chat gets announcement day D's digest at the first moment, on or after D's feed is out
(00:30 US Eastern on D), at which its local clock shows its delivery time. So a chat in UTC+14
receives Monday's mailing on Tuesday morning local time, one in UTC-10 on Monday morning, and
daylight-saving switches move the UTC instant, never the local one. `ChatSettings.days` lists the
weekdays (Monday = 0) of the announcement days the chat wants.

A weekly chat gets one digest a week, on its weekday at its delivery time, covering the announcement
days whose feed came out in the week before and that it was not served yet (see week_days).

A tick asks this for every chat (100,000 of them on one machine); DueTimes answers for all of them at one
moment, converting time zones once per distinct DeliverySchedule rather than once per chat.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from functools import cached_property
from zoneinfo import ZoneInfo

from core.arxiv.calendar import (
    ARXIV_TIMEZONE,
    FEED_READY,
    current_announcement_day,
    is_announcement_day,
    next_announcement_day,
)
from core.models import ChatSettings, DeliverySchedule

UTC = dt.timezone.utc
MAX_DAYS_AHEAD = 21  # next_delivery looks this many announcement days ahead before answering None
WEEK_DAYS = 7  # a weekly digest covers announcement days whose feed came out in the 7 days before it ...
WEEK_ANNOUNCEMENT_DAYS = 5  # ... at most 5 of them (arXiv's week)
MAX_WEEKS_AHEAD = 3  # next_weekly_delivery looks this many weeks ahead before answering None

Timing = ChatSettings | DeliverySchedule  # what the time arithmetic reads: zone, delivery time, days, weekday


def feed_ready_at(day: dt.date, arxiv_timezone: str = ARXIV_TIMEZONE) -> dt.datetime:
    """The UTC instant the announcement feed dated `day` is reliably out."""
    return dt.datetime.combine(day, FEED_READY, tzinfo=ZoneInfo(arxiv_timezone)).astimezone(UTC)


def local_moment(date: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """A local wall-clock time as a UTC instant; a time skipped by a DST switch maps to just after it."""
    return dt.datetime.combine(date, at, tzinfo=zone).astimezone(UTC)


def delivery_moment(chat: Timing, day: dt.date, arxiv_timezone: str = ARXIV_TIMEZONE) -> dt.datetime:
    """The UTC instant the chat's digest for announcement day `day` becomes due."""
    zone = ZoneInfo(chat.timezone)
    ready = feed_ready_at(day, arxiv_timezone)
    local_date = ready.astimezone(zone).date()
    moment = local_moment(local_date, chat.delivery_time, zone)
    if moment < ready:
        moment = local_moment(local_date + dt.timedelta(days=1), chat.delivery_time, zone)
    return moment


def recent_announcement_days(current: dt.date, count: int, holidays: Collection[dt.date] = ()) -> list[dt.date]:
    """The `count` announcement days ending with `current`, oldest first."""
    days = [current]
    day = current
    while len(days) < count:
        day -= dt.timedelta(days=1)
        if is_announcement_day(day, holidays):
            days.insert(0, day)
    return days


def due_days(
    chat: ChatSettings,
    now: dt.datetime,
    first_planned: dt.date | None,
    planned: Collection[dt.date] = (),
    *,
    catch_up_days: int,
    owed_from: dt.datetime | None = None,
    holidays: Collection[dt.date] = (),
    arxiv_timezone: str = ARXIV_TIMEZONE,
) -> list[dt.date]:
    """Announcement days whose digest this chat should get now, oldest first (see DueTimes.days)."""
    due = DueTimes(now, catch_up_days=catch_up_days, holidays=holidays, arxiv_timezone=arxiv_timezone)
    return due.days(chat.delivery_schedule, first_planned, planned, owed_from)


class DueTimes:
    """What is due at one moment, for any number of chats: a chat's delivery moments depend only on its
    DeliverySchedule, so each distinct schedule's are computed once (zoneinfo arithmetic is what a tick over
    100,000 chats would otherwise spend its time on) and each chat only compares them with its own records."""

    def __init__(
        self,
        now: dt.datetime,
        *,
        catch_up_days: int = 0,
        holidays: Collection[dt.date] = (),
        arxiv_timezone: str = ARXIV_TIMEZONE,
    ) -> None:
        self.now = now
        self.catch_up_days = catch_up_days
        self.holidays = holidays
        self.arxiv_timezone = arxiv_timezone
        self._owed: dict[DeliverySchedule, tuple[tuple[dt.date, dt.datetime], ...]] = {}
        self._weeks: dict[DeliverySchedule, tuple[dt.datetime, tuple[dt.date, ...]]] = {}

    @cached_property
    def current(self) -> dt.date:
        return current_announcement_day(self.now, self.holidays, self.arxiv_timezone)

    @cached_property
    def window(self) -> list[dt.date]:
        """The announcement days a chat can still be owed, oldest first: catch_up_days before the current one."""
        return recent_announcement_days(self.current, self.catch_up_days + 1, self.holidays)

    def days(
        self,
        schedule: DeliverySchedule,
        first_planned: dt.date | None,
        planned: Collection[dt.date] = (),
        owed_from: dt.datetime | None = None,
    ) -> list[dt.date]:
        """Announcement days whose digest a chat with this schedule should get now, oldest first.

        A day is owed when its delivery moment has passed, but not before `owed_from` (the chat's
        creation or reactivation): someone who signs up on Tuesday at 10:00 for 08:00 digests (or on a
        Sunday) gets the next one at 08:00, not a stale one now, and a chat that removed the bot and
        added it back gets nothing from the time it was gone. Every owed day without a plan of its
        own counts, as far back as `catch_up_days` before the current one and never before the chat's
        first digest: after downtime (or a day arXiv failed to serve) the missed mailings arrive
        instead of vanishing, a new chat's first one included. Without `owed_from` a chat never
        served starts with the current day.
        """
        passed = self._passed_moments(schedule)
        if first_planned is None and owed_from is None:
            return [day for day, _ in passed if day == self.current]
        return [
            day
            for day, moment in passed
            if (first_planned is None or day >= first_planned)
            and day not in planned
            and (owed_from is None or moment >= owed_from)
        ]

    def _passed_moments(self, schedule: DeliverySchedule) -> tuple[tuple[dt.date, dt.datetime], ...]:
        """The window's days the schedule wants whose delivery moment has passed, with that moment."""
        passed = self._owed.get(schedule)
        if passed is None:
            moments = (
                (day, delivery_moment(schedule, day, self.arxiv_timezone))
                for day in self.window
                if day.weekday() in schedule.days
            )
            passed = self._owed[schedule] = tuple((day, moment) for day, moment in moments if moment <= self.now)
        return passed

    def week(self, schedule: DeliverySchedule, after: dt.date | None, owed_from: dt.datetime | None = None) -> tuple[dt.date, ...]:
        """The days of the weekly digest a chat with this schedule should get now (oldest first), or () when none is due.

        Its latest weekly moment counts unless it came before `owed_from` (as in days); a week missed during
        downtime arrives late rather than never, and only the latest week is owed. Once planned, the week's
        newest day is `after` and the same week is not due again."""
        latest = self._weeks.get(schedule)
        if latest is None:
            moment = last_weekly_moment(schedule, self.now)
            latest = self._weeks[schedule] = moment, week_days(moment, None, self.holidays, self.arxiv_timezone)
        moment, days = latest
        if owed_from is not None and moment < owed_from:
            return ()
        return tuple(day for day in days if after is None or day > after)


def next_delivery(
    chat: ChatSettings,
    now: dt.datetime,
    planned_days: Collection[dt.date],
    *,
    not_before: dt.datetime | None = None,
    holidays: Collection[dt.date] = (),
    arxiv_timezone: str = ARXIV_TIMEZONE,
) -> dt.datetime | None:
    """When the chat's next digest goes out (now, if one is due); None when it gets none.

    `not_before`: digests due before it are not sent (the chat's creation or reactivation, see due_days).
    """
    if not chat.active or chat.paused or not chat.days:
        return None
    day = current_announcement_day(now, holidays, arxiv_timezone)
    for _ in range(MAX_DAYS_AHEAD):
        moment = delivery_moment(chat, day, arxiv_timezone)
        if day not in planned_days and day.weekday() in chat.days and (not_before is None or moment >= not_before):
            return max(moment, now)
        day = next_announcement_day(day, holidays)
    return None


def last_weekly_moment(chat: Timing, now: dt.datetime) -> dt.datetime:
    """The latest UTC instant at or before `now` at which the chat's local clock showed its weekday and delivery time."""
    zone = ZoneInfo(chat.timezone)
    today = now.astimezone(zone).date()
    date = today - dt.timedelta(days=(today.weekday() - chat.weekly_day) % 7)
    moment = local_moment(date, chat.delivery_time, zone)
    return moment if moment <= now else local_moment(date - dt.timedelta(days=WEEK_DAYS), chat.delivery_time, zone)


def week_days(
    moment: dt.datetime,
    after: dt.date | None,
    holidays: Collection[dt.date] = (),
    arxiv_timezone: str = ARXIV_TIMEZONE,
) -> tuple[dt.date, ...]:
    """The announcement days a weekly digest due at `moment` covers, oldest first: those whose feed came out in
    the WEEK_DAYS before it (at most WEEK_ANNOUNCEMENT_DAYS) and, when the chat was served before, after `after`,
    the newest day it was served (by a weekly or a daily digest): no day twice, none skipped within a week."""
    current = current_announcement_day(moment, holidays, arxiv_timezone)
    start = moment - dt.timedelta(days=WEEK_DAYS)
    return tuple(
        day
        for day in recent_announcement_days(current, WEEK_ANNOUNCEMENT_DAYS, holidays)
        if feed_ready_at(day, arxiv_timezone) > start and (after is None or day > after)
    )


def due_week(
    chat: ChatSettings,
    now: dt.datetime,
    after: dt.date | None,
    *,
    owed_from: dt.datetime | None = None,
    holidays: Collection[dt.date] = (),
    arxiv_timezone: str = ARXIV_TIMEZONE,
) -> tuple[dt.date, ...]:
    """The days of the weekly digest this chat should get now (oldest first), or () (see DueTimes.week)."""
    return DueTimes(now, holidays=holidays, arxiv_timezone=arxiv_timezone).week(chat.delivery_schedule, after, owed_from)


def next_weekly_delivery(
    chat: ChatSettings,
    now: dt.datetime,
    after: dt.date | None,
    *,
    not_before: dt.datetime | None = None,
    holidays: Collection[dt.date] = (),
    arxiv_timezone: str = ARXIV_TIMEZONE,
) -> dt.datetime | None:
    """When the weekly chat's next digest goes out (now, if one is due); None when it gets none."""
    if not chat.active or chat.paused:
        return None
    if due_week(chat, now, after, owed_from=not_before, holidays=holidays, arxiv_timezone=arxiv_timezone):
        return now
    moment = last_weekly_moment(chat, now)
    for _ in range(MAX_WEEKS_AHEAD):
        moment = following_weekly_moment(chat, moment)
        if (not_before is None or moment >= not_before) and week_days(moment, after, holidays, arxiv_timezone):
            return moment
    return None


def following_weekly_moment(chat: Timing, moment: dt.datetime) -> dt.datetime:
    """The chat's weekly moment a week after `moment` (one of its weekly moments), by its local clock."""
    zone = ZoneInfo(chat.timezone)
    return local_moment(moment.astimezone(zone).date() + dt.timedelta(days=WEEK_DAYS), chat.delivery_time, zone)


def week_so_far(
    chat: ChatSettings,
    now: dt.datetime,
    after: dt.date | None,
    *,
    owed_from: dt.datetime | None = None,
    holidays: Collection[dt.date] = (),
    arxiv_timezone: str = ARXIV_TIMEZONE,
) -> tuple[dt.date, ...]:
    """The days a weekly chat's `digest` previews, oldest first: those of its week due now, else the days out by
    `now` that its next weekly digest covers; right after a delivery, with no new day yet, the past WEEK_DAYS'."""
    due = due_week(chat, now, after, owed_from=owed_from, holidays=holidays, arxiv_timezone=arxiv_timezone)
    if due:
        return due
    upcoming = following_weekly_moment(chat, last_weekly_moment(chat, now))
    days = week_days(upcoming, after, holidays, arxiv_timezone)
    out = tuple(day for day in days if feed_ready_at(day, arxiv_timezone) <= now)
    return out or week_days(now, None, holidays, arxiv_timezone)
