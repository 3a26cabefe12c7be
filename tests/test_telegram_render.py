"""Telegram HTML rendering: escaping, limits after entity parsing, clean cuts, checked by the fake's strict parser."""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from adapters.telegram_render import (
    MESSAGE_LIMIT,
    TelegramMessage,
    cut_html,
    escape,
    markdown_to_html,
    render_digest,
    render_reply,
    visible_length,
)
from adapters.base import feedback_data, parse_feedback_data
from core.render.view import shorten_authors
from core.models import ChatRef, ChatSettings, Keyword, Reply
from tests.fakes.telegram import EntityParseError, parse_telegram_html, sample_digest, telegram_length

CHAT = ChatSettings(ChatRef("telegram", "42"), keywords=(Keyword("LLM", 2.0), Keyword("speculative decoding")))
LONG_SUMMARY = "\n".join(
    f"### Section {n}\n**Finding {n}**: the model <beats> baselines by 3 & more `x<y` points, said \"authors\". " * 6
    for n in range(12)
)


def test_sixty_paper_digest_splits_into_valid_messages_within_the_limit() -> None:
    digest = sample_digest(60, summaries={0: "**Contributions**: faster decoding.", 5: LONG_SUMMARY, 7: "- a\n- b"})
    messages = render_digest(digest)
    assert len(messages) > 3
    header, *papers = messages
    assert header.paper_ids == ()
    assert "60 papers" in header.plain_text
    assert "LLM ×2, language model" in header.plain_text  # the digest's keywords
    carried = [arxiv_id for message in papers for arxiv_id in message.paper_ids]
    assert carried == [scored.paper.arxiv_id for scored in digest.papers]
    for message in messages:
        payload = message.payload
        assert isinstance(payload, TelegramMessage)
        visible = parse_telegram_html(payload.html)
        assert telegram_length(visible) <= MESSAGE_LIMIT
        assert visible_length(payload.html) == telegram_length(visible)
        assert message.plain_text == visible.strip()
        assert len(payload.keyboard) == len(message.paper_ids)


def test_oversized_summary_is_cut_cleanly_between_tags() -> None:
    digest = sample_digest(1, summaries={0: LONG_SUMMARY})
    _, paper = render_digest(digest)
    visible = parse_telegram_html(paper.payload.html)
    assert "…" in visible
    assert telegram_length(visible) <= MESSAGE_LIMIT
    assert visible.rstrip().endswith("PDF")  # the links after the summary survive the cut
    assert "<beats>" in visible
    assert "3 & more" in visible


def test_title_and_reply_text_are_escaped_for_html_parse_mode() -> None:
    assert escape('a < b & c > "d"') == 'a &lt; b &amp; c &gt; "d"'
    reply = render_reply(Reply('Keywords: <none> & "quoted"'))
    assert parse_telegram_html(reply) == 'Keywords: <none> & "quoted"'


def test_abstract_excerpt_is_used_without_summary_and_shortened() -> None:
    digest = sample_digest(1)
    _, paper = render_digest(digest)
    assert "…" in paper.plain_text
    assert digest.papers[0].paper.abstract.split()[0] in paper.plain_text


def test_authors_are_shortened_but_followed_authors_stay_visible() -> None:
    names = tuple(f"Author {n}" for n in range(10))
    assert shorten_authors(names[:4]) == ", ".join(names[:4])
    assert shorten_authors(names) == "Author 0, Author 1, Author 2 et al. (10 authors)"
    assert "Author 7" in shorten_authors(names, followed=("Author 7",))


def test_feedback_buttons_round_trip_and_stay_within_telegram_callback_size() -> None:
    data = feedback_data("hep-th/0601001", -1)
    assert len(data.encode()) <= 64
    assert parse_feedback_data(data) == ("hep-th/0601001", -1)
    assert parse_feedback_data("fb:+2:x") is None
    assert parse_feedback_data("other") is None


def test_empty_digest_renders_one_header_saying_so() -> None:
    messages = render_digest(sample_digest(0))
    assert len(messages) == 1
    assert "No paper matched" in messages[0].plain_text


@pytest.mark.parametrize("bad", ["<div>x</div>", "<b>open", "a & b", '<a>no href</a>', "<code><b>x</b></code>", "<b><i>x</b></i>"])
def test_strict_parser_rejects_what_telegram_rejects(bad: str) -> None:
    with pytest.raises(EntityParseError):
        parse_telegram_html(bad)


@hypothesis_settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab <>&\"*#`-\n😀é")), max_size=300), limit=st.integers(1, 200))
def test_any_summary_markdown_renders_valid_and_cuts_within_the_limit(text: str, limit: int) -> None:
    markup = markdown_to_html(text)
    parse_telegram_html(markup)
    cut = cut_html(markup, limit)
    assert telegram_length(parse_telegram_html(cut)) <= limit


def test_header_says_how_many_matched_when_the_limit_cut_some() -> None:
    """The chat header's sentence comes from the view, as the Markdown's count does: 'N of M matching'."""
    cut = dataclasses.replace(sample_digest(5), matched=158)
    assert "5 of 158 matching papers picked from 480 announced in cs.CL." in render_digest(cut)[0].plain_text
    whole = dataclasses.replace(sample_digest(5), matched=5)
    assert "5 papers picked from 480 announced in cs.CL." in render_digest(whole)[0].plain_text
