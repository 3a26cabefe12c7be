"""A tick summarizes each planned chat's top N papers once across chats (the fake LLM on loopback) and attaches
them to each chat's digest when delivery reaches it; a chat with summaries off gets none."""
from __future__ import annotations

from bot.scheduler import Scheduler
from core.arxiv.fetcher import Fetcher
from core.store import Store
from core.summarize import Summarizer
from tests.fakes.llm import RunningFakeLlm
from tests.recording_adapter import PLATFORM, RecordingAdapter
from tests.scheduler_support import DUE_AT, SETTINGS, populate
from tests.test_summarize import KEY, llm_settings

CHATS = 4
TOP_N = 2


async def test_top_papers_are_summarized_once_and_attached_per_chat(tmp_path, fake_llm: RunningFakeLlm) -> None:
    settings = SETTINGS.model_copy(update={"summaries": llm_settings(fake_llm.base_url, top_n=TOP_N, max_retries=0)})
    store = Store(tmp_path / "summaries.db", clock=lambda: DUE_AT)
    refs = populate(store, CHATS)
    quiet = refs[-1]
    for ref in refs[:-1]:
        store.chats.update_chat(ref, summaries=True)
    adapter = RecordingAdapter()
    fetcher = Fetcher(settings.arxiv, store)
    summarizer = Summarizer(settings.summaries, store, KEY)
    try:
        scheduler = Scheduler(store, settings, fetcher, {PLATFORM: adapter}, summarizer=summarizer, clock=lambda: DUE_AT)
        report = await scheduler.tick(DUE_AT)
    finally:
        await summarizer.aclose()
        await fetcher.aclose()

    assert report.planned == CHATS
    sent = {ref.chat_id: adapter.papers_sent_to(ref.chat_id) for ref in refs}
    by_chat = dict(zip((ref.chat_id for ref in refs), adapter.rendered, strict=True))  # one digest per chat, in order
    for ref in refs[:-1]:
        assert set(by_chat[ref.chat_id].summaries) == set(sent[ref.chat_id][:TOP_N])
        assert not any(summary.is_fallback for summary in by_chat[ref.chat_id].summaries.values())
    assert by_chat[quiet.chat_id].summaries == {}
    shown = {arxiv_id for ref in refs[:-1] for arxiv_id in sent[ref.chat_id][:TOP_N]}
    assert set(fake_llm.fake.calls) == shown and set(fake_llm.fake.calls.values()) == {1}
    store.close()
