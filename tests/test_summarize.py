"""Summarizer against the fake OpenAI-compatible server through the real openai client: answers, faults, fallback."""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import Path

import pytest

from core.config import SummarySettings
from core.models import Paper, Summary
from core.store import Store
from core.summarize import RETRY_FAILED_AFTER, Summarizer
from core.summaries.fallback import FALLBACK_LABELS, FALLBACK_MODEL
from core.summaries.sanitize import MAX_SUMMARY_CHARS
from tests.fakes.arxiv import load_paper_list
from tests.fakes.llm import RunningFakeLlm

PAPERS_FILE = Path(__file__).parent / "fixtures" / "summaries" / "papers-2026-04-22.json"
KEY = "sk-test-not-a-secret"


def load_papers(count: int) -> list[Paper]:
    return load_paper_list(PAPERS_FILE)[:count]


def llm_settings(base_url: str, **overrides: object) -> SummarySettings:
    values: dict[str, object] = {
        "base_url": base_url,
        "model": "fake-model",
        "timeout_seconds": 5.0,
        "max_retries": 2,
        "concurrency": 4,
    }
    values.update(overrides)
    return SummarySettings(**values)


@pytest.fixture
def papers() -> list[Paper]:
    return load_papers(6)


async def summarize(settings: SummarySettings, store: Store, papers: list[Paper], language: str = "en") -> dict[str, Summary]:
    summarizer = Summarizer(settings, store, KEY)
    try:
        return await summarizer.summarize_papers(papers, language)
    finally:
        await summarizer.aclose()


async def test_normal_answers_are_stored_with_token_counts(fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]) -> None:
    summaries = await summarize(llm_settings(fake_llm.base_url), store, papers)

    assert set(summaries) == {paper.arxiv_id for paper in papers}
    first = summaries[papers[0].arxiv_id]
    assert not first.is_fallback
    assert first.model == "fake-model"
    assert first.prompt_version == "summary-v1"
    assert first.source_kind == "abstract"
    assert "**1. Main contributions and novelty**" in first.text
    assert "**4. Conclusions" in first.text
    assert f"arXiv:{papers[0].arxiv_id}" in first.text  # the answer to this paper, not another's
    assert first.prompt_tokens > 0
    assert first.completion_tokens > 0
    assert fake_llm.fake.authorizations == {f"Bearer {KEY}"}
    usage = store.summaries.summary_usage()
    assert usage.summaries == len(papers)
    assert usage.prompt_tokens == sum(summary.prompt_tokens for summary in summaries.values())
    assert usage.completion_tokens == sum(summary.completion_tokens for summary in summaries.values())


async def test_chinese_summaries_use_the_chinese_prompt(fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]) -> None:
    summaries = await summarize(llm_settings(fake_llm.base_url), store, papers[:2], language="zh")

    assert all("主要贡献" in summary.text and not summary.is_fallback for summary in summaries.values())
    assert all(summary.language == "zh" for summary in summaries.values())


async def test_second_run_makes_no_calls(fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]) -> None:
    settings = llm_settings(fake_llm.base_url)
    first = await summarize(settings, store, papers)
    calls_after_first = fake_llm.fake.total_calls

    second = await summarize(settings, store, papers)

    assert calls_after_first == len(papers)
    assert fake_llm.fake.total_calls == calls_after_first
    assert second == first


async def test_a_new_version_language_or_model_is_a_new_key(fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]) -> None:
    settings = llm_settings(fake_llm.base_url)
    paper = papers[0]
    await summarize(settings, store, [paper])
    await summarize(settings, store, [dataclasses.replace(paper, version=2)])
    await summarize(settings, store, [paper], language="zh")
    await summarize(llm_settings(fake_llm.base_url, model="other-model"), store, [paper])

    assert fake_llm.fake.calls[paper.arxiv_id] == 4


async def test_rate_limit_then_success_honours_retry_after(fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]) -> None:
    paper = papers[0]
    fake_llm.fake.retry_after = "0.05"
    fake_llm.fake.fail(paper.arxiv_id, "rate_limit")

    summaries = await summarize(llm_settings(fake_llm.base_url), store, [paper])

    assert not summaries[paper.arxiv_id].is_fallback
    first, second = fake_llm.fake.request_times[paper.arxiv_id]
    # Without the header the client would back off at least 0.375 s (0.5 s minus jitter).
    assert 0.05 <= second - first < 0.35


async def test_server_errors_exhaust_retries_then_labelled_fallback(
    fake_llm: RunningFakeLlm, store: Store, papers: list[Paper], caplog: pytest.LogCaptureFixture
) -> None:
    paper = papers[0]
    fake_llm.fake.fail(paper.arxiv_id, "server_error", "server_error", "server_error")

    with caplog.at_level(logging.WARNING, logger="core.summarize"):
        summaries = await summarize(llm_settings(fake_llm.base_url, max_retries=2), store, papers[:2])

    fallback = summaries[paper.arxiv_id]
    assert fake_llm.fake.calls[paper.arxiv_id] == 3  # first try + 2 retries
    assert fallback.is_fallback
    assert fallback.model == FALLBACK_MODEL
    assert fallback.text.startswith(f"*{FALLBACK_LABELS['en']}*")
    assert not summaries[papers[1].arxiv_id].is_fallback
    assert any(paper.arxiv_id in record.getMessage() and record.levelno == logging.WARNING for record in caplog.records)
    assert store.summaries.summary_usage().summaries == 1  # the fallback is not cached as final


async def test_fallback_is_retried_next_run(fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]) -> None:
    paper = papers[0]
    fake_llm.fake.fail(paper.arxiv_id, "server_error")
    settings = llm_settings(fake_llm.base_url, max_retries=0)

    first = await summarize(settings, store, [paper])
    second = await summarize(settings, store, [paper])

    assert first[paper.arxiv_id].is_fallback
    assert not second[paper.arxiv_id].is_fallback
    assert fake_llm.fake.calls[paper.arxiv_id] == 2


async def test_failed_paper_waits_before_the_same_process_retries(
    fake_llm: RunningFakeLlm, tmp_path: Path, papers: list[Paper]
) -> None:
    now = [dt.datetime(2026, 4, 22, 8, 0, tzinfo=dt.timezone.utc)]
    store = Store(tmp_path / "clocked.db", clock=lambda: now[0])
    paper = papers[0]
    fake_llm.fake.fail(paper.arxiv_id, "server_error")
    summarizer = Summarizer(llm_settings(fake_llm.base_url, max_retries=0), store, KEY)
    try:
        assert (await summarizer.summarize_papers([paper], "en"))[paper.arxiv_id].is_fallback
        assert (await summarizer.summarize_papers([paper], "en"))[paper.arxiv_id].is_fallback
        assert fake_llm.fake.calls[paper.arxiv_id] == 1
        now[0] += RETRY_FAILED_AFTER
        assert not (await summarizer.summarize_papers([paper], "en"))[paper.arxiv_id].is_fallback
    finally:
        await summarizer.aclose()
        store.close()


async def test_slow_answer_times_out_to_fallback(fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]) -> None:
    paper = papers[0]
    fake_llm.fake.fail(paper.arxiv_id, "slow", "slow")

    summaries = await summarize(llm_settings(fake_llm.base_url, timeout_seconds=0.3, max_retries=1), store, [paper])

    assert summaries[paper.arxiv_id].is_fallback
    assert fake_llm.fake.calls[paper.arxiv_id] == 2


@pytest.mark.parametrize("fault", ["empty_choices", "overlong", "truncated", "wrong_language"])
async def test_malformed_answers_are_rejected(
    fault: str, fake_llm: RunningFakeLlm, store: Store, papers: list[Paper], caplog: pytest.LogCaptureFixture
) -> None:
    paper = papers[0]
    fake_llm.fake.fail(paper.arxiv_id, fault)

    with caplog.at_level(logging.WARNING, logger="core.summarize"):
        summaries = await summarize(llm_settings(fake_llm.base_url), store, [paper])

    assert summaries[paper.arxiv_id].is_fallback
    assert len(summaries[paper.arxiv_id].text) < MAX_SUMMARY_CHARS
    assert store.summaries.summary_usage().summaries == 0
    assert any(paper.arxiv_id in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("fault", ["overlong", "truncated", "wrong_language"])
async def test_a_rejected_answer_is_not_a_summary_but_its_tokens_were_paid(
    fault: str, fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]
) -> None:
    fake_llm.fake.fail(papers[0].arxiv_id, fault)
    summarizer = Summarizer(llm_settings(fake_llm.base_url), store, KEY)
    try:
        await summarizer.summarize_papers(papers[:2], "en")
    finally:
        await summarizer.aclose()
    [kept] = [store.summaries.cached_summary(summarizer.key_for(paper, "en", "abstract")) for paper in papers[1:2]]
    assert kept is not None
    assert summarizer.spent.summaries == 1
    assert summarizer.spent.prompt_tokens > kept.prompt_tokens
    assert summarizer.spent.completion_tokens > kept.completion_tokens


async def test_wrong_language_rejected_for_chinese(fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]) -> None:
    paper = papers[0]
    fake_llm.fake.fail(paper.arxiv_id, "wrong_language")

    summaries = await summarize(llm_settings(fake_llm.base_url), store, [paper], language="zh")

    assert summaries[paper.arxiv_id].is_fallback
    assert summaries[paper.arxiv_id].text.startswith(f"*{FALLBACK_LABELS['zh']}*")


async def test_injected_markup_is_sanitized(fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]) -> None:
    paper = papers[0]
    fake_llm.fake.fail(paper.arxiv_id, "injection")

    summary = (await summarize(llm_settings(fake_llm.base_url), store, [paper]))[paper.arxiv_id]

    assert not summary.is_fallback
    assert "</details>" not in summary.text
    assert "<script" not in summary.text
    assert "<img" not in summary.text
    assert "alert(" not in summary.text.split("**1.")[0].replace("Injected heading", "")
    assert not any(line.lstrip().startswith("#") for line in summary.text.splitlines())
    assert "**Injected heading**" in summary.text


async def test_without_a_key_extractive_and_one_log_line(
    store: Store, papers: list[Paper], caplog: pytest.LogCaptureFixture
) -> None:
    # An unroutable base URL: any network call would fail the test through pytest-socket or time out.
    settings = SummarySettings(base_url="http://192.0.2.1/v1", model="m")
    summarizer = Summarizer(settings, store, None)
    with caplog.at_level(logging.INFO, logger="core.summarize"):
        first = await summarizer.summarize_papers(papers, "en")
        second = await summarizer.summarize_papers(papers, "zh")
    await summarizer.aclose()

    assert all(summary.is_fallback for summary in [*first.values(), *second.values()])
    assert summarizer.llm_calls == 0
    assert len([record for record in caplog.records if "no LLM API key" in record.getMessage()]) == 1
    assert store.summaries.summary_usage().summaries == 0


async def test_disabled_summaries_give_nothing(store: Store, papers: list[Paper]) -> None:
    summarizer = Summarizer(SummarySettings(enabled=False), store, KEY)
    assert await summarizer.summarize_papers(papers, "en") == {}
    await summarizer.aclose()


SCRIPT_ONLY_ANSWER = "<script>" + "document.write('x');" * 5 + "</script>\n<!-- nothing else here at all, really -->"


async def test_an_answer_the_sanitizer_empties_is_rejected_not_cached(
    fake_llm: RunningFakeLlm, store: Store, papers: list[Paper], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The length check applies to what would be published: markup that sanitizes to nothing is no summary."""
    monkeypatch.setattr("tests.fakes.llm.ENGLISH_ANSWER", SCRIPT_ONLY_ANSWER)
    paper = papers[0]

    summary = (await summarize(llm_settings(fake_llm.base_url), store, [paper]))[paper.arxiv_id]

    assert fake_llm.fake.calls[paper.arxiv_id] == 1
    assert summary.is_fallback
    assert summary.text.startswith(f"*{FALLBACK_LABELS['en']}*")
    assert store.summaries.summary_usage().summaries == 0


async def test_without_a_key_cached_llm_summaries_are_still_used(
    fake_llm: RunningFakeLlm, store: Store, papers: list[Paper]
) -> None:
    """Like the web pages, a run without a key shows what an earlier run paid for; only the rest falls back."""
    settings = llm_settings(fake_llm.base_url)
    paid = await summarize(settings, store, papers[:1])
    calls = fake_llm.fake.total_calls

    summarizer = Summarizer(settings, store, None)
    try:
        summaries = await summarizer.summarize_papers(papers[:2], "en")
    finally:
        await summarizer.aclose()

    assert summaries[papers[0].arxiv_id] == paid[papers[0].arxiv_id]
    assert not summaries[papers[0].arxiv_id].is_fallback
    assert summaries[papers[1].arxiv_id].is_fallback
    assert fake_llm.fake.total_calls == calls
    assert summarizer.spent.summaries == 0
