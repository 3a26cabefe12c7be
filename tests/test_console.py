"""The console adapter end to end: lines typed into an injected stream reach the core, replies are printed."""
from __future__ import annotations

import asyncio
import io

from adapters.base import Adapter
from adapters.console import CONSOLE_HINT, CONSOLE_MESSAGE_BUDGET, ConsoleAdapter, render_plain_digest
from core.models import ChatRef, Keyword, Reply, Summary
from tests.commands_support import FakeServices, digest_of, fixture_papers, processor

CONSOLE_CHAT = ChatRef("console", "local")
DEADLINE_SECONDS = 10


async def converse(store, typed: str, services: FakeServices | None = None) -> str:
    output = io.StringIO()
    adapter = ConsoleAdapter(io.StringIO(typed), output)
    await adapter.start(processor(store, services).handle)
    await asyncio.wait_for(adapter.wait_closed(), DEADLINE_SECONDS)
    await adapter.stop()
    return output.getvalue()


def test_console_adapter_implements_the_protocol():
    assert isinstance(ConsoleAdapter(io.StringIO(), io.StringIO()), Adapter)


async def test_subscribe_then_keywords_prints_replies_and_changes_the_store(store):
    printed = await converse(store, "/subscribe llm:2, \"speculative decoding\"\n\n/keywords\n")
    lines = printed.splitlines()
    assert lines[0] == "Subscribed to speculative decoding. Updated llm:2. You follow 2 of at most 50 keywords."
    assert lines[1] == CONSOLE_HINT  # the blank line
    assert lines[2] == "Keywords (2): LLM:2, speculative decoding"
    assert "Categories: cs.AI (Artificial Intelligence), cs.CL (Computation and Language)" in printed
    chat = store.chats.get_chat(CONSOLE_CHAT)
    assert chat.keywords == (Keyword("LLM", 2.0), Keyword("speculative decoding"))


async def test_quit_stops_reading_and_errors_are_printed_not_raised(store):
    printed = await converse(store, "frobnicate\nquit\nsubscribe never\n")
    assert printed == 'Unknown command "frobnicate". Send "help" for the list.\n'
    assert store.chats.get_chat(CONSOLE_CHAT) is None  # an unknown command creates nothing; "subscribe never" was not read


async def test_digest_command_prints_the_papers(store):
    papers = fixture_papers()[:3]
    printed = await converse(store, "digest\n", FakeServices(digest=digest_of(papers)))
    # One header, the digest's own (the reply's "Digest for ..." line would say the same again).
    assert printed.startswith("arXiv digest for Wed 2025-10-22: 3 papers picked from 24 announced in cs.AI, cs.CL.\n")
    assert printed.count("arXiv digest for") == 1
    assert "Digest for 2025-10-22" not in printed
    assert "1. A Generalizable Light Transport 3D Embedding for Global Illumination\n" in printed
    assert "score 5.0" in printed
    assert "https://arxiv.org/abs/2510.18658" in printed
    assert "matched: LLM (title)" in printed


def test_long_digest_is_split_between_papers_under_the_budget():
    papers = fixture_papers()
    digest = digest_of(papers)
    messages = render_plain_digest(digest, budget=1500)
    assert len(messages) > 3
    assert all(len(message.payload) <= 1500 for message in messages)
    assert [paper_id for message in messages for paper_id in message.paper_ids] == [p.arxiv_id for p in papers]
    assert messages[0].payload.startswith("arXiv digest for Wed 2025-10-22: 24 papers")
    assert len(render_plain_digest(digest)[0].payload) <= CONSOLE_MESSAGE_BUDGET


def test_summaries_replace_the_abstract_when_the_digest_has_them():
    paper = fixture_papers()[0]
    summary = Summary(paper.arxiv_id, 1, "qwen-long", "en", "v1", "abstract", "**Contributions**: a 3D embedding.")
    digest = digest_of([paper])
    digest = type(digest)(**{**digest.__dict__, "summaries": {paper.arxiv_id: summary}})
    shown = render_plain_digest(digest)[0].payload
    assert "AI Summary (by qwen-long):" in shown
    assert "a 3D embedding" in shown
    hidden = render_plain_digest(digest_of([paper]))[0].payload
    assert "Summary" not in hidden
    assert "Global illumination (GI) is essential" in hidden


async def test_send_returns_distinct_ids_and_plain_uses_plain_text():
    output = io.StringIO()
    adapter = ConsoleAdapter(io.StringIO(), output)
    (message,) = render_plain_digest(digest_of(fixture_papers()[:1]))
    first = await adapter.send(CONSOLE_CHAT, message)
    second = await adapter.send(CONSOLE_CHAT, message, plain=True)
    assert first != second
    await adapter.show_reply(Reply("plain reply"))
    assert output.getvalue().endswith("plain reply\n")
    await adapter.stop()
    await adapter.stop()


async def test_a_blank_line_or_a_lone_slash_gets_the_hint(store):
    printed = await converse(store, "\n/\n  /  \n")
    assert printed.splitlines() == [CONSOLE_HINT] * 3
