"""Discord digest rendering: one embed per paper, every message within Discord's limits, few messages."""
from __future__ import annotations

import dataclasses

from adapters import discord_render as render
from core.models import KeywordMatch
from tests.fakes.discord_data import fixture_digest, fixture_papers
from tests.fakes.discord_limits import message_problem

def long_summary() -> str:
    """A four-section Markdown summary longer than the embed budget, built from a real abstract."""
    abstract = fixture_papers(1)[0].abstract
    sections = ["Contributions", "Method and setup", "Results", "Conclusions and limits"]
    return "\n\n".join(f"**{name}**\n- {abstract}" for name in sections)


def body(message) -> dict:
    return {"content": message.payload.content, "embeds": list(message.payload.embeds)}


def test_25_papers_with_long_summaries_fit_every_limit_in_few_messages() -> None:
    digest = fixture_digest(25, summary_text=long_summary())
    messages = render.render_digest(digest)
    for message in messages:
        assert message_problem(body(message)) is None
        assert len(message.payload.embeds) <= render.EMBEDS_PER_MESSAGE
        assert sum(len(render.embed_counted_text(e)) for e in message.payload.embeds) <= render.EMBED_TOTAL_LIMIT
        assert len(message.plain_text) <= render.CONTENT_LIMIT
    assert_every_paper_once_in_as_few_messages(digest, messages)


def assert_every_paper_once_in_as_few_messages(digest, messages) -> None:
    sent_ids = [paper_id for message in messages for paper_id in message.paper_ids]
    assert sent_ids == [scored.paper.arxiv_id for scored in digest.papers]
    # Greedy batching: no message could have taken the next message's first embed as well.
    for first, second in zip(messages, messages[1:]):
        together = [*first.payload.embeds, second.payload.embeds[0]]
        assert len(together) > render.PAPERS_PER_MESSAGE or sum(len(render.embed_counted_text(e)) for e in together) > render.EMBED_TOTAL_LIMIT


def test_abstract_digest_packs_several_papers_per_message() -> None:
    digest = fixture_digest(25)
    messages = render.render_digest(digest)
    assert [len(m.paper_ids) for m in messages] == [5, 5, 5, 5, 5]  # a row per paper (👍 👎 🔖), five rows a message
    assert_every_paper_once_in_as_few_messages(digest, messages)
    assert messages[0].payload.content.startswith("**arXiv digest for Thu 2026-09-24**: 25 papers")
    assert all(m.payload.content == "" for m in messages[1:])


def test_embed_shows_link_authors_categories_matches_and_score() -> None:
    digest = fixture_digest(1)
    paper = digest.papers[0].paper
    embed = render.render_digest(digest)[0].payload.embeds[0]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert embed["url"] == paper.abs_url
    assert embed["title"] == f"1. {paper.title}"
    assert "Bal" in fields["Authors"]
    assert fields["Categories"].startswith(f"{paper.primary_category} (primary)")
    assert fields["Matched"] == "quantum (title)"
    assert fields["Score"] == "10.0"
    assert paper.pdf_url in fields["Links"]
    assert embed["description"].startswith(paper.abstract[:40])


def test_overlong_summary_is_cut_at_a_line_end_with_bold_balanced() -> None:
    summary = long_summary()
    embed = render.render_digest(fixture_digest(1, summary_text=summary))[0].payload.embeds[0]
    description = embed["description"]
    assert len(summary) > render.SUMMARY_BUDGET >= len(description)
    assert description.endswith("\n…")
    assert description.count("**") % 2 == 0
    assert "AI Summary (by qwen-long)" in embed["footer"]["text"]


def test_a_digest_without_summaries_shows_the_abstract() -> None:
    digest = fixture_digest(1)
    embed = render.render_digest(digest)[0].payload.embeds[0]
    assert embed["footer"]["text"].endswith("abstract")
    assert embed["description"].startswith(digest.papers[0].paper.abstract[:40])


def test_huge_author_list_and_title_are_cut() -> None:
    digest = fixture_digest(1)
    scored = digest.papers[0]
    paper = dataclasses.replace(scored.paper, title="Scaling " * 60, authors=tuple(f"Author Number{i}" for i in range(500)))
    digest = dataclasses.replace(digest, papers=(dataclasses.replace(scored, paper=paper),))
    message = render.render_digest(digest)[0]
    embed = message.payload.embeds[0]
    assert len(embed["title"]) <= render.TITLE_LIMIT
    assert embed["title"].endswith("…")
    assert len(embed["fields"][0]["value"]) <= render.AUTHORS_BUDGET
    assert message_problem(body(message)) is None


def test_markdown_in_titles_is_escaped() -> None:
    digest = fixture_digest(1)
    scored = digest.papers[0]
    paper = dataclasses.replace(scored.paper, abstract="A *bold* claim about __init__ and `code`", title="Bounds for $x_1 * y_2$")
    digest = dataclasses.replace(digest, papers=(dataclasses.replace(scored, paper=paper),))
    embed = render.render_digest(digest)[0].payload.embeds[0]
    assert embed["title"] == r"1. Bounds for $x\_1 \* y\_2$"
    assert embed["description"] == r"A \*bold\* claim about \_\_init\_\_ and \`code\`"


def test_escaping_covers_every_masked_link_and_line_start_but_keeps_urls_working() -> None:
    assert render.escape_text("[a](http://x) and [b](https://e.vil)") == r"\[a\](http://x) and \[b\](https://e.vil)"
    assert render.escape_text("```llm ~~rl~~ ||spoiler|| <t:1:R> \\") == r"\`\`\`llm \~\~rl\~\~ \|\|spoiler\|\| \<t:1:R> \\"
    assert render.escape_text("# big\n  - item\n> quote\n-# small") == "\\# big\n  \\- item\n\\> quote\n\\-# small"
    assert render.escape_text("code at https://github.com/a_b/c_d. *yes*") == r"code at https://github.com/a_b/c_d. \*yes\*"
    assert render.escape_text("xhttps://a_b_") == r"xhttps://a\_b\_"


def test_matched_keywords_and_plain_fallback_are_escaped() -> None:
    digest = fixture_digest(1)
    matches = tuple(KeywordMatch(term, True, False, 1.0) for term in ("[free](https://e.vil)", "~~rl~~"))
    scored = dataclasses.replace(digest.papers[0], matches=matches)
    scored = dataclasses.replace(scored, paper=dataclasses.replace(scored.paper, title="**Loud** title"))
    message = render.render_digest(dataclasses.replace(digest, papers=(scored,)))[0]
    [matched] = [f["value"] for f in message.payload.embeds[0]["fields"] if f["name"] == "Matched"]
    assert matched.startswith(r"\[free\](https://e.vil) (title); \~\~rl\~\~ (title)")
    assert r"\*\*Loud\*\* title" in message.plain_text


def test_empty_digest_says_so_in_one_message() -> None:
    digest = dataclasses.replace(fixture_digest(1), papers=())
    messages = render.render_digest(digest)
    assert len(messages) == 1
    assert messages[0].paper_ids == ()
    assert "No paper matched among 200 papers" in messages[0].payload.content


def test_long_reply_text_is_split_at_line_ends() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(60))
    chunks = render.text_chunks(text)
    assert len(chunks) == 3
    assert all(len(chunk) <= render.CONTENT_LIMIT for chunk in chunks)
    assert "\n".join(chunks) == text
    assert render.text_chunks("  ") == ["(no reply)"]
    assert render.text_chunks("Keywords: ```llm, ~~rl~~") == [r"Keywords: \`\`\`llm, \~\~rl\~\~"]
