"""Every digest renderer labels its messages the way delivery relies on: headers, then the papers, then footers."""
from __future__ import annotations

import functools
from collections.abc import Callable

import pytest

from adapters import discord_render, slack_render, telegram_render
from adapters.base import MessageKind, OutgoingMessage
from adapters.console import render_plain_digest
from core.models import Digest
from tests.fakes.discord_data import fixture_digest

RENDERERS: dict[str, Callable[[Digest], list[OutgoingMessage]]] = {
    "telegram": telegram_render.render_digest,
    "discord": discord_render.render_digest,
    "slack": slack_render.render_digest_messages,
    "console": render_plain_digest,
    "console, header alone": functools.partial(render_plain_digest, budget=600),
}
ORDER = [MessageKind.HEADER, MessageKind.PAPERS, MessageKind.FOOTER]


@pytest.mark.parametrize("name", RENDERERS)
def test_papers_messages_are_the_ones_with_papers_in_order_after_headers(name: str) -> None:
    digest = fixture_digest(30, summary_text="A long summary. " * 20)
    messages = RENDERERS[name](digest)
    kinds = [message.kind for message in messages]
    assert kinds == sorted(kinds, key=ORDER.index)
    assert all((message.kind == MessageKind.PAPERS) == bool(message.paper_ids) for message in messages)
    assert [i for message in messages for i in message.paper_ids] == [p.paper.arxiv_id for p in digest.papers]


def test_a_small_console_budget_sends_the_header_alone() -> None:
    messages = RENDERERS["console, header alone"](fixture_digest(3, summary_text="A long summary. " * 20))
    assert messages[0].kind == MessageKind.HEADER
    assert not messages[0].paper_ids


@pytest.mark.parametrize("name", RENDERERS)
def test_an_empty_digest_is_only_a_header(name: str) -> None:
    messages = RENDERERS[name](fixture_digest(0))
    assert messages
    assert {message.kind for message in messages} == {MessageKind.HEADER}
