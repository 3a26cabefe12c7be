"""RSS 2.0 and Atom feeds over HTTP: exact papers and summaries of the fixture day, dates, guids, 304s and 404s."""
from __future__ import annotations

import dataclasses
import datetime as dt
import time

import feedparser
import pytest
from starlette.testclient import TestClient

from bot.web import create_app, feed_url
from bot.web_cache import RENDER_CACHE_SECONDS
from core.models import ChatRef
from tests.fixtures.web.site import RSS_DAY, SUMMARIZED, Site

NOT_FOUND_PATHS = (
    "/feeds/cs.NOPE.xml",
    "/feeds/chat/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.xml",
    "/feeds/all.json",
    "/feeds/chat/..%2F..%2Fetc.xml",
    "/day/2026-02-30",
    "/day/2026-04-21",
    "/feeds/cs.cv.xml",
    "/nothing/here",
)


def parse(client: TestClient, path: str) -> feedparser.FeedParserDict:
    response = client.get(path)
    assert response.status_code == 200, response.text
    kind = "atom" if path.endswith(".atom") else "rss"
    assert response.headers["content-type"] == f"application/{kind}+xml; charset=utf-8"
    return feedparser.parse(response.content)


@pytest.mark.parametrize(("path", "version"), [("/feeds/all.xml", "rss20"), ("/feeds/all.atom", "atom10")])
def test_feed_holds_exactly_the_stored_days_papers_and_summaries(client: TestClient, site: Site, path: str, version: str) -> None:
    feed = parse(client, path)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == version
    assert 3 < len(site.digest.papers) <= 15
    assert len(site.latest.papers) >= 2
    days = {scored.paper.arxiv_id: digest.announcement_day for digest in (site.digest, site.latest) for scored in digest.papers}
    papers = {scored.paper.arxiv_id: scored.paper for digest in (site.digest, site.latest) for scored in digest.papers}
    assert [entry.id for entry in feed.entries] == [papers[arxiv_id].abs_url for arxiv_id in site.feed_papers]
    for entry, arxiv_id in zip(feed.entries, site.feed_papers):
        paper = papers[arxiv_id]
        assert entry.title == " ".join(paper.title.split())
        assert entry.link == paper.abs_url
        # Dated like arXiv's own feed: midnight in New York of the announcement day (04:00 UTC in summer).
        assert time.strftime("%Y-%m-%dT%H:%M", entry.published_parsed) == f"{days[arxiv_id].isoformat()}T04:00"
        body = entry.content[0].value
        summary = site.summaries.get(arxiv_id)
        assert (summary is not None) == ("AI Summary" in body)
        if summary is not None:
            assert f"<strong>Contribution</strong> of {arxiv_id}" in body
        assert {tag.term for tag in entry.tags} == set(paper.categories)
    assert sum("AI Summary" in entry.content[0].value for entry in feed.entries) == SUMMARIZED


def test_category_feed_and_unknown_category(client: TestClient, site: Site) -> None:
    feed = parse(client, "/feeds/cs.CV.xml")
    assert [entry.id for entry in feed.entries] == [scored.paper.abs_url for scored in site.digest.papers]
    assert feed.feed.title == "arXiv digest: cs.CV"
    cross_listed = parse(client, "/feeds/cs.AI.atom").entries
    assert cross_listed
    assert all("cs.AI" in {tag.term for tag in entry.tags} for entry in cross_listed)


def test_chat_feed_by_token_and_revocation(client: TestClient, site: Site) -> None:
    chat = site.store.chats.get_or_create_chat(ChatRef("telegram", "42"), site.settings.defaults, title="Reading group")
    url = feed_url(site.settings, chat)
    assert url.startswith("http://testserver/feeds/chat/")
    assert url.endswith(".xml")
    feed = parse(client, url.removeprefix("http://testserver"))
    assert feed.feed.title == "arXiv digest for Reading group"
    assert feed.feed.language == "en"
    site.store.chats.update_chat(chat.ref, language="zh")
    assert parse(client, url.removeprefix("http://testserver").replace(".xml", ".atom")).feed.language == "zh"
    assert [entry.id.removeprefix("https://arxiv.org/abs/") for entry in feed.entries] == site.feed_papers
    site.store.chats.reset_feed_token(chat.ref)
    gone = client.get(url.removeprefix("http://testserver"))
    assert gone.status_code == 404


def test_not_found_is_one_answer_for_everything(client: TestClient) -> None:
    answers = [client.get(path) for path in NOT_FOUND_PATHS]
    assert {response.status_code for response in answers} == {404}
    assert len({response.text for response in answers}) == 1
    assert len({tuple(sorted(response.headers.items())) for response in answers}) <= 1
    assert "Traceback" not in answers[0].text


def test_etag_round_trip_gives_304(client: TestClient) -> None:
    first = client.get("/feeds/all.xml")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["cache-control"] == "public, max-age=900"
    again = client.get("/feeds/all.xml", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    since = client.get("/feeds/all.xml", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    other = client.get("/feeds/all.atom", headers={"If-None-Match": etag})
    assert other.status_code == 200
    assert other.headers["etag"] != etag


def test_new_summary_changes_the_etag(client: TestClient, site: Site) -> None:
    etag = client.get("/feeds/all.xml").headers["etag"]
    unsummarized = site.digest.papers[SUMMARIZED].paper
    keyed = next(iter(site.summaries.values()))
    site.store.summaries.save_summary(dataclasses.replace(keyed, arxiv_id=unsummarized.arxiv_id, text="Late summary arrives."))
    # Within the render cache's minute readers get the same document; after it, the new one.
    assert client.get("/feeds/all.xml", headers={"If-None-Match": etag}).status_code == 304
    later = site.store.now() + dt.timedelta(seconds=RENDER_CACHE_SECONDS)
    site.store.clock = lambda: later
    changed = client.get("/feeds/all.xml", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "Late summary arrives." in changed.text
    assert changed.headers["last-modified"] == "Thu, 24 Sep 2026 12:01:00 GMT"


def test_feed_dates_do_not_depend_on_the_request_time(client: TestClient, site: Site) -> None:
    first = client.get("/feeds/all.atom").content
    site.store.clock = lambda: dt.datetime(2026, 9, 30, tzinfo=dt.timezone.utc)
    assert client.get("/feeds/all.atom").content == first
    assert f"<updated>{RSS_DAY.isoformat()}T00:00:00-04:00</updated>" in first.decode()


FEED_PATHS = ("/feeds/all.xml", "/feeds/all.atom")


def test_characters_xml_cannot_carry_never_break_a_feed(client: TestClient, site: Site) -> None:
    """A model's U+FFFF or a chat title's escape code is dropped, not a 500 for every reader of the feed."""
    summary = next(iter(site.summaries.values()))
    site.store.summaries.save_summary(dataclasses.replace(summary, text="Key result\uffff: 2x faster\x1b[31m on all benchmarks."))
    chat = site.store.chats.get_or_create_chat(ChatRef("telegram", "43"), site.settings.defaults, title="Group\x1b[31m\ufffe")
    chat_path = feed_url(site.settings, chat).removeprefix("http://testserver")
    for path in (*FEED_PATHS, chat_path, chat_path.replace(".xml", ".atom")):
        feed = parse(client, path)
        assert not feed.bozo, (path, feed.bozo_exception)
    assert parse(client, chat_path).feed.title == "arXiv digest for Group[31m"
    contents = [entry.content[0].value for entry in parse(client, "/feeds/all.xml").entries]
    assert any("Key result: 2x faster[31m" in content for content in contents)


def test_a_paper_without_a_title_is_listed_by_its_id(site: Site) -> None:
    first = site.store.papers.papers_by_id([site.feed_papers[0]])[site.feed_papers[0]]
    site.store.papers.store_announcement(RSS_DAY, [dataclasses.replace(first, title="  ")])
    with TestClient(create_app(site.store, site.settings), raise_server_exceptions=False) as fresh:
        for path in FEED_PATHS:
            titles = {entry.id: entry.title for entry in parse(fresh, path).entries}
            assert titles.get(first.abs_url) == first.versioned_id
