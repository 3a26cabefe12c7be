"""Telegram HTML for replies and digests: escaping, measuring text after entity parsing, clean cuts."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from adapters.base import MessageKind, OutgoingMessage, feedback_data, save_data
from core.models import Digest, Reply
from core.render.chunks import cut_text, split_blocks
from core.render.view import DigestView, PaperView, digest_view

MESSAGE_LIMIT = 4096  # characters of text after entity parsing (Telegram counts UTF-16 units)
MESSAGE_BUDGET = MESSAGE_LIMIT - 96  # headroom so a trailing ellipsis or trimming never tips it over
MAX_PAPERS_PER_MESSAGE = 8  # keeps the per-paper button rows of one message short enough to use
ABSTRACT_EXCERPT_CHARS = 450
BLOCK_SEPARATOR = "\n\n"

_TAG = re.compile(r"<[^>]*>")
_OPEN_TAG = re.compile(r"<([a-z-]+)(?:\s[^>]*)?>")
_CLOSE_TAG = re.compile(r"</([a-z-]+)>")


@dataclass(frozen=True)
class Button:
    """An inline keyboard button: opens `url`, or sends `callback_data` back to the bot."""

    text: str
    url: str | None = None
    callback_data: str | None = None


@dataclass(frozen=True)
class TelegramMessage:
    """An OutgoingMessage payload: HTML text and inline keyboard rows."""

    html: str
    keyboard: tuple[tuple[Button, ...], ...] = ()


def escape(text: str) -> str:
    """Text for HTML parse mode: Telegram needs only & < > escaped outside attributes."""
    return html.escape(text, quote=False)


def escape_attribute(value: str) -> str:
    return html.escape(value, quote=True)


def link(url: str, label: str) -> str:
    return f'<a href="{escape_attribute(url)}">{escape(label)}</a>'


def visible_text(markup: str) -> str:
    """What Telegram keeps of `markup` after parsing entities: tags removed, entities decoded."""
    return html.unescape(_TAG.sub("", markup))


def visible_length(markup: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the visible text, surrounding space trimmed."""
    return utf16_units(visible_text(markup).strip())


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, units: int) -> str:
    """The longest prefix of `text` within `units` UTF-16 units, shortened to a word boundary."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            head = text[:index]
            space = head.rfind(" ")
            return head[:space] if space > len(head) // 2 else head
    return text


def cut_html(markup: str, limit: int, ellipsis: str = "…") -> str:
    """Cut markup to at most `limit` visible characters, between tags and entities, closing what is open."""
    if visible_length(markup) <= limit:
        return markup
    room = max(limit - utf16_units(ellipsis), 0)
    pieces: list[str] = []
    open_tags: list[str] = []
    for token in re.split(r"(<[^>]*>)", markup):
        if token.startswith("<"):
            if closing := _CLOSE_TAG.fullmatch(token):
                if open_tags and open_tags[-1] == closing.group(1):
                    open_tags.pop()
            elif opening := _OPEN_TAG.fullmatch(token):
                open_tags.append(opening.group(1))
            pieces.append(token)
            continue
        text = html.unescape(token)
        if utf16_units(text) <= room:
            pieces.append(token)
            room -= utf16_units(text)
            continue
        pieces.append(escape(_prefix_within(text, room).rstrip()))
        break
    closing_tags = "".join(f"</{tag}>" for tag in reversed(open_tags))
    return "".join(pieces) + ellipsis + closing_tags


def markdown_to_html(text: str) -> str:
    """The small Markdown subset summaries use (**bold**, # headings, `code`, - bullets) as Telegram HTML."""
    lines = []
    for line in escape(text.strip()).splitlines():
        heading = re.match(r"\s*#{1,6}\s+(.+)", line)
        if heading:
            line = f"<b>{heading.group(1).strip('* ')}</b>"
        else:
            line = re.sub(r"^\s*[-*]\s+", "• ", line)
            line = re.sub(r"\*\*([^*\n]+)\*\*", r"<b>\1</b>", line)
            line = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", line)
        lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def render_reply(reply: Reply) -> str:
    """A command's plain-text answer, escaped for HTML parse mode and cut to one message."""
    return cut_html(escape(reply.text), MESSAGE_BUDGET)


def render_header(view: DigestView) -> str:
    lines = [f"<b>📚 {escape(view.title)}</b>", escape(view.selection), f"Keywords: {escape(view.keywords)}"]
    return cut_html("\n".join(lines), MESSAGE_BUDGET)


def render_paper(view: PaperView) -> str:
    """One paper as an HTML block; the summary or abstract excerpt is cut so the block fits a message."""
    paper = view.paper
    head = [
        f"<b>{view.position}. {link(paper.abs_url, view.title)}</b>" + (f" ({escape(view.kind)})" if view.kind else ""),
        f"<i>{escape(view.short_authors)}</i>",
        escape(" · ".join(view.facts)) + (f" · matched: {escape(view.reasons)}" if view.reasons else ""),
    ]
    summary = view.summary
    body = markdown_to_html(summary.text) if summary else escape(cut_text(view.abstract, ABSTRACT_EXCERPT_CHARS))
    footer = f"{link(paper.abs_url, 'arXiv:' + paper.arxiv_id)} · {link(paper.pdf_url, 'PDF')}"
    fixed = "\n".join(head) + BLOCK_SEPARATOR + BLOCK_SEPARATOR + footer
    body = cut_html(body, MESSAGE_BUDGET - visible_length(fixed))
    return "\n".join(head) + BLOCK_SEPARATOR + body + BLOCK_SEPARATOR + footer


def paper_buttons(view: PaperView) -> tuple[Button, ...]:
    number = view.position
    return (
        Button(f"{number} · PDF", url=view.paper.pdf_url),
        Button(f"{number} 👍", callback_data=feedback_data(view.arxiv_id, +1)),
        Button(f"{number} 👎", callback_data=feedback_data(view.arxiv_id, -1)),
        Button(f"{number} 🔖", callback_data=save_data(view.arxiv_id)),
    )


def render_digest(digest: Digest) -> list[OutgoingMessage]:
    """A header message, then the papers grouped into messages at paper boundaries under the limit."""
    view = digest_view(digest)
    header = render_header(view)
    messages = [OutgoingMessage((), TelegramMessage(header), visible_text(header).strip(), MessageKind.HEADER)]
    blocks = [render_paper(paper) for paper in view.papers]
    for chunk in split_blocks(blocks, MESSAGE_BUDGET, BLOCK_SEPARATOR, visible_length, MAX_PAPERS_PER_MESSAGE):
        papers = [view.papers[index] for index in chunk.indices]
        keyboard = tuple(paper_buttons(paper) for paper in papers)
        ids = tuple(paper.arxiv_id for paper in papers)
        body = TelegramMessage(chunk.text, keyboard)
        messages.append(OutgoingMessage(ids, body, visible_text(chunk.text).strip(), MessageKind.PAPERS))
    return messages
