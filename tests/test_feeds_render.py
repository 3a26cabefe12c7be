"""Feed documents from digests (no web app): entries, dedupe across days, dates, hostile text stays text."""
from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import feedparser
import pytest

from core.render.feeds import FEED_FORMATS, FeedInfo, announced_at, feed_entries, render_feed
from core.render.html import summary_html
from tests.fixtures.web.papers import DAY, fixture_papers, llm_summary, make_digest, scored

INFO = FeedInfo("https://digest.example/feeds/all.xml", "https://digest.example/", "arXiv digest", "Picked papers.")
NEW_YORK = ZoneInfo("America/New_York")


def test_a_paper_on_two_days_keeps_its_newest_day() -> None:
    papers = fixture_papers()
    older = make_digest([scored(papers[0], 3.0), scored(papers[1], 2.0)])
    newer = dataclasses.replace(make_digest([scored(papers[1], 5.0)]), announcement_day=DAY + dt.timedelta(days=1))
    entries = feed_entries([older, newer])
    assert [(e.announcement_day, e.view.arxiv_id) for e in entries] == [
        (DAY + dt.timedelta(days=1), papers[1].arxiv_id),
        (DAY, papers[0].arxiv_id),
    ]


@pytest.mark.parametrize("feed_format", FEED_FORMATS)
def test_hostile_text_is_text_in_the_feed(feed_format) -> None:
    paper = dataclasses.replace(fixture_papers()[0], title="A <script>alert(1)</script> & <b>bold</b> title")
    summary = llm_summary(paper, "<img src=x onerror=alert(2)> [x](javascript:alert(3)) **kept**")
    body = render_feed(feed_entries([make_digest([scored(paper, 1.0)], {paper.arxiv_id: summary})]), INFO, feed_format, NEW_YORK)
    feed = feedparser.parse(body, sanitize_html=False)
    assert not feed.bozo
    entry = feed.entries[0]
    assert entry.title == "A <script>alert(1)</script> & <b>bold</b> title"
    content = entry.content[0].value
    assert "<img" not in content
    assert 'href="javascript' not in content
    assert "<strong>kept</strong>" in content
    assert "&lt;img src=x onerror=alert(2)&gt;" in content
    assert entry.published_parsed[:4] == (2026, 4, 22, 4)


def test_same_entries_give_the_same_bytes() -> None:
    digest = make_digest([scored(p, 1.0) for p in fixture_papers()[:5]])
    assert render_feed(feed_entries([digest]), INFO, "rss", NEW_YORK) == render_feed(feed_entries([digest]), INFO, "rss", NEW_YORK)
    assert announced_at(DAY, NEW_YORK).isoformat() == "2026-04-22T00:00:00-04:00"


@pytest.mark.parametrize(
    "text",
    ["[a](jav&#x61;script:alert(1))", "[b](JAVASCRIPT:alert(1))", "[c](data:text/html,<b>x</b>)", "<javascript:alert(1)>", "[d]: javascript:alert(1)\n\n[d]"],
)
def test_summary_links_with_script_targets_are_not_links(text: str) -> None:
    paper = fixture_papers()[0]
    body = summary_html(llm_summary(paper, text))
    assert "<a " not in body
    assert "<b>" not in body
