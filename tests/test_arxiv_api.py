"""The export API path (arxiv package + our HTTP policy) on real recorded responses, and backfill by date."""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.arxiv import api
from core.arxiv.api import announcement_day_for, free_text_query
from core.arxiv.errors import ArxivMalformed, ArxivRejected, ArxivUnavailable
from core.arxiv.fetcher import MAX_BACKFILL_DAYS, Fetcher
from core.models import Paper
from core.store import Store
from tests.fakes.arxiv import FakeArxiv, Fault, build_api_feed, load_paper_list

API = Path(__file__).parent / "fixtures" / "arxiv" / "api"
PAPERS = Path(__file__).parent / "fixtures" / "arxiv" / "dw-dengwei_2025-10-22.jsonl"
EASTERN = ZoneInfo("America/New_York")
THURSDAY = dt.date(2026, 9, 24)  # the conftest store's clock: 2026-09-24 12:00 UTC


def _serve(fake: FakeArxiv, name: str, status: int = 200) -> None:
    fake.api_body, fake.api_status = (API / name).read_bytes(), status


async def _with_fetcher(fake: FakeArxiv, store: Store, call, **changes: object):
    fetcher = Fetcher(fake.settings(**changes), store)
    try:
        return await call(fetcher)
    finally:
        await fetcher.aclose()


async def test_ids_lookup_reads_every_field(fake_arxiv: FakeArxiv, store: Store) -> None:
    _serve(fake_arxiv, "id_list_1111.2011v2.xml")
    [paper] = await _with_fetcher(fake_arxiv, store, lambda f: api.fetch_ids(f.http, f.settings, ["1111.2011v2"]))
    assert (paper.arxiv_id, paper.version) == ("1111.2011", 2)
    assert paper.title == "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    assert paper.authors == ("James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic")
    assert paper.abstract.startswith("Theoretical description of anisotropic systems")
    assert "\n" not in paper.abstract
    assert paper.categories == ("cond-mat.str-el", "cond-mat.stat-mech")
    assert paper.primary_category == "cond-mat.str-el"
    assert (paper.doi, paper.journal_ref) == ("10.1103/PhysRevB.85.115117", "Phys. Rev. B 85, 115117 (2012)")
    assert paper.comment == "8 pages, 3 figures. Published version"
    assert paper.published == dt.date(2011, 11, 8)
    assert paper.announced is None
    [request] = fake_arxiv.requests
    assert request.path == "/api/query"
    assert request.query["id_list"] == "1111.2011v2"
    assert request.user_agent == "arxiv-digest-tests/1.0"  # ours, not the package's "arxiv.py/..."


async def test_legacy_ids_and_current_format(fake_arxiv: FakeArxiv, store: Store) -> None:
    _serve(fake_arxiv, "id_astro-ph_0601001_s0_m100_3150dca9dc76.xml")
    [paper] = await _with_fetcher(fake_arxiv, store, lambda f: api.fetch_ids(f.http, f.settings, ["astro-ph/0601001"]))
    assert (paper.arxiv_id, paper.version, paper.primary_category) == ("astro-ph/0601001", 1, "astro-ph")
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.comment.startswith("62 pages")


async def test_empty_result_is_an_empty_list(fake_arxiv: FakeArxiv, store: Store) -> None:
    _serve(fake_arxiv, "id_0000.0000_s0_m100_8b51d9633a68.xml")
    assert await _with_fetcher(fake_arxiv, store, lambda f: api.fetch_ids(f.http, f.settings, ["0000.0000"])) == []


async def test_400_error_feed_becomes_a_rejection_with_arxivs_reason(fake_arxiv: FakeArxiv, store: Store) -> None:
    _serve(fake_arxiv, "id_abc_s0_m100_b79c8dcf6bc3.xml", status=400)
    with pytest.raises(ArxivRejected, match="incorrect id format for abc") as raised:
        await _with_fetcher(fake_arxiv, store, lambda f: f.search("abc"))
    assert raised.value.status == 400
    assert len(fake_arxiv.requests) == 1  # a 400 is not retried


async def test_malformed_ids_are_refused_without_a_request(fake_arxiv: FakeArxiv, store: Store) -> None:
    with pytest.raises(ValueError, match="not arXiv ids: abc"):
        await _with_fetcher(fake_arxiv, store, lambda f: api.fetch_ids(f.http, f.settings, ["2409.01234", "abc"]))
    assert fake_arxiv.requests == []


async def test_search_builds_a_word_query_and_reads_a_real_page(fake_arxiv: FakeArxiv, store: Store) -> None:
    _serve(fake_arxiv, "q_testing_s0_m10_bc5a6c384fe9.xml")
    papers = await _with_fetcher(fake_arxiv, store, lambda f: f.search("testing deep-learning", 3))
    assert [p.arxiv_id for p in papers] == ["2202.12139", "2405.13786", papers[2].arxiv_id]
    assert len(papers) == 3
    assert papers[1].authors[0] == "Aurora Ramírez"
    [request] = fake_arxiv.requests
    assert request.query["search_query"] == "all:testing AND all:deep-learning"
    assert request.query["max_results"] == "3"  # never asks for more than it shows


def test_free_text_query_needs_a_word() -> None:
    assert free_text_query('"speculative decoding"!') == "all:speculative AND all:decoding"
    with pytest.raises(ValueError):
        free_text_query(" ?! ")


async def test_api_retries_through_our_policy_honouring_retry_after(fake_arxiv: FakeArxiv, store: Store) -> None:
    _serve(fake_arxiv, "id_1605.08386_s0_m100_199195aa31ad.xml")
    fake_arxiv.fail_next(Fault("status", 503, retry_after="1"))
    [paper] = await _with_fetcher(fake_arxiv, store, lambda f: api.fetch_ids(f.http, f.settings, ["1605.08386"]))
    assert paper.title == "Heat-bath random walks with Markov bases"
    first, second = fake_arxiv.requests
    assert second.at - first.at >= 1.0


def _with_entity(body: bytes) -> bytes:
    """The real page with an entity declared and used in its first title: a hostile or broken proxy's work."""
    declared = body.replace(b"<feed ", b'<!DOCTYPE feed [<!ENTITY x "injected">]>\n<feed ', 1)
    return declared.replace(b"<title>", b"<title>&x;", 2)


@pytest.mark.parametrize("damage", ["truncated", "foreign", "entity"])
async def test_truncated_foreign_or_entity_api_page_is_malformed_not_partial(
    fake_arxiv: FakeArxiv, store: Store, damage: str
) -> None:
    body = (API / "q_testing_s0_m10_bc5a6c384fe9.xml").read_bytes()
    fake_arxiv.api_body = {
        "truncated": body[: len(body) // 2],
        "foreign": b"<html><body>maintenance</body></html>",
        "entity": _with_entity(body),
    }[damage]
    with pytest.raises(ArxivMalformed):
        await _with_fetcher(fake_arxiv, store, lambda f: f.search("testing", 10))


@pytest.mark.parametrize(
    ("submitted_eastern", "announced"),
    [
        (dt.datetime(2026, 9, 21, 13, 59), dt.date(2026, 9, 22)),  # Monday before the cutoff: Tuesday's feed
        (dt.datetime(2026, 9, 21, 14, 1), dt.date(2026, 9, 23)),  # Monday after it: Wednesday's
        (dt.datetime(2026, 9, 24, 15, 0), dt.date(2026, 9, 28)),  # Thursday after the cutoff: Monday's
        (dt.datetime(2026, 9, 25, 13, 0), dt.date(2026, 9, 28)),  # Friday before: Monday's
        (dt.datetime(2026, 9, 25, 15, 0), dt.date(2026, 9, 29)),  # Friday after: Tuesday's
        (dt.datetime(2026, 9, 26, 10, 0), dt.date(2026, 9, 29)),  # Saturday: Tuesday's
    ],
)
def test_announcement_day_follows_the_submission_cutoff(submitted_eastern: dt.datetime, announced: dt.date) -> None:
    assert announcement_day_for(submitted_eastern.replace(tzinfo=EASTERN)) == announced


def _submitted_on(papers, days):
    """Real papers, spread over submission days (the fake submits each at 08:00 Eastern of `published`)."""
    return [
        dataclasses.replace(paper, published=days[index % len(days)], announced=None)
        for index, paper in enumerate(papers)
    ]


async def test_backfill_stores_missed_days_once_with_inferred_types(fake_arxiv: FakeArxiv, store: Store) -> None:
    thursday_before, friday, monday, tuesday, wednesday = (dt.date(2026, 9, d) for d in (17, 18, 21, 22, 23))
    papers = _submitted_on(load_paper_list(PAPERS), [thursday_before, friday, monday, tuesday, wednesday])
    replaced = next(i for i, p in enumerate(papers) if p.published == monday and "cs.CL" in p.categories)
    papers[replaced] = dataclasses.replace(papers[replaced], version=3)  # replaced since; still new on its first day
    fake_arxiv.api_papers = papers
    added = await _with_fetcher(fake_arxiv, store, lambda f: f.backfill(monday, ["cs.CL", "cs.AI"]), api_page_size=25)
    watched = [p for p in papers if {"cs.CL", "cs.AI"} & set(p.categories)]
    expected = {  # Friday's submissions are Monday's mailing, and so on; Wednesday's are today's feed, not backfilled
        monday: {p.arxiv_id for p in watched if p.published == friday},
        tuesday: {p.arxiv_id for p in watched if p.published == monday},
        wednesday: {p.arxiv_id for p in watched if p.published == tuesday},
    }
    assert {day: {p.arxiv_id for p in store.papers.papers_announced(day)} for day in expected} == expected
    assert added == sum(len(ids) for ids in expected.values())
    assert store.papers.papers_announced(THURSDAY) == []
    assert store.papers.papers_announced(dt.date(2026, 9, 18)) == []
    stored = {p.arxiv_id: p for p in store.papers.papers_announced(tuesday)}
    for paper in watched:
        if paper.arxiv_id in stored:
            expected_type = "new" if paper.primary_category in ("cs.CL", "cs.AI") else "cross"
            assert stored[paper.arxiv_id].announce_type == expected_type
    assert stored[papers[replaced].arxiv_id].version == 3
    assert stored[papers[replaced].arxiv_id].announce_type in ("new", "cross")
    assert len(fake_arxiv.api_requests()) > 1  # paged
    assert all(r.query["sortBy"] == "submittedDate" for r in fake_arxiv.api_requests())
    assert store.papers.fetched_categories(monday) == {"cs.AI", "cs.CL"}
    requests_before = len(fake_arxiv.requests)
    again = await _with_fetcher(fake_arxiv, store, lambda f: f.backfill(monday, ["cs.CL", "cs.AI"]))
    assert again == 0
    assert len(fake_arxiv.requests) == requests_before


async def test_backfill_of_a_quiet_day_records_it_empty(fake_arxiv: FakeArxiv, store: Store) -> None:
    wednesday = dt.date(2026, 9, 23)
    assert await _with_fetcher(fake_arxiv, store, lambda f: f.backfill(wednesday, ["cs.AI"])) == 0
    assert store.papers.fetched_categories(wednesday) == {"cs.AI"}
    assert store.papers.last_fetch()["source"] == "api"


async def test_backfill_failure_marks_days_failed(fake_arxiv: FakeArxiv, store: Store) -> None:
    fake_arxiv.fail_next(Fault("garbage"))
    with pytest.raises(ArxivMalformed):
        await _with_fetcher(fake_arxiv, store, lambda f: f.backfill(dt.date(2026, 9, 22), ["cs.AI"]))
    assert store.papers.last_fetch()["status"] == "failed"
    assert store.papers.fetched_categories(dt.date(2026, 9, 22)) == set()


async def test_backfill_range_is_limited(fake_arxiv: FakeArxiv, store: Store) -> None:
    with pytest.raises(ValueError, match=f"at most {MAX_BACKFILL_DAYS}"):
        await _with_fetcher(fake_arxiv, store, lambda f: f.backfill(dt.date(2025, 1, 1), ["cs.AI"]))
    assert fake_arxiv.requests == []


def _paper(arxiv_id: str, published: dt.date) -> Paper:
    return Paper(arxiv_id=arxiv_id, version=1, title=f"T {arxiv_id}", authors=("A",), abstract="abs",
                 categories=("cs.AI",), primary_category="cs.AI", published=published)


async def test_backfill_cut_short_by_the_result_limit_leaves_the_rest_open(
    fake_arxiv: FakeArxiv, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monday, tuesday, wednesday = (dt.date(2026, 9, d) for d in (21, 22, 23))
    monkeypatch.setattr(api, "MAX_BACKFILL_RESULTS", 4)  # arXiv's is 30,000; the rule is the same
    fake_arxiv.api_papers = [_paper(f"2609.1000{n}", monday) for n in range(3)] + [
        _paper(f"2609.2000{n}", tuesday) for n in range(3)
    ]
    await _with_fetcher(fake_arxiv, store, lambda f: f.backfill(tuesday, ["cs.AI"]), api_page_size=2)
    assert len(store.papers.papers_announced(tuesday)) == 3
    assert store.papers.fetched_categories(tuesday) == {"cs.AI"}
    # asked again next time
    assert store.papers.papers_announced(wednesday) == []
    assert store.papers.fetched_categories(wednesday) == set()


async def test_an_empty_page_that_claims_results_is_a_failure_not_a_quiet_day(fake_arxiv: FakeArxiv, store: Store) -> None:
    fake_arxiv.api_body = build_api_feed([], total=50)
    with pytest.raises(ArxivUnavailable, match="50 results"):
        await _with_fetcher(fake_arxiv, store, lambda f: f.backfill(dt.date(2026, 9, 22), ["cs.AI"]), max_retries=0)
    assert store.papers.fetched_categories(dt.date(2026, 9, 22)) == set()


async def test_backfill_after_a_holiday_asks_for_the_whole_mailing(fake_arxiv: FakeArxiv, store: Store) -> None:
    monday, tuesday, wednesday = (dt.date(2026, 9, d) for d in (21, 22, 23))
    fake_arxiv.api_papers = [_paper("2609.30001", monday)]  # Monday's submission: Tuesday's mailing, moved by the holiday
    await _with_fetcher(fake_arxiv, store, lambda f: f.backfill(wednesday, ["cs.AI"]), holidays=(tuesday,))
    assert [p.arxiv_id for p in store.papers.papers_announced(wednesday)] == ["2609.30001"]
