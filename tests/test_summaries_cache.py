"""One LLM call per cache key: across digests, runs and concurrent requests; only delivered papers are summarized."""
from __future__ import annotations

import asyncio
import datetime as dt

from core.models import Digest, Paper, ScoredPaper
from core.store import Store
from core.summarize import Summarizer, delivered_papers, summary_cost
from tests.fakes.llm import RunningFakeLlm
from tests.test_summarize import KEY, llm_settings, load_papers

DAY = dt.date(2026, 4, 22)


def digest_of(papers: list[Paper]) -> Digest:
    return Digest(
        announcement_day=DAY,
        papers=tuple(ScoredPaper(paper, score=10.0 - index / 10) for index, paper in enumerate(papers)),
        categories=("cs.CV",),
        keywords=(),
        considered=len(papers),
        generated_at=dt.datetime(2026, 4, 22, 8, tzinfo=dt.timezone.utc),
    )


async def summarize_digests(
    fake_llm: RunningFakeLlm, store: Store, digests: dict[str, Digest], top_n: int, **languages: str
) -> dict[str, Digest]:
    summarizer = Summarizer(llm_settings(fake_llm.base_url, top_n=top_n), store, KEY)
    try:
        return await summarizer.summarize_digests(digests, languages)
    finally:
        await summarizer.aclose()


async def test_two_digests_sharing_papers_make_one_call_per_paper(fake_llm: RunningFakeLlm, store: Store) -> None:
    pool = load_papers(12)
    digests = {"telegram:1": digest_of(pool[0:8]), "slack:C1": digest_of(pool[4:12])}

    done = await summarize_digests(fake_llm, store, digests, top_n=8)

    assert fake_llm.fake.total_calls == 12
    assert set(fake_llm.fake.calls.values()) == {1}
    assert set(done["telegram:1"].summaries) == {paper.arxiv_id for paper in pool[0:8]}
    assert set(done["slack:C1"].summaries) == {paper.arxiv_id for paper in pool[4:12]}
    shared = pool[5].arxiv_id
    assert done["telegram:1"].summaries[shared] == done["slack:C1"].summaries[shared]


async def test_only_the_top_n_of_each_digest_is_summarized(fake_llm: RunningFakeLlm, store: Store) -> None:
    pool = load_papers(30)
    digests = {"a": digest_of(pool[0:20]), "b": digest_of(pool[10:30])}

    done = await summarize_digests(fake_llm, store, digests, top_n=3)

    wanted = {paper.arxiv_id for paper in pool[0:3] + pool[10:13]}
    assert set(fake_llm.fake.calls) == wanted
    assert set(done["a"].summaries) == {paper.arxiv_id for paper in pool[0:3]}
    assert done["a"].papers == digests["a"].papers


async def test_digests_in_two_languages_get_their_own_summaries(fake_llm: RunningFakeLlm, store: Store) -> None:
    pool = load_papers(4)
    digests = {"en-chat": digest_of(pool), "zh_chat": digest_of(pool)}

    done = await summarize_digests(fake_llm, store, digests, top_n=15, zh_chat="zh")

    assert all(summary.language == "en" for summary in done["en-chat"].summaries.values())
    assert all(summary.language == "zh" and "关键结果" in summary.text for summary in done["zh_chat"].summaries.values())
    assert fake_llm.fake.total_calls == 8


async def test_concurrent_requests_for_one_paper_are_coalesced(fake_llm: RunningFakeLlm, store: Store) -> None:
    paper = load_papers(1)[0]
    summarizer = Summarizer(llm_settings(fake_llm.base_url), store, KEY)
    fake_llm.hold()
    requests = [asyncio.create_task(summarizer.summarize_papers([paper], "en")) for _ in range(25)]
    assert await asyncio.to_thread(fake_llm.fake.first_request.wait, 10)
    fake_llm.release()

    results = await asyncio.gather(*requests)
    await summarizer.aclose()

    assert fake_llm.fake.calls[paper.arxiv_id] == 1
    assert len({result[paper.arxiv_id] for result in results}) == 1
    assert not results[0][paper.arxiv_id].is_fallback


async def test_a_cancelled_caller_does_not_cancel_the_shared_call(fake_llm: RunningFakeLlm, store: Store) -> None:
    paper = load_papers(1)[0]
    summarizer = Summarizer(llm_settings(fake_llm.base_url), store, KEY)
    fake_llm.hold()
    impatient = asyncio.create_task(summarizer.summarize_papers([paper], "en"))
    patient = asyncio.create_task(summarizer.summarize_papers([paper], "en"))
    assert await asyncio.to_thread(fake_llm.fake.first_request.wait, 10)
    impatient.cancel()
    fake_llm.release()

    result = await patient
    await summarizer.aclose()

    assert not result[paper.arxiv_id].is_fallback
    assert fake_llm.fake.calls[paper.arxiv_id] == 1


async def test_concurrency_is_bounded(fake_llm: RunningFakeLlm, store: Store) -> None:
    pool = load_papers(20)
    fake_llm.fake.latency_seconds = 0.02
    summarizer = Summarizer(llm_settings(fake_llm.base_url, concurrency=3), store, KEY)

    summaries = await summarizer.summarize_papers(pool, "en")
    await summarizer.aclose()

    assert len(summaries) == 20
    assert fake_llm.fake.total_calls == 20
    assert fake_llm.fake.max_in_flight <= 3


async def test_many_endpoint_failures_pause_llm_calls(fake_llm: RunningFakeLlm, store: Store) -> None:
    pool = load_papers(12)
    fake_llm.fake.default_fault = "server_error"
    summarizer = Summarizer(llm_settings(fake_llm.base_url, concurrency=1, max_retries=0), store, KEY)

    summaries = await summarizer.summarize_papers(pool, "en")
    await summarizer.aclose()

    assert all(summary.is_fallback for summary in summaries.values())
    assert fake_llm.fake.total_calls == 5  # FAILURES_BEFORE_PAUSE, then no more calls this run


def test_delivered_papers_is_the_union_of_top_n_in_order() -> None:
    pool = load_papers(6)
    papers = delivered_papers([digest_of(pool[0:4]), digest_of(pool[2:6])], top_n=3)
    assert [paper.arxiv_id for paper in papers] == [paper.arxiv_id for paper in pool[0:5]]


def test_summary_cost_uses_configured_prices(store: Store) -> None:
    from core.config import SummarySettings
    from core.models import Summary

    settings = SummarySettings(price_per_million_prompt_tokens=2.0, price_per_million_completion_tokens=10.0)
    real = Summary("1", 1, "m", "en", "summary-v1", "abstract", "t", prompt_tokens=500_000, completion_tokens=100_000)
    fallback = Summary("2", 1, "extractive", "en", "summary-v1", "abstract", "t", is_fallback=True, prompt_tokens=9)
    assert summary_cost([real, fallback], settings) == 2.0
