"""Digests and command replies as Discord messages: one embed per paper, batched within Discord's limits."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.base import VOTES, MessageKind, OutgoingMessage, feedback_data, save_data
from core.models import Digest
from core.render.chunks import cut_text, split_blocks
from core.render.view import DigestView, PaperView, digest_view

# Discord's own limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
BUTTONS_PER_ROW = 5
ACTION_ROWS_PER_MESSAGE = 5

# Our budgets, well inside Discord's, so that several papers share a message and one embed can
# never exceed the 6000 a message allows: 256 + 2500 + 3 * 300 + 60 + 200 stays far below it.
SUMMARY_BUDGET = 2500
ABSTRACT_BUDGET = 600
AUTHORS_BUDGET = 300
TERMS_BUDGET = 300
PLAIN_LINE_BUDGET = 190
ARXIV_RED = 0xB31B1B
BUTTONS_PER_PAPER = len(VOTES) + 1  # 👍, 👎 and 🔖
PAPERS_PER_ROW = BUTTONS_PER_ROW // BUTTONS_PER_PAPER  # a paper's buttons stay on one row
PAPERS_PER_MESSAGE = min(EMBEDS_PER_MESSAGE, ACTION_ROWS_PER_MESSAGE * PAPERS_PER_ROW)
ACTION_ROW = 1  # Discord's component types and button style
BUTTON = 2
SECONDARY = 2

# Discord's autolink takes a URL whole, so Markdown characters inside one mean nothing, while a
# backslash added inside would break the link: URLs stay as they are, everything else is escaped.
# The URL stops where Discord's own pattern might stop sooner, so nothing unescaped is left outside it.
_URL = re.compile(r"(?<!\w)https?://[^\s<>`*~|\\\[\]()\"']*[^\s<>`*~|\\\[\]()\"'.,:;!?]")
# Inline syntax: bold/italic, underline, strikethrough, code, spoilers, masked links, mentions/timestamps.
_INLINE_SPECIAL = re.compile(r"([\\*_~`|\[\]<])")
# What only means something at the start of a line: headings, `-#` subtext, lists, quotes.
_LINE_START = re.compile(r"^([ \t]*)([#>+-])", re.MULTILINE)


@dataclass(frozen=True)
class DiscordMessage:
    """A message body as Discord's API takes it: text content, embed objects and component rows (buttons)."""

    content: str
    embeds: tuple[Mapping[str, Any], ...] = ()
    components: tuple[Mapping[str, Any], ...] = ()


def embed_counted_text(embed: Mapping[str, Any]) -> str:
    """The embed's counted characters as one string, so `split_blocks` can measure batches with len."""
    parts = [embed.get("title") or "", embed.get("description") or ""]
    for embed_field in embed.get("fields") or ():
        parts += [embed_field["name"], embed_field["value"]]
    parts.append((embed.get("footer") or {}).get("text") or "")
    parts.append((embed.get("author") or {}).get("name") or "")
    return "".join(parts)


def escape_text(text: str) -> str:
    """User or paper text shown as it was typed: every Discord Markdown character outside URLs is backslash-escaped.

    discord.utils.escape_markdown is not enough: it escapes only the first of two masked links on one line.
    """
    parts = []
    position = 0
    for url in _URL.finditer(text):
        parts += [_INLINE_SPECIAL.sub(r"\\\1", text[position : url.start()]), url.group()]
        position = url.end()
    parts.append(_INLINE_SPECIAL.sub(r"\\\1", text[position:]))
    return _LINE_START.sub(r"\1\\\2", "".join(parts))


def cut_markdown(text: str, limit: int) -> str:
    """Cut Markdown to `limit` characters at a line end when one is near, never leaving bold half open."""
    if len(text) <= limit:
        return text
    ellipsis = "\n…"
    head = text[: limit - len(ellipsis)]
    line_end = head.rfind("\n")
    if line_end > limit // 2:
        cut = head[:line_end].rstrip() + ellipsis
    else:
        cut = cut_text(text, limit)
    if cut.count("**") % 2:
        # A bold span opened before the cut would swallow the rest of the embed: drop the marker.
        at = cut.rfind("**")
        cut = cut[:at] + cut[at + 2 :]
    return cut


def _paper_body(view: PaperView) -> tuple[str, str]:
    """The embed description (summary, else abstract excerpt) and a footer note saying which."""
    if view.summary is not None and view.summary.text.strip():
        return cut_markdown(view.summary.text.strip(), SUMMARY_BUDGET), view.summary_label
    return cut_text(escape_text(view.abstract), ABSTRACT_BUDGET) or "(no abstract)", "abstract"


def paper_embed(view: PaperView) -> dict[str, Any]:
    """One paper as an embed: linked title, authors, categories, why it matched, score, summary or abstract."""
    paper = view.paper
    description, source = _paper_body(view)
    categories = [f"{paper.primary_category} (primary)"] + [c for c in paper.categories if c != paper.primary_category]
    fields = [
        {"name": "Authors", "value": cut_text(escape_text(view.short_authors), AUTHORS_BUDGET) or "unknown", "inline": False},
        {"name": "Categories", "value": cut_text(", ".join(categories), TERMS_BUDGET), "inline": True},
        {"name": "Score", "value": view.score, "inline": True},
    ]
    if view.reasons:
        fields.insert(2, {"name": "Matched", "value": cut_text(escape_text(view.reasons), TERMS_BUDGET), "inline": True})
    fields.append({"name": "Links", "value": f"[abstract]({paper.abs_url}) · [PDF]({paper.pdf_url})", "inline": True})
    kind = f" · {view.kind}" if view.kind else ""
    return {
        "title": cut_text(escape_text(f"{view.position}. {view.title}"), TITLE_LIMIT),
        "url": paper.abs_url,
        "description": description,
        "color": ARXIV_RED,
        "fields": fields,
        "footer": {"text": f"arXiv:{paper.versioned_id}{kind} · {source}"},
    }


def feedback_rows(papers: list[PaperView]) -> tuple[dict[str, Any], ...]:
    """👍/👎/🔖 buttons for each paper of a message, a paper's on one row; a press comes back as a component interaction."""
    buttons = [
        {"type": BUTTON, "style": SECONDARY, "label": f"{paper.position} {label}", "custom_id": custom_id}
        for paper in papers
        for label, custom_id in (*((label, feedback_data(paper.arxiv_id, vote)) for vote, label in zip(VOTES, ("👍", "👎"))),
                                 ("🔖", save_data(paper.arxiv_id)))
    ]
    per_row = PAPERS_PER_ROW * BUTTONS_PER_PAPER
    return tuple({"type": ACTION_ROW, "components": buttons[at : at + per_row]} for at in range(0, len(buttons), per_row))


def digest_header(view: DigestView) -> str:
    """The line above the embeds: which day, how many papers, from what."""
    return cut_text(f"**{escape_text(view.title)}**: {escape_text(view.selection)}", CONTENT_LIMIT)


def _plain_line(view: PaperView) -> str:
    return cut_text(f"{view.position}. {escape_text(view.title)} ({view.score}) {view.paper.abs_url}", PLAIN_LINE_BUDGET)


def render_digest(digest: Digest) -> list[OutgoingMessage]:
    """The digest as as few messages as Discord's limits allow; the header rides on the first."""
    view = digest_view(digest)
    header = digest_header(view)
    if not view.papers:
        return [OutgoingMessage((), DiscordMessage(header), header, MessageKind.HEADER)]
    embeds = [paper_embed(paper) for paper in view.papers]
    chunks = split_blocks(
        [embed_counted_text(embed) for embed in embeds],
        EMBED_TOTAL_LIMIT,
        separator="",
        max_blocks=PAPERS_PER_MESSAGE,
    )
    messages = []
    for number, chunk in enumerate(chunks):
        content = header if number == 0 else ""
        papers = [view.papers[index] for index in chunk.indices]
        plain = "\n".join(([header] if content else []) + [_plain_line(paper) for paper in papers])
        body = DiscordMessage(content, tuple(embeds[index] for index in chunk.indices), feedback_rows(papers))
        ids = tuple(paper.arxiv_id for paper in papers)
        messages.append(OutgoingMessage(ids, body, cut_text(plain, CONTENT_LIMIT), MessageKind.PAPERS))
    return messages


def text_chunks(text: str) -> list[str]:
    """A command reply (plain text, so Markdown-escaped) split at line ends into messages of at most 2000 characters."""
    if not text.strip():
        return ["(no reply)"]
    lines = [cut_text(line, CONTENT_LIMIT) for line in escape_text(text).splitlines()]
    return [chunk.text for chunk in split_blocks(lines, CONTENT_LIMIT, separator="\n")]

