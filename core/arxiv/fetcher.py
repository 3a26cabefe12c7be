"""The Fetcher: stores each announcement day's feed once, tells "nothing announced" from "arXiv failed", and wraps the export API."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from core.arxiv import api
from core.arxiv.calendar import announcement_days, current_announcement_day
from core.arxiv.errors import ArxivError
from core.arxiv.feed import FeedPage, parse_feed
from core.arxiv.http import PoliteHttp
from core.categories import canonical_categories
from core.config import ArxivSettings
from core.models import FetchResult, Paper
from core.store import Store

log = logging.getLogger(__name__)

MAX_BACKFILL_DAYS = 60  # about three months of mailings: the export API is not meant for bulk harvesting
Progress = Callable[[str], None]


def _log_progress(message: str) -> None:
    log.info("%s", message)


def check_categories(categories: Sequence[str]) -> tuple[str, ...]:
    """Sorted, de-duplicated categories as arXiv spells them; ValueError names any arXiv does not have (as in config.json)."""
    wanted = tuple(sorted(canonical_categories(category for category in categories if category.strip())))
    if not wanted:
        raise ValueError("no arXiv categories to fetch")
    return wanted


class Fetcher:
    """Reads arXiv through one polite HTTP client and writes what it read to the store."""

    def __init__(
        self,
        settings: ArxivSettings,
        store: Store,
        clock: Callable[[], dt.datetime] | None = None,
        *,
        http: PoliteHttp | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock or store.now
        self._http = http

    @property
    def http(self) -> PoliteHttp:
        if self._http is None:
            self._http = PoliteHttp(self.settings)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def current_day(self) -> dt.date:
        return current_announcement_day(self.clock(), self.settings.holidays, self.settings.announcement_timezone)

    def stored_categories(self, day: dt.date) -> set[str]:
        return self.store.papers.fetched_categories(day)

    async def fetch_day(self, categories: Sequence[str], progress: Progress = _log_progress) -> FetchResult:
        """Fetch today's feed for the categories not stored yet for the current announcement day.

        Returns status "ok" (papers stored) or "empty" (nothing announced, or nothing new);
        raises ArxivUnavailable / ArxivMalformed after logging a failed fetch, having stored nothing.
        """
        requested = check_categories(categories)
        day = self.current_day()
        wanted = tuple(category for category in requested if category not in self.stored_categories(day))
        if not wanted:
            progress(f"{day}: {'+'.join(requested)} already stored")
            return FetchResult(requested, day, (), "empty")
        url = self.settings.feed_url + "+".join(wanted)
        progress(f"{day}: requesting the {'+'.join(wanted)} feed")
        try:
            page = parse_feed(await self.http.get(url))
        except ArxivError as exc:
            self.store.papers.record_fetch("feed", wanted, day, "failed", error=str(exc))
            raise
        if not page.papers and page.announcement_day != day:
            # The feed has moved past the day (a weekend's feed is empty and undated): a first start on
            # Saturday would otherwise have nothing until Monday, since backfill stops before today.
            progress(f"{day}: the feed no longer carries it (dated {page.announcement_day or 'nowhere'}); asking the export API")
            papers = tuple((await self._store_from_api(wanted, [day], progress)).get(day, ()))
            return FetchResult(wanted, day if papers else None, papers, "ok" if papers else "empty")
        return self._store_page(page, day, wanted, progress)

    def _store_page(self, page: FeedPage, day: dt.date, wanted: tuple[str, ...], progress: Progress) -> FetchResult:
        feed_day = page.announcement_day
        if not page.papers:  # dated the expected day (fetch_day asks the export API otherwise): a quiet day
            self.store.papers.record_fetch("feed", wanted, day, "empty")
            progress(f"{day}: arXiv announced nothing")
            return FetchResult(wanted, None, (), "empty")
        announced_day = feed_day or day
        if announced_day != day and set(wanted) <= self.stored_categories(announced_day):
            self.store.papers.record_fetch("feed", wanted, None, "empty")
            progress(f"{day}: the feed still shows {announced_day}, which is stored")
            return FetchResult(wanted, None, (), "empty")
        papers = tuple(
            replace(paper, announced=announced_day) for paper in page.papers
        )
        count = self.store.papers.store_announcement(announced_day, papers)
        self.store.papers.record_fetch("feed", wanted, announced_day, "ok", count)
        progress(f"{announced_day}: stored {count} papers for {'+'.join(wanted)}")
        return FetchResult(wanted, announced_day, papers, "ok")

    async def backfill(self, since: dt.date, categories: Sequence[str], progress: Progress = _log_progress) -> int:
        """Store, from the export API, announcement days from `since` up to (not including) today's.

        Days already stored for every category are skipped; returns how many papers were stored.
        """
        requested = check_categories(categories)
        today = self.current_day()
        open_days = [
            day
            for day in announcement_days(since, today - dt.timedelta(days=1), self.settings.holidays)
            if not set(requested) <= self.stored_categories(day)
        ]
        if not open_days:
            progress(f"every announcement day since {since} is stored")
            return 0
        if len(open_days) > MAX_BACKFILL_DAYS:
            raise ValueError(
                f"backfill covers at most {MAX_BACKFILL_DAYS} announcement days; {since} is {len(open_days)} days back"
            )
        progress(f"asking the export API for {len(open_days)} day(s): {open_days[0]} to {open_days[-1]}")
        stored = await self._store_from_api(requested, open_days, progress)
        return sum(map(len, stored.values()))

    async def _store_from_api(
        self, categories: tuple[str, ...], days: Sequence[dt.date], progress: Progress
    ) -> dict[dt.date, list[Paper]]:
        """Store the days' new papers from the export API (a day it cut short stays open); the papers stored by day."""
        try:
            backfill = await api.papers_by_announcement_day(self.http, self.settings, categories, days, progress)
        except ArxivError as exc:
            for day in days:
                self.store.papers.record_fetch("api", categories, day, "failed", error=str(exc))
            raise
        stored = {}
        for day in days:
            if day not in backfill.complete_days:
                progress(f"{day}: not complete (the export API's result limit); run backfill again from {day}")
                continue
            papers = stored[day] = backfill.by_day.get(day, [])
            count = self.store.papers.store_announcement(day, papers) if papers else 0
            self.store.papers.record_fetch("api", categories, day, "ok" if papers else "empty", count)
            progress(f"{day}: stored {count} papers")
        return stored

    async def papers_by_id(self, arxiv_ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by id (without version): stored ones as stored, the others asked of the export API in
        batches and stored, so each is fetched once; ids arXiv does not know are left out."""
        found = self.store.papers.papers_by_id(arxiv_ids)
        missing = [arxiv_id for arxiv_id in dict.fromkeys(arxiv_ids) if arxiv_id not in found]
        if missing:
            fetched = [paper for paper in await api.fetch_ids(self.http, self.settings, missing) if paper.arxiv_id in missing]
            self.store.saved.store_papers(fetched)
            found.update(self.store.papers.papers_by_id(paper.arxiv_id for paper in fetched))
        return found

    async def search(self, query: str, max_results: int = 5) -> list[Paper]:
        """Papers matching a free-text query, newest submissions first."""
        return await api.search(self.http, self.settings, query, max_results)
