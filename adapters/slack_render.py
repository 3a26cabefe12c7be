"""Slack Block Kit rendering of digests and replies, within Slack's limits and with mrkdwn escaped."""
from __future__ import annotations

from typing import Any

from adapters.base import OutgoingMessage
from core.models import ChatSettings, Digest, Reply, ScoredPaper
from core.render.chunks import cut_text, split_blocks

MAX_BLOCKS_PER_MESSAGE = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_TEXT_CHARS = 3000  # the notification `text` fallback; Slack truncates long ones anyway
BLOCKS_PER_PAPER = 2  # a section and a divider
PAPERS_PER_MESSAGE = (MAX_BLOCKS_PER_MESSAGE - 1) // BLOCKS_PER_PAPER
EXCERPT_CHARS = 600
MAX_TITLE_CHARS = 300
MAX_AUTHORS_SHOWN = 4


def escape_mrkdwn(text: str) -> str:
    """Slack needs only & < > escaped; everything else is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    # `|` ends the URL part of a link, so it cannot appear in the label.
    return f"<{url}|{escape_mrkdwn(label).replace('|', '¦')}>"


def _authors(authors: tuple[str, ...]) -> str:
    shown = ", ".join(authors[:MAX_AUTHORS_SHOWN])
    return shown + (f" et al. ({len(authors)})" if len(authors) > MAX_AUTHORS_SHOWN else "")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def paper_section_text(position: int, scored: ScoredPaper, digest: Digest) -> str:
    paper = scored.paper
    head = f"*{position}. {_link(paper.abs_url, cut_text(_one_line(paper.title), MAX_TITLE_CHARS))}*"
    facts = [
        escape_mrkdwn(_authors(paper.authors)),
        f"{escape_mrkdwn(paper.primary_category)} · score {scored.score:g} · `{paper.versioned_id}`",
    ]
    if scored.matched_terms:
        facts.append("matched: " + escape_mrkdwn(", ".join(scored.matched_terms)))
    summary = digest.summary_for(paper)
    if summary is not None:
        label = "Summary (extractive)" if summary.is_fallback else f"Summary ({summary.model})"
        facts.append(f"_{escape_mrkdwn(label)}_")
        raw_body = summary.text
    else:
        raw_body = cut_text(_one_line(paper.abstract), EXCERPT_CHARS)
    fixed = "\n".join([head, *facts]) + "\n"
    # Cut the raw text, then escape: cutting escaped text could split an entity such as &amp;.
    room = MAX_SECTION_CHARS - len(fixed)
    cut_at = room
    body = escape_mrkdwn(raw_body)
    while len(body) > room and cut_at > 1:
        cut_at = max(1, cut_at - (len(body) - room))
        body = escape_mrkdwn(cut_text(raw_body, cut_at))
    return fixed + body


def _header_text(digest: Digest, settings: ChatSettings) -> str:
    keywords = ", ".join(k.term for k in settings.keywords) or "no keywords"
    return (
        f"arXiv digest for {digest.announcement_day.isoformat()}: {len(digest.papers)} of "
        f"{digest.considered} papers · keywords: {keywords}"
    )


def render_digest_messages(digest: Digest, settings: ChatSettings) -> list[OutgoingMessage]:
    """A header block, then one section + divider per paper, split at paper boundaries under 50 blocks."""
    header = cut_text(_header_text(digest, settings), MAX_HEADER_CHARS)
    if not digest.papers:
        text = f"{header}\nNo paper matched your keywords today."
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(text)}}]
        return [OutgoingMessage((), {"text": escape_mrkdwn(text), "blocks": blocks}, text)]
    sections = [paper_section_text(i, scored, digest) for i, scored in enumerate(digest.papers, start=1)]
    chunks = split_blocks(sections, budget=10**9, max_blocks=PAPERS_PER_MESSAGE)
    messages: list[OutgoingMessage] = []
    for number, chunk in enumerate(chunks):
        blocks: list[dict[str, Any]] = []
        if number == 0:
            blocks.append({"type": "header", "text": {"type": "plain_text", "text": header}})
        for index in chunk.indices:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": sections[index]}})
            blocks.append({"type": "divider"})
        papers = [digest.papers[i].paper for i in chunk.indices]
        plain = "\n\n".join(f"{_one_line(p.title)} {p.abs_url}" for p in papers)
        if number == 0:
            plain = f"{header}\n\n{plain}"
        messages.append(
            OutgoingMessage(
                paper_ids=tuple(p.arxiv_id for p in papers),
                payload={"text": escape_mrkdwn(cut_text(plain, MAX_TEXT_CHARS)), "blocks": blocks},
                plain_text=plain,
            )
        )
    return messages


def render_reply(reply: Reply) -> dict[str, Any]:
    """A command's reply as one message body (text, escaped; long replies cut cleanly)."""
    return {"text": escape_mrkdwn(cut_text(reply.text, MAX_TEXT_CHARS * 4))}
