"""The Fetcher against the loopback fake arXiv: normal, empty and stale days, faults, politeness, idempotency."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from core.arxiv.errors import ArxivMalformed, ArxivUnavailable
from core.arxiv.fetcher import Fetcher
from core.store import Store
from tests.fakes.arxiv import FakeArxiv, Fault, load_paper_list

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"
THURSDAY = dt.date(2026, 9, 24)  # the conftest store's clock: 2026-09-24 12:00 UTC
RSS_CATEGORIES = ("cs.LG", "cs.AI", "cs.CL", "stat.ML")


def _fetcher(fake: FakeArxiv, store: Store, **changes: object) -> Fetcher:
    return Fetcher(fake.settings(**changes), store)


def _serve_real_rss(fake: FakeArxiv) -> None:
    fake.feed_body = (FIXTURES / "msudars_laya-reader_arxiv_rss.xml").read_bytes()


def _last_log(store: Store) -> dict:
    row = store.papers.last_fetch()
    assert row is not None
    return row


async def test_normal_day_stores_every_paper_with_its_announce_type(fake_arxiv: FakeArxiv, store: Store) -> None:
    _serve_real_rss(fake_arxiv)
    fetcher = _fetcher(fake_arxiv, store)
    result = await fetcher.fetch_day(RSS_CATEGORIES)
    await fetcher.aclose()
    assert result.status == "ok"
    assert result.announcement_day == THURSDAY
    stored = {p.arxiv_id: p for p in store.papers.papers_announced(THURSDAY)}
    assert {p: stored[p].announce_type for p in stored} == {
        "2609.26811": "new", "2609.26820": "new", "2205.06398": "cross", "2009.13987": "replace",
    }
    assert stored["2205.06398"].version == 2
    assert stored["2205.06398"].doi == "10.1093/bioinformatics/btac431"
    log = _last_log(store)
    assert (log["status"], log["count"], log["source"], log["announced"]) == ("ok", 4, "feed", "2026-09-24")
    [request] = fake_arxiv.requests
    assert request.path == "/rss/cs.AI+cs.CL+cs.LG+stat.ML"  # one batched request, categories sorted
    assert request.user_agent == "arxiv-digest-tests/1.0"


async def test_built_feed_from_a_real_day_is_stored_per_category(fake_arxiv: FakeArxiv, store: Store) -> None:
    papers = load_paper_list(FIXTURES / "dw-dengwei_2025-10-22.jsonl")
    fake_arxiv.announce(papers, THURSDAY)
    fetcher = _fetcher(fake_arxiv, store)
    result = await fetcher.fetch_day(["cs.CL", "cs.AI"])
    await fetcher.aclose()
    expected = {p.arxiv_id for p in papers if {"cs.CL", "cs.AI"} & set(p.categories)}
    assert {p.arxiv_id for p in result.papers} == expected
    assert {p.arxiv_id for p in store.papers.papers_announced(THURSDAY, ["cs.CL"])} == {
        p.arxiv_id for p in papers if "cs.CL" in p.categories
    }
    assert store.papers.fetched_categories(THURSDAY) == {"cs.AI", "cs.CL"}


async def test_same_day_twice_makes_one_request_and_stores_one_copy(fake_arxiv: FakeArxiv, store: Store) -> None:
    _serve_real_rss(fake_arxiv)
    fetcher = _fetcher(fake_arxiv, store)
    first = await fetcher.fetch_day(RSS_CATEGORIES)
    second = await fetcher.fetch_day(list(reversed(RSS_CATEGORIES)))
    await fetcher.aclose()
    assert (first.status, second.status) == ("ok", "empty")
    assert len(fake_arxiv.requests) == 1
    assert store.papers.count_papers() == 4
    assert len(store.papers.papers_announced(THURSDAY)) == 4


async def test_only_missing_categories_are_requested(fake_arxiv: FakeArxiv, store: Store) -> None:
    fake_arxiv.announce(load_paper_list(FIXTURES / "dw-dengwei_2025-10-22.jsonl"), THURSDAY)
    fetcher = _fetcher(fake_arxiv, store)
    await fetcher.fetch_day(["cs.CL"])
    await fetcher.fetch_day(["cs.CL", "cs.AI", "cs.LG"])
    await fetcher.aclose()
    assert [r.path for r in fake_arxiv.requests] == ["/rss/cs.CL", "/rss/cs.AI+cs.LG"]


async def test_empty_day_is_empty_not_failed_and_not_refetched(fake_arxiv: FakeArxiv, store: Store) -> None:
    fake_arxiv.announce([], THURSDAY)  # a holiday: the feed is dated today and lists nothing
    fetcher = _fetcher(fake_arxiv, store)
    result = await fetcher.fetch_day(["cs.AI"])
    again = await fetcher.fetch_day(["cs.AI"])
    await fetcher.aclose()
    assert (result.status, result.announcement_day, result.papers) == ("empty", None, ())
    assert again.status == "empty"
    assert len(fake_arxiv.requests) == 1
    assert _last_log(store)["status"] == "empty"
    assert store.papers.fetched_categories(THURSDAY) == {"cs.AI"}
    assert store.papers.count_papers() == 0


def _submitted_before(day: dt.date, papers: list) -> list:
    """The papers as the export API knows them: submitted the weekday before `day`, before its cutoff."""
    return [dataclasses.replace(paper, published=day - dt.timedelta(days=1), announced=None) for paper in papers]


async def test_a_weekend_start_gets_fridays_announcement_from_the_export_api(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    friday, saturday_noon = dt.date(2026, 9, 25), dt.datetime(2026, 9, 26, 12, 0, tzinfo=dt.timezone.utc)
    store = Store(tmp_path / "new.db", clock=lambda: saturday_noon)  # a brand-new install started on Saturday
    papers = load_paper_list(FIXTURES / "dw-dengwei_2025-10-22.jsonl")
    fake_arxiv.api_papers = _submitted_before(friday, papers)
    fake_arxiv.announce([], None)  # the weekend feed: skipDays, no date, no items
    fetcher = _fetcher(fake_arxiv, store)
    result = await fetcher.fetch_day(["cs.CL"])
    again = await fetcher.fetch_day(["cs.CL"])
    await fetcher.aclose()
    expected = {paper.arxiv_id for paper in papers if "cs.CL" in paper.categories}
    assert (result.status, result.announcement_day) == ("ok", friday)
    assert {paper.arxiv_id for paper in store.papers.papers_announced(friday)} == expected
    assert {paper.arxiv_id for paper in result.papers} == expected
    assert (_last_log(store)["source"], _last_log(store)["announced"]) == ("api", "2026-09-25")
    assert again.status == "empty"
    assert len(fake_arxiv.feed_requests()) == 1  # stored once, not asked again
    store.close()


async def test_a_weekend_feed_and_a_failing_api_leave_the_day_open(fake_arxiv: FakeArxiv, store: Store) -> None:
    fake_arxiv.announce([], None)
    fake_arxiv.api_body, fake_arxiv.api_status = b"busy", 503  # the feed answers, the export API does not
    fetcher = _fetcher(fake_arxiv, store, max_retries=1)
    with pytest.raises(ArxivUnavailable):
        await fetcher.fetch_day(["cs.AI"])
    await fetcher.aclose()
    assert store.papers.fetched_categories(THURSDAY) == set()  # the next fetch (or a backfill) may still fill the day
    assert _last_log(store)["status"] == "failed"
    assert store.papers.count_papers() == 0


async def test_stale_feed_of_a_stored_day_is_empty(fake_arxiv: FakeArxiv, store: Store) -> None:
    papers = load_paper_list(FIXTURES / "dw-dengwei_2025-10-22.jsonl")[:5]
    wednesday = THURSDAY - dt.timedelta(days=1)
    store.papers.store_announcement(wednesday, papers)
    store.papers.record_fetch("feed", ["cs.AI", "cs.CL", "cs.CV", "cs.GR"], wednesday, "ok", 5)
    fake_arxiv.announce(papers, wednesday)  # arXiv has not rebuilt the feed yet
    fetcher = _fetcher(fake_arxiv, store)
    result = await fetcher.fetch_day(["cs.CV"])
    await fetcher.aclose()
    assert result.status == "empty"
    assert result.announcement_day is None
    assert store.papers.papers_announced(THURSDAY) == []
    assert store.papers.fetched_categories(THURSDAY) == set()


async def test_429_with_retry_after_is_honoured_then_succeeds(fake_arxiv: FakeArxiv, store: Store) -> None:
    _serve_real_rss(fake_arxiv)
    fake_arxiv.fail_next(Fault("status", 429, retry_after="1"))
    fetcher = _fetcher(fake_arxiv, store)
    result = await fetcher.fetch_day(RSS_CATEGORIES)
    await fetcher.aclose()
    assert result.status == "ok"
    assert len(result.papers) == 4
    first, second = fake_arxiv.requests
    assert second.at - first.at >= 1.0


async def test_retry_after_beyond_the_cap_gives_up_at_once(fake_arxiv: FakeArxiv, store: Store) -> None:
    fake_arxiv.fail_next(Fault("status", 503, retry_after="3600"))
    fetcher = _fetcher(fake_arxiv, store)
    with pytest.raises(ArxivUnavailable) as raised:
        await fetcher.fetch_day(["cs.AI"])
    await fetcher.aclose()
    assert raised.value.retry_after == 3600
    assert len(fake_arxiv.requests) == 1


async def test_503_exhausted_logs_failed_and_stores_nothing(fake_arxiv: FakeArxiv, store: Store) -> None:
    _serve_real_rss(fake_arxiv)
    fake_arxiv.fail_next(*[Fault("status", 503)] * 3)
    fetcher = _fetcher(fake_arxiv, store, max_retries=2)
    with pytest.raises(ArxivUnavailable, match="HTTP 503"):
        await fetcher.fetch_day(RSS_CATEGORIES)
    await fetcher.aclose()
    assert len(fake_arxiv.requests) == 3
    log = _last_log(store)
    assert (log["status"], log["announced"]) == ("failed", "2026-09-24")
    assert "503" in log["error"]
    assert store.papers.count_papers() == 0
    assert store.papers.fetched_categories(THURSDAY) == set()


async def test_a_hanging_arxiv_times_out(fake_arxiv: FakeArxiv, store: Store) -> None:
    fake_arxiv.fail_next(Fault("hang"))
    fetcher = _fetcher(fake_arxiv, store, timeout_seconds=0.3, max_retries=0)
    with pytest.raises(ArxivUnavailable, match="no answer within 0.3 s"):
        await fetcher.fetch_day(["cs.AI"])
    await fetcher.aclose()
    assert _last_log(store)["status"] == "failed"
    assert store.papers.count_papers() == 0


@pytest.mark.parametrize("kind", ["truncate", "garbage"])
async def test_malformed_feed_stores_nothing(fake_arxiv: FakeArxiv, store: Store, kind: str) -> None:
    _serve_real_rss(fake_arxiv)
    fake_arxiv.fail_next(Fault(kind))
    fetcher = _fetcher(fake_arxiv, store)
    with pytest.raises(ArxivMalformed):
        await fetcher.fetch_day(RSS_CATEGORIES)
    await fetcher.aclose()
    assert len(fake_arxiv.requests) == 1  # a broken body is not retried: arXiv answered
    assert _last_log(store)["status"] == "failed"
    assert store.papers.count_papers() == 0


async def test_feed_declaring_entities_is_refused_and_stores_nothing(fake_arxiv: FakeArxiv, store: Store) -> None:
    real = (FIXTURES / "msudars_laya-reader_arxiv_rss.xml").read_bytes()
    declared = real.replace(b"<rss ", b'<!DOCTYPE rss [<!ENTITY x "injected">]>\n<rss ', 1)
    fake_arxiv.feed_body = declared.replace(b"<title>", b"<title>&x;", 2)
    fetcher = _fetcher(fake_arxiv, store)
    with pytest.raises(ArxivMalformed, match="entities"):
        await fetcher.fetch_day(RSS_CATEGORIES)
    await fetcher.aclose()
    assert _last_log(store)["status"] == "failed"
    assert store.papers.count_papers() == 0


async def test_unreachable_arxiv_is_unavailable(store: Store) -> None:
    fetcher = Fetcher(FakeArxiv(url="http://127.0.0.1:9").settings(max_retries=1), store)
    with pytest.raises(ArxivUnavailable, match="ConnectError"):
        await fetcher.fetch_day(["cs.AI"])
    await fetcher.aclose()
    assert _last_log(store)["status"] == "failed"


async def test_requests_are_spaced_by_the_minimum_interval(fake_arxiv: FakeArxiv, store: Store) -> None:
    fake_arxiv.announce(load_paper_list(FIXTURES / "dw-dengwei_2025-10-22.jsonl"), THURSDAY)
    fetcher = _fetcher(fake_arxiv, store, min_interval_seconds=0.3)
    await fetcher.fetch_day(["cs.CL"])
    await fetcher.fetch_day(["cs.AI"])
    await fetcher.aclose()
    first, second = fake_arxiv.requests
    assert second.at - first.at >= 0.3


async def test_atom_feed_is_read_too(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    friday_noon = dt.datetime(2026, 9, 25, 16, 0, tzinfo=dt.timezone.utc)
    store = Store(tmp_path / "atom.db", clock=lambda: friday_noon)
    fake_arxiv.feed_body = (FIXTURES / "sakshamchitkara-dotcom_paper-forge_arxiv_rss_atom.xml").read_bytes()
    fetcher = Fetcher(fake_arxiv.settings(feed_url=f"{fake_arxiv.url}/atom/"), store)
    result = await fetcher.fetch_day(["cs.LG"])
    await fetcher.aclose()
    assert result.announcement_day == dt.date(2026, 9, 25)
    assert [r.path for r in fake_arxiv.requests] == ["/atom/cs.LG"]
    assert sorted(p.announce_type for p in store.papers.papers_announced(dt.date(2026, 9, 25))) == ["cross", "new", "replace"]
    store.close()


async def test_bad_categories_are_refused_before_any_request(fake_arxiv: FakeArxiv, store: Store) -> None:
    fetcher = _fetcher(fake_arxiv, store)
    with pytest.raises(ValueError, match="unknown arXiv category 'cs.AI/../x'"):
        await fetcher.fetch_day(["cs.AI/../x"])
    with pytest.raises(ValueError, match=r"unknown arXiv category 'cs.XX' \(did you mean"):
        await fetcher.fetch_day(["cs.XX"])
    with pytest.raises(ValueError, match="no arXiv categories"):
        await fetcher.fetch_day([" "])
    await fetcher.aclose()
    assert fake_arxiv.requests == []
