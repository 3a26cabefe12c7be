"""The arXiv export API through the `arxiv` package, its requests routed through our polite HTTP policy."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import arxiv
from arxiv import _feed as arxiv_feed

from core.arxiv.calendar import ARXIV_TIMEZONE, next_announcement_day, previous_announcement_day
from core.arxiv.errors import ArxivMalformed, ArxivRejected, ArxivUnavailable
from core.arxiv.feed import ARXIV_ID, ATOM, clean_text, read_xml, split_arxiv_id
from core.arxiv.http import PoliteHttp
from core.config import ArxivSettings
from core.models import Paper

log = logging.getLogger(__name__)

SUBMISSION_CUTOFF = dt.time(14, 0)  # US Eastern: later submissions go to the next mailing
MAX_SEARCH_RESULTS = 50
MAX_IDS_PER_REQUEST = 100
MAX_BACKFILL_RESULTS = 30000  # the export API refuses to page further than this
QUERY_WORD = re.compile(r"[\w.\-]+", re.UNICODE)

Progress = Callable[[str], None]


def api_error_message(body: bytes) -> str | None:
    """The text of an export API error entry ("incorrect id format for abc"), or None if the body has none."""
    try:
        root = read_xml(body, "arXiv's error page")
    except ArxivMalformed:
        return None
    for entry in root.iter(f"{ATOM}entry"):
        if "/api/errors" in (entry.findtext(f"{ATOM}id") or ""):
            return clean_text(entry.findtext(f"{ATOM}summary")) or "unspecified error"
    return None


def announcement_day_for(submitted: dt.datetime, holidays: Collection[dt.date] = ()) -> dt.date:
    """The feed day that announces a submission: the mailing after the next 14:00 Eastern weekday cutoff."""
    local = submitted.astimezone(ZoneInfo(ARXIV_TIMEZONE))
    cutoff_day = local.date() if local.time() < SUBMISSION_CUTOFF else local.date() + dt.timedelta(days=1)
    while cutoff_day.weekday() >= 5:
        cutoff_day += dt.timedelta(days=1)
    return next_announcement_day(cutoff_day, holidays)


def _cutoff_before(day: dt.date) -> dt.datetime:
    """14:00 Eastern on the weekday before `day`: the cutoff of the mailing announced on `day`."""
    previous = day - dt.timedelta(days=1)
    while previous.weekday() >= 5:
        previous -= dt.timedelta(days=1)
    return dt.datetime.combine(previous, SUBMISSION_CUTOFF, ZoneInfo(ARXIV_TIMEZONE))


def paper_from_result(result: arxiv.Result, watched: Collection[str] = (), holidays: Collection[dt.date] = ()) -> Paper:
    """A Paper from an export API entry; with `watched` categories, its announce type and day are inferred."""
    identity = split_arxiv_id(result.entry_id)
    if identity is None:
        raise ArxivMalformed(f"export API entry without an arXiv id: {result.entry_id!r}")
    arxiv_id, version = identity
    if watched:  # a backfill by submission date: this is the paper's first announcement, whatever its version now
        kind = "new" if result.primary_category in watched else "cross"
    else:
        kind = "new" if version == 1 else "replace"
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=clean_text(result.title),
        authors=tuple(clean_text(author.name) for author in result.authors),
        abstract=clean_text(result.summary),
        categories=tuple(result.categories),
        primary_category=result.primary_category or (result.categories[0] if result.categories else ""),
        announce_type=kind,
        announced=announcement_day_for(result.published, holidays) if watched else None,
        published=result.published.date(),
        comment=clean_text(result.comment),
        journal_ref=clean_text(result.journal_ref),
        doi=clean_text(result.doi),
    )


class _PoliteClient(arxiv.Client):
    """arxiv.Client (paging, URL building, parsing) whose pages are fetched by PoliteHttp on the event loop."""

    def __init__(
        self,
        http: PoliteHttp,
        settings: ArxivSettings,
        loop: asyncio.AbstractEventLoop,
        progress: Progress,
        page_size: int,
    ) -> None:
        # The package's own delay and retries would double ours (and ignore Retry-After).
        super().__init__(page_size=page_size, delay_seconds=0, num_retries=0)
        self.query_url_format = settings.api_url + "?{}"
        self._http = http
        self._loop = loop
        self._progress = progress
        self._pages = 0

    def _parse_feed(self, url: str, first_page: bool = True, _try_index: int = 0) -> arxiv_feed.ParsedFeed:
        try:
            body = asyncio.run_coroutine_threadsafe(self._http.get(url), self._loop).result()
        except ArxivRejected as exc:
            reason = api_error_message(exc.body)
            raise ArxivRejected(f"arXiv rejected the query: {reason or exc}", exc.status, exc.body) from exc
        reason = api_error_message(body)
        if reason is not None:
            raise ArxivRejected(f"arXiv rejected the query: {reason}", 400, body)
        root = read_xml(body, "arXiv's export API page")  # the package's parser recovers from truncation; we refuse half a page
        if root.tag != f"{ATOM}feed":
            raise ArxivMalformed(f"arXiv's export API sent a <{root.tag}> document instead of an Atom feed")
        page = arxiv_feed.parse(body)
        if not page.results and not first_page:
            raise ArxivUnavailable("arXiv's export API returned an empty page in the middle of the results")
        if not page.results and page.header.total_results > 0:  # the package would read it as "nothing"
            raise ArxivUnavailable(f"arXiv's export API reported {page.header.total_results} results but sent none")
        self._pages += 1
        self._progress(f"export API page {self._pages}: {len(page.results)} of {page.header.total_results} results")
        return page


async def _run(
    http: PoliteHttp, settings: ArxivSettings, search: arxiv.Search, progress: Progress = log.info
) -> list[arxiv.Result]:
    page_size = min(settings.api_page_size, search.max_results or settings.api_page_size)
    client = _PoliteClient(http, settings, asyncio.get_running_loop(), progress, page_size)
    return await asyncio.to_thread(lambda: list(client.results(search)))


def search_words(text: str) -> list[str]:
    """The words of a free-text search the export API can look up (letters, digits, `.` and `-`)."""
    return QUERY_WORD.findall(text)


def free_text_query(text: str) -> str:
    """The export API's syntax for "every word anywhere": all:word AND all:word."""
    words = search_words(text)
    if not words:
        raise ValueError("a search needs at least one word")
    return " AND ".join(f"all:{word}" for word in words)


async def search(http: PoliteHttp, settings: ArxivSettings, query: str, max_results: int = 5) -> list[Paper]:
    limit = max(1, min(max_results, MAX_SEARCH_RESULTS))
    request = arxiv.Search(query=free_text_query(query), max_results=limit)
    return [paper_from_result(result) for result in await _run(http, settings, request)]


async def fetch_ids(http: PoliteHttp, settings: ArxivSettings, ids: Sequence[str]) -> list[Paper]:
    wanted = list(dict.fromkeys(item.strip() for item in ids if item.strip()))
    bad = [item for item in wanted if not ARXIV_ID.fullmatch(item)]
    if bad:
        raise ValueError(f"not arXiv ids: {', '.join(bad)} (expected ids such as 2409.01234 or hep-th/0601001)")
    papers: list[Paper] = []
    for start in range(0, len(wanted), MAX_IDS_PER_REQUEST):
        chunk = wanted[start : start + MAX_IDS_PER_REQUEST]
        request = arxiv.Search(id_list=chunk, max_results=len(chunk))
        papers += [paper_from_result(result) for result in await _run(http, settings, request)]
    return papers


@dataclass(frozen=True)
class Backfill:
    """Papers by announcement day, and which of the asked days are complete (all of them, unless the
    export API's result limit cut the query short: then the days from the last one reached on)."""

    by_day: dict[dt.date, list[Paper]]
    complete_days: frozenset[dt.date]


async def papers_by_announcement_day(
    http: PoliteHttp,
    settings: ArxivSettings,
    categories: Sequence[str],
    days: Sequence[dt.date],
    progress: Progress = log.info,
) -> Backfill:
    """New submissions (and cross-lists) in the categories, grouped by the day they were announced.

    The export API knows submission times, not mailings: each paper's day follows arXiv's 14:00
    Eastern cutoff (a holiday's mailing moves to the next announcement day, so the window starts
    at the cutoff of the announcement day before the first one asked). Replacements are not in the
    API's date index, so a backfill holds only new papers.
    """
    start = _cutoff_before(previous_announcement_day(min(days), settings.holidays)).astimezone(dt.timezone.utc)
    end = _cutoff_before(max(days)).astimezone(dt.timezone.utc)
    in_categories = " OR ".join(f"cat:{category}" for category in categories)
    request = arxiv.Search(
        query=f"({in_categories}) AND submittedDate:[{start:%Y%m%d%H%M} TO {end:%Y%m%d%H%M}]",
        max_results=MAX_BACKFILL_RESULTS,
        sort_by=arxiv.SortCriterion.SubmittedDate,
        sort_order=arxiv.SortOrder.Ascending,
    )
    results = await _run(http, settings, request, progress)
    papers = [paper_from_result(result, set(categories), settings.holidays) for result in results]
    complete = set(days)
    if len(results) >= MAX_BACKFILL_RESULTS and papers:
        reached = papers[-1].announced  # sorted by submission: this day and later ones may be cut short
        complete = {day for day in days if reached is not None and day < reached}
        log.warning("backfill hit the export API's %d result limit at %s; run it again for the days after", MAX_BACKFILL_RESULTS, reached)
    by_day: dict[dt.date, list[Paper]] = {}
    for paper in papers:
        if paper.announced in complete:
            by_day.setdefault(paper.announced, []).append(paper)
    return Backfill(by_day, frozenset(complete))
