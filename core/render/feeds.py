"""RSS 2.0 and Atom feeds of digests, built with feedgen: one entry per paper, guid = its arXiv abstract URL."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from feedgen.feed import FeedGenerator

from core.models import Digest, Paper, ScoredPaper
from core.render.html import paper_html
from core.render.view import PaperView, digest_view
from core.xml_text import xml_safe

FeedFormat = Literal["rss", "atom"]
FEED_FORMATS: tuple[FeedFormat, ...] = ("rss", "atom")
MAX_FEED_AUTHORS = 30  # per entry: some collaborations list hundreds, and readers show a line of them
GENERATOR = "arxiv-digest"


@dataclass(frozen=True)
class FeedInfo:
    """What a feed says about itself: its own URL, the page it belongs to, its title, description and language."""

    self_url: str
    page_url: str
    title: str
    description: str
    language: str = "en"  # the summaries' language; titles and abstracts are arXiv's (English)


@dataclass(frozen=True)
class FeedEntry:
    """One paper of one announcement day, as its digest shows it."""

    announcement_day: dt.date
    view: PaperView
    at: dt.datetime | None = None  # when it joined the feed, if not at its announcement (a saved paper: when saved)


def feed_entries(digests: Sequence[Digest]) -> list[FeedEntry]:
    """Digests' papers, newest day first and in digest order; a paper shown twice keeps its newest day."""
    seen: set[str] = set()
    entries = []
    for digest in sorted(digests, key=lambda d: d.announcement_day, reverse=True):
        for view in digest_view(digest).papers:
            if view.arxiv_id not in seen:
                seen.add(view.arxiv_id)
                entries.append(FeedEntry(digest.announcement_day, view))
    return entries


def saved_entries(saved: Sequence[tuple[Paper, dt.datetime]]) -> list[FeedEntry]:
    """A reading list's papers (with when each was saved), in the list's order, dated when they were saved."""
    return [
        FeedEntry(paper.announced or at.date(), PaperView(position, ScoredPaper(paper, 0.0), None), at)
        for position, (paper, at) in enumerate(saved, start=1)
    ]


def entry_time(entry: FeedEntry, zone: ZoneInfo) -> dt.datetime:
    return entry.at or announced_at(entry.announcement_day, zone)


def announced_at(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """When a day's papers count as published: midnight of the announcement day in arXiv's time zone, as arXiv's own feed dates them."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)


def render_feed(entries: Sequence[FeedEntry], info: FeedInfo, feed_format: FeedFormat, zone: ZoneInfo) -> bytes:
    """The feed document. Its dates come only from the entries, so the same papers give the same bytes."""
    generator = FeedGenerator()
    generator.load_extension("dc")
    generator.id(info.self_url)
    generator.title(xml_safe(info.title))
    generator.description(xml_safe(info.description))
    generator.subtitle(xml_safe(info.description))
    # feedgen's RSS <link> is the last link given, so the page comes after the self link.
    generator.link(href=info.self_url, rel="self")
    generator.link(href=info.page_url, rel="alternate")
    generator.language(info.language)
    generator.generator(GENERATOR)
    newest = max((entry_time(entry, zone) for entry in entries), default=None)
    updated = newest or dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    generator.updated(updated)
    generator.lastBuildDate(updated)
    for entry in entries:
        _add_entry(generator, entry, zone)
    if feed_format == "atom":
        return generator.atom_str(pretty=True)
    return generator.rss_str(pretty=True)


def _add_entry(generator: FeedGenerator, entry: FeedEntry, zone: ZoneInfo) -> None:
    view = entry.view
    paper = view.paper
    when = entry_time(entry, zone)
    item = generator.add_entry(order="append")
    item.id(paper.abs_url)
    item.guid(paper.abs_url, permalink=True)
    item.title(xml_safe(view.title) or paper.versioned_id)  # Atom requires a title
    item.link(href=paper.abs_url, rel="alternate")
    item.published(when)
    item.updated(when)
    authors = [name for name in map(xml_safe, paper.authors[:MAX_FEED_AUTHORS]) if name.strip()]
    for name in authors:
        item.author(name=name)
    item.dc.dc_creator(", ".join(authors))
    for category in paper.categories:
        item.category(term=xml_safe(category))
    item.summary(xml_safe(view.abstract))
    item.content(xml_safe(paper_html(view)), type="html")
