"""End to end: a fixture day's digest summarized against the fake LLM and rendered as the README-style Markdown."""
from __future__ import annotations

from core.models import Digest
from core.render.markdown import render_markdown
from core.store import Store
from core.summarize import Summarizer
from tests.fakes.llm import RunningFakeLlm
from tests.test_summaries_cache import digest_of
from tests.test_summarize import KEY, llm_settings, load_papers


async def summarize_once(fake_llm: RunningFakeLlm, store: Store, digest: Digest) -> Digest:
    summarizer = Summarizer(llm_settings(fake_llm.base_url, top_n=5, max_retries=0), store, KEY)
    try:
        return (await summarizer.summarize_digests({"readme": digest}))["readme"]
    finally:
        await summarizer.aclose()


async def test_rendered_digest_has_four_section_summaries_and_survives_every_fault(
    fake_llm: RunningFakeLlm, store: Store
) -> None:
    pool = load_papers(8)
    fake_llm.fake.fail(pool[1].arxiv_id, "injection")
    fake_llm.fake.fail(pool[2].arxiv_id, "server_error")
    fake_llm.fake.fail(pool[3].arxiv_id, "overlong")

    digest = await summarize_once(fake_llm, store, digest_of(pool))
    page = render_markdown(digest, summary_settings=llm_settings(fake_llm.base_url))

    assert set(digest.summaries) == {paper.arxiv_id for paper in pool[:5]}  # the top 5 only
    assert page.count("<details>") == page.count("</details>") == 5
    assert page.count("**1. Main contributions and novelty**") == 3
    assert sum(summary.is_fallback for summary in digest.summaries.values()) == 2
    assert "<script" not in page
    assert "Injected heading" in page
    assert "### Injected" not in page

    fake_llm.fake.reset_counts()
    again = await summarize_once(fake_llm, store, digest_of(pool))

    assert set(fake_llm.fake.calls) == {pool[2].arxiv_id, pool[3].arxiv_id}  # only the fallbacks are retried
    assert not any(summary.is_fallback for summary in again.summaries.values())
