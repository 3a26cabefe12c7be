"""Telegram HTML for replies and digests: escaping, measuring text after entity parsing, clean cuts."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from adapters.base import OutgoingMessage
from core.models import ChatSettings, Digest, Reply, ScoredPaper
from core.render.chunks import cut_text, split_blocks

MESSAGE_LIMIT = 4096  # characters of text after entity parsing (Telegram counts UTF-16 units)
MESSAGE_BUDGET = MESSAGE_LIMIT - 96  # headroom so a trailing ellipsis or trimming never tips it over
MAX_PAPERS_PER_MESSAGE = 8  # keeps the per-paper button rows of one message short enough to use
ABSTRACT_EXCERPT_CHARS = 450
SHOWN_AUTHORS = 3
FEEDBACK_PREFIX = "fb"
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


def shorten_authors(authors: tuple[str, ...], followed: tuple[str, ...] = ()) -> str:
    """The first few authors, any followed author beyond them, and how many more there are."""
    if len(authors) <= SHOWN_AUTHORS + 1:
        return ", ".join(authors)
    shown = list(authors[:SHOWN_AUTHORS])
    shown += [name for name in followed if name in authors and name not in shown]
    return f"{', '.join(shown)} et al. ({len(authors)} authors)"


def render_reply(reply: Reply) -> str:
    """A command's plain-text answer, escaped for HTML parse mode and cut to one message."""
    return cut_html(escape(reply.text), MESSAGE_BUDGET)


def feedback_data(arxiv_id: str, vote: int) -> str:
    return f"{FEEDBACK_PREFIX}:{vote:+d}:{arxiv_id}"


def parse_feedback_data(data: str) -> tuple[str, int] | None:
    """(arxiv_id, vote) from a feedback button's callback data, or None if it is not one."""
    prefix, _, rest = data.partition(":")
    vote, _, arxiv_id = rest.partition(":")
    if prefix != FEEDBACK_PREFIX or vote not in ("+1", "-1") or not arxiv_id:
        return None
    return arxiv_id, int(vote)


def render_header(digest: Digest, settings: ChatSettings) -> str:
    day = digest.announcement_day.strftime("%a %d %b %Y")
    count = len(digest.papers)
    keywords = settings.keywords or digest.keywords
    terms = ", ".join(k.term if k.weight == 1 else f"{k.term} ×{k.weight:g}" for k in keywords)
    lines = [f"<b>📚 arXiv digest · {escape(day)}</b>"]
    if count:
        noun = "paper" if count == 1 else "papers"
        lines.append(f"{count} {noun} picked from {digest.considered} announced in {escape(', '.join(digest.categories))}")
    else:
        lines.append(f"No paper matched today among {digest.considered} announced.")
    lines.append(f"Keywords: {escape(terms) if terms else '(none yet: /subscribe llm)'}")
    return cut_html("\n".join(lines), MESSAGE_BUDGET)


def render_paper(number: int, scored: ScoredPaper, digest: Digest, settings: ChatSettings) -> str:
    """One paper as an HTML block; the summary or abstract excerpt is cut so the block fits a message."""
    paper = scored.paper
    marks = {"cross": " (cross-list)", "replace": f" (updated v{paper.version})", "replace-cross": " (updated cross-list)"}
    head = [
        f"<b>{number}. {link(paper.abs_url, paper.title)}</b>{escape(marks.get(paper.announce_type, ''))}",
        f"<i>{escape(shorten_authors(paper.authors, scored.matched_authors))}</i>",
        f"{escape(paper.primary_category)} · score {scored.score:.1f}"
        + (f" · matched: {escape(', '.join(scored.matched_terms))}" if scored.matched_terms else ""),
    ]
    summary = digest.summary_for(paper) if settings.summaries else None
    body = markdown_to_html(summary.text) if summary else escape(cut_text(" ".join(paper.abstract.split()), ABSTRACT_EXCERPT_CHARS))
    footer = f"{link(paper.abs_url, 'arXiv:' + paper.arxiv_id)} · {link(paper.pdf_url, 'PDF')}"
    fixed = "\n".join(head) + BLOCK_SEPARATOR + BLOCK_SEPARATOR + footer
    body = cut_html(body, MESSAGE_BUDGET - visible_length(fixed))
    return "\n".join(head) + BLOCK_SEPARATOR + body + BLOCK_SEPARATOR + footer


def paper_buttons(number: int, scored: ScoredPaper) -> tuple[Button, ...]:
    arxiv_id = scored.paper.arxiv_id
    return (
        Button(f"{number} · PDF", url=scored.paper.pdf_url),
        Button(f"{number} 👍", callback_data=feedback_data(arxiv_id, +1)),
        Button(f"{number} 👎", callback_data=feedback_data(arxiv_id, -1)),
    )


def render_digest(digest: Digest, settings: ChatSettings) -> list[OutgoingMessage]:
    """A header message, then the papers grouped into messages at paper boundaries under the limit."""
    header = render_header(digest, settings)
    messages = [OutgoingMessage((), TelegramMessage(header), visible_text(header).strip())]
    blocks = [render_paper(number, scored, digest, settings) for number, scored in enumerate(digest.papers, 1)]
    for chunk in split_blocks(blocks, MESSAGE_BUDGET, BLOCK_SEPARATOR, visible_length, MAX_PAPERS_PER_MESSAGE):
        papers = [(index + 1, digest.papers[index]) for index in chunk.indices]
        keyboard = tuple(paper_buttons(number, scored) for number, scored in papers)
        ids = tuple(scored.paper.arxiv_id for _, scored in papers)
        messages.append(OutgoingMessage(ids, TelegramMessage(chunk.text, keyboard), visible_text(chunk.text).strip()))
    return messages
