"""Slack Block Kit rendering of digests and replies, within Slack's limits and with mrkdwn escaped."""
from __future__ import annotations

from typing import Any

from adapters.base import MessageKind, OutgoingMessage, feedback_data, save_data
from core.models import Digest, Reply
from core.render.chunks import cut_text, split_blocks
from core.render.view import PaperView, digest_view

MAX_BLOCKS_PER_MESSAGE = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_TEXT_CHARS = 3000  # the notification `text` fallback; Slack truncates long ones anyway
MAX_CONTEXT_CHARS = 2000  # one text element of a context block
MAX_CONTEXT_RAW_CHARS = MAX_CONTEXT_CHARS // len("&amp;")  # escaping grows a character at most to five
BLOCKS_PER_PAPER = 2  # a section and its row of 👍/👎/🔖 buttons
PAPERS_PER_MESSAGE = (MAX_BLOCKS_PER_MESSAGE - 1) // BLOCKS_PER_PAPER
EXCERPT_CHARS = 600
MAX_TITLE_CHARS = 300
FEEDBACK_BLOCK_PREFIX = "feedback-"


def escape_mrkdwn(text: str) -> str:
    """Slack needs only & < > escaped; everything else is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    # `|` ends the URL part of a link, so it cannot appear in the label.
    return f"<{url}|{escape_mrkdwn(label).replace('|', '¦')}>"


def paper_section_text(view: PaperView) -> str:
    paper = view.paper
    head = f"*{view.position}. {_link(paper.abs_url, cut_text(view.title, MAX_TITLE_CHARS))}*"
    facts = [escape_mrkdwn(view.short_authors), f"{escape_mrkdwn(' · '.join(view.facts))} · `{paper.versioned_id}`"]
    if view.reasons:
        facts.append("matched: " + escape_mrkdwn(view.reasons))
    if view.summary is not None:
        facts.append(f"_{escape_mrkdwn(view.summary_label)}_")
        raw_body = view.summary.text
    else:
        raw_body = cut_text(view.abstract, EXCERPT_CHARS)
    fixed = "\n".join([head, *facts]) + "\n"
    # Cut the raw text, then escape: cutting escaped text could split an entity such as &amp;.
    room = MAX_SECTION_CHARS - len(fixed)
    cut_at = room
    body = escape_mrkdwn(raw_body)
    while len(body) > room and cut_at > 1:
        cut_at = max(1, cut_at - (len(body) - room))
        body = escape_mrkdwn(cut_text(raw_body, cut_at))
    return fixed + body


def feedback_block(view: PaperView) -> dict[str, Any]:
    """👍/👎/🔖 buttons under a paper; a press comes back as a block_actions payload carrying the button's value."""
    actions = [(f"feedback{vote:+d}", feedback_data(view.arxiv_id, vote), label) for vote, label in ((+1, "👍"), (-1, "👎"))]
    actions.append(("save", save_data(view.arxiv_id), "🔖"))
    buttons = [
        {"type": "button", "action_id": action_id, "value": value,
         "text": {"type": "plain_text", "text": f"{view.position} {label}", "emoji": True}}
        for action_id, value, label in actions
    ]
    return {"type": "actions", "block_id": f"{FEEDBACK_BLOCK_PREFIX}{view.position}", "elements": buttons}


def render_digest_messages(digest: Digest) -> list[OutgoingMessage]:
    """A header block, then one section + buttons per paper, split at paper boundaries under 50 blocks."""
    view = digest_view(digest)
    header = cut_text(view.title, MAX_HEADER_CHARS)
    intro = f"{view.selection} Keywords: {view.keywords}"
    if not view.papers:
        text = f"{header}\n{intro}"
        blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(text)}}]
        return [OutgoingMessage((), {"text": escape_mrkdwn(text), "blocks": blocks}, text, MessageKind.HEADER)]
    sections = [paper_section_text(paper) for paper in view.papers]
    chunks = split_blocks(sections, budget=10**9, max_blocks=PAPERS_PER_MESSAGE)
    messages: list[OutgoingMessage] = []
    for number, chunk in enumerate(chunks):
        blocks = []
        if number == 0:
            blocks.append({"type": "header", "text": {"type": "plain_text", "text": header}})
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape_mrkdwn(cut_text(intro, MAX_CONTEXT_RAW_CHARS))}]})
        for index in chunk.indices:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": sections[index]}})
            blocks.append(feedback_block(view.papers[index]))
        papers = [view.papers[i] for i in chunk.indices]
        plain = "\n\n".join(f"{paper.title} {paper.paper.abs_url}" for paper in papers)
        if number == 0:
            plain = f"{header}\n{intro}\n\n{plain}"
        messages.append(
            OutgoingMessage(
                paper_ids=tuple(paper.arxiv_id for paper in papers),
                payload={"text": escape_mrkdwn(cut_text(plain, MAX_TEXT_CHARS)), "blocks": blocks},
                plain_text=plain,
                kind=MessageKind.PAPERS,
            )
        )
    return messages


def render_reply(reply: Reply) -> dict[str, Any]:
    """A command's reply as one message body (text, escaped; long replies cut cleanly)."""
    return {"text": escape_mrkdwn(cut_text(reply.text, MAX_TEXT_CHARS * 4))}
