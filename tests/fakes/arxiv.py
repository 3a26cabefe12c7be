"""A loopback fake of arXiv (announcement feeds and export API) with fault injection, plus feed builders from real paper lists."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from aiohttp import web

from core.config import ArxivSettings
from core.models import Paper

EASTERN = ZoneInfo("America/New_York")
HANG_SECONDS = 30.0  # longer than any test client's timeout; released at teardown
PAPER_LISTS = Path(__file__).resolve().parent.parent / "fixtures" / "arxiv"

RSS_HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" \
xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/" version="2.0">
  <channel>
    <title>{names} updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/{joined}</link>
    <description>{names} updates on the arXiv.org e-print archive.</description>
    <atom:link href="http://rss.arxiv.org/rss/{joined}" rel="self" type="application/rss+xml"/>
    <docs>http://www.rssboard.org/rss-specification</docs>
    <language>en-us</language>
    <lastBuildDate>{built}</lastBuildDate>
    <managingEditor>rss-help@arxiv.org</managingEditor>
    <pubDate>{published}</pubDate>
    <skipDays>
      <day>Sunday</day>
      <day>Saturday</day>
    </skipDays>
"""
RSS_ITEM = """    <item>
      <title>{title}</title>
      <link>https://arxiv.org/abs/{id}</link>
      <description>arXiv:{id}v{version} Announce Type: {kind} 
Abstract: {abstract}</description>
      <guid isPermaLink="false">oai:arXiv.org:{id}v{version}</guid>
{categories}      <pubDate>{published}</pubDate>
      <arxiv:announce_type>{kind}</arxiv:announce_type>
      <dc:rights>http://arxiv.org/licenses/nonexclusive-distrib/1.0/</dc:rights>
{extras}      <dc:creator>{authors}</dc:creator>
    </item>
"""
API_HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" \
xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/fake</id>
  <title>arXiv Query</title>
  <updated>2026-04-12T22:10:19Z</updated>
  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
"""
API_ENTRY = """  <entry>
    <id>http://arxiv.org/abs/{id}v{version}</id>
    <title>{title}</title>
    <updated>{submitted}</updated>
    <link href="https://arxiv.org/abs/{id}v{version}" rel="alternate" type="text/html"/>
    <summary>{abstract}</summary>
{categories}    <published>{submitted}</published>
{extras}    <arxiv:primary_category term="{primary}"/>
{authors}  </entry>
"""


def _eastern_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), EASTERN)


def _elements(indent: str, *tagged: tuple[str, str]) -> str:
    """One line per non-empty optional element."""
    return "".join(f"{indent}<{tag}>{escape(value)}</{tag}>\n" for tag, value in tagged if value)


def build_rss(papers: Sequence[Paper], day: dt.date | None, categories: Sequence[str] = ("cs.AI",)) -> bytes:
    """arXiv's RSS 2.0 announcement feed (format of rss.arxiv.org since 2024) for `papers` announced on `day`.

    With day None, a weekend feed: a channel without a date and without items.
    """
    joined = "+".join(categories)
    published = format_datetime(_eastern_midnight(day)) if day else ""
    head = RSS_HEAD.format(names=", ".join(categories), joined=joined, built=published, published=published)
    if day is None:
        head = head.replace("    <pubDate></pubDate>\n", "").replace("<lastBuildDate></lastBuildDate>", "")
    items = []
    for paper in papers:
        extras = _elements("      ", ("arxiv:DOI", paper.doi), ("arxiv:journal_reference", paper.journal_ref))
        items.append(
            RSS_ITEM.format(
                title=escape(paper.title), id=paper.arxiv_id, version=paper.version, kind=paper.announce_type,
                abstract=escape(paper.abstract), published=published, extras=extras,
                categories="".join(f"      <category>{escape(c)}</category>\n" for c in paper.categories),
                authors=escape(", ".join(paper.authors)),
            )
        )
    return (head + "".join(items) + "  </channel>\n</rss>\n").encode()


def submitted_at(paper: Paper) -> dt.datetime:
    """When the fake says a paper was submitted: noon UTC (08:00 Eastern, before the cutoff) of `published`."""
    return dt.datetime.combine(paper.published or dt.date(2026, 1, 5), dt.time(12, 0), dt.timezone.utc)


def build_api_feed(papers: Sequence[Paper], total: int, start: int = 0) -> bytes:
    """An export API Atom page holding `papers` out of `total` results."""
    entries = []
    for paper in papers:
        extras = _elements("    ", ("arxiv:comment", paper.comment), ("arxiv:doi", paper.doi))
        entries.append(
            API_ENTRY.format(
                id=paper.arxiv_id, version=paper.version, title=escape(paper.title), abstract=escape(paper.abstract),
                submitted=submitted_at(paper).strftime("%Y-%m-%dT%H:%M:%SZ"), primary=paper.primary_category,
                extras=extras,
                categories="".join(
                    f'    <category term="{escape(c)}" scheme="http://arxiv.org/schemas/atom"/>\n'
                    for c in paper.categories
                ),
                authors="".join(f"    <author>\n      <name>{escape(a)}</name>\n    </author>\n" for a in paper.authors),
            )
        )
    head = API_HEAD.format(per_page=len(papers), total=total, start=start)
    return (head + "".join(entries) + "</feed>\n").encode()


def load_paper_list(path: Path | str, announced: dt.date | None = None) -> list[Paper]:
    """Real papers from a paper-list fixture: wanzhouliu's JSON (with announce types) or dw-dengwei's JSON Lines."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        rows = json.loads(text)["papers"]
    except json.JSONDecodeError:  # JSON Lines: one paper per line
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    papers: dict[str, Paper] = {}
    for row in rows:
        arxiv_id = row.get("arxiv_id") or row["id"]
        categories = tuple(row["categories"])
        papers.setdefault(
            arxiv_id,
            Paper(
                arxiv_id=arxiv_id,
                version=1,
                title=" ".join(row["title"].split()),
                authors=tuple(row["authors"]),
                abstract=" ".join((row.get("abstract") or row.get("summary") or "").split()),
                categories=categories,
                primary_category=row.get("primary_category") or categories[0],
                announce_type=row.get("announce_type") or "new",
                announced=announced,
                published=announced,
                comment=row.get("comment") or "",
            ),
        )
    return list(papers.values())


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    query: dict[str, str]
    user_agent: str
    at: float  # time.monotonic() on arrival


@dataclass
class Fault:
    """One injected failure, used for one request: an HTTP status (with Retry-After), a hang, or a broken body."""

    kind: str  # "status" | "hang" | "truncate" | "garbage"
    status: int = 503
    retry_after: str | None = None


@dataclass
class FakeArxiv:
    """State of the fake: what the feed announces, what the API knows, which faults come next, what was asked."""

    day: dt.date | None = None
    papers: list[Paper] = field(default_factory=list)
    api_papers: list[Paper] = field(default_factory=list)
    feed_body: bytes | None = None  # served verbatim by /rss and /atom when set (real fixture files)
    api_body: bytes | None = None
    api_status: int = 200
    faults: list[Fault] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    url: str = ""
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def announce(self, papers: Sequence[Paper], day: dt.date | None) -> None:
        self.papers, self.day, self.feed_body = list(papers), day, None

    def fail_next(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def feed_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if not r.path.startswith("/api")]

    def api_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith("/api")]

    def settings(self, **changes: object) -> ArxivSettings:
        """ArxivSettings pointing at this fake: no spacing, short timeouts, quick retries."""
        values: dict[str, object] = {
            "feed_url": f"{self.url}/rss/", "api_url": f"{self.url}/api/query", "user_agent": "arxiv-digest-tests/1.0",
            "min_interval_seconds": 0, "timeout_seconds": 2, "max_retries": 2, "retry_backoff_seconds": 0.01,
            "max_retry_after_seconds": 5,
        }
        values.update(changes)
        return ArxivSettings(**values)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/rss/{categories}", self._feed)
        app.router.add_get("/atom/{categories}", self._feed)
        app.router.add_get("/api/query", self._api)
        return app

    async def _faulted(self, request: web.Request) -> web.StreamResponse | None:
        self.requests.append(
            RecordedRequest(request.path, dict(request.query), request.headers.get("User-Agent", ""), time.monotonic())
        )
        if not self.faults:
            return None
        fault = self.faults.pop(0)
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            return web.Response(status=fault.status, text="busy", headers=headers)
        if fault.kind == "hang":
            try:
                await asyncio.wait_for(self._release.wait(), HANG_SECONDS)
            except asyncio.TimeoutError:
                pass
            return web.Response(status=503)
        body = self._feed_body(request)
        broken = body[: len(body) // 2] if fault.kind == "truncate" else b"<html><body>Service notice</body>"
        return web.Response(body=broken, content_type="application/rss+xml")

    def _feed_body(self, request: web.Request) -> bytes:
        if self.feed_body is not None:
            return self.feed_body
        categories = request.match_info.get("categories", "cs.AI").split("+")
        listed = [paper for paper in self.papers if set(paper.categories) & set(categories)]
        return build_rss(listed, self.day, categories)

    async def _feed(self, request: web.Request) -> web.StreamResponse:
        return await self._faulted(request) or web.Response(
            body=self._feed_body(request), content_type="application/rss+xml"
        )

    async def _api(self, request: web.Request) -> web.StreamResponse:
        faulted = await self._faulted(request)
        if faulted is not None:
            return faulted
        if self.api_body is not None:
            return web.Response(body=self.api_body, status=self.api_status, content_type="application/atom+xml")
        matching = self._api_matches(parse_qs(request.query_string))
        start = int(request.query.get("start", 0))
        size = int(request.query.get("max_results", 10))
        page = build_api_feed(matching[start : start + size], len(matching), start)
        return web.Response(body=page, content_type="application/atom+xml")

    def _api_matches(self, query: dict[str, list[str]]) -> list[Paper]:
        ids = [i for joined in query.get("id_list", []) for i in joined.split(",") if i]
        if ids:
            return [paper for paper in self.api_papers if paper.arxiv_id in ids]
        search = " ".join(query.get("search_query", []))
        categories = set(re.findall(r"cat:(\S+?)(?:\)|\s)", search + " "))
        window = re.search(r"submittedDate:\[(\d{12}) TO (\d{12})\]", search)
        papers = [p for p in self.api_papers if not categories or set(p.categories) & categories]
        if window:
            low, high = (dt.datetime.strptime(w, "%Y%m%d%H%M").replace(tzinfo=dt.timezone.utc) for w in window.groups())
            papers = [p for p in papers if low <= submitted_at(p) <= high]
        return sorted(papers, key=submitted_at)

    def release_hangs(self) -> None:
        self._release.set()
