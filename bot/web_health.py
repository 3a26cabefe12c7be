"""Health checks /healthz runs besides its own: whether the latest announcement day is stored in time."""
from __future__ import annotations

import datetime as dt

from bot.schedule_times import feed_ready_at
from core.arxiv.calendar import current_announcement_day
from core.config import Settings
from core.store import Store


def announcements_check(store: Store, settings: Settings, now: dt.datetime) -> tuple[dict[str, object], bool]:
    """(what to report, healthy): the current announcement day must be fetched for the published categories
    within web.announcement_overdue_hours of its feed being out, or pages and feeds are going stale."""
    arxiv = settings.arxiv
    expected = current_announcement_day(now, arxiv.holidays, arxiv.announcement_timezone)
    missing = sorted(set(settings.defaults.categories) - store.papers.fetched_categories(expected))
    due_by = feed_ready_at(expected, arxiv.announcement_timezone) + dt.timedelta(hours=settings.web.announcement_overdue_hours)
    newest = store.papers.announcement_days(limit=1)
    report: dict[str, object] = {
        "expected_day": expected.isoformat(),
        "latest_stored_day": newest[0].isoformat() if newest else None,
        "missing_categories": missing,
    }
    overdue = bool(missing) and now >= due_by
    if overdue:
        report["overdue_since"] = due_by.isoformat()
    return report, not overdue
