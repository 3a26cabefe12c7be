"""Digests and notices as email: multipart text + HTML, the HTML self-contained (inline styles, no image, no remote
content), and the headers that make a digest a list mail (List-Unsubscribe with RFC 8058 one-click)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from core.models import Digest
from core.render.chunks import cut_text
from core.render.html import summary_html
from core.render.plain import ABSTRACT_PREVIEW, paper_block
from core.render.view import PaperView, digest_view, plural

TEMPLATES = Environment(
    loader=PackageLoader("adapters", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058: the body a mail client POSTs to the List-Unsubscribe URL


@dataclass(frozen=True)
class PaperLinks:
    """The signed 👍/👎/🔖 links under one paper: the mail's stand-in for the chat buttons."""

    like: str
    dislike: str
    save: str

    def text_lines(self) -> str:
        """One link a line in the text part: the URLs are too long to share a line and stay clickable."""
        return f"   👍 Like: {self.like}\n   👎 Not for me: {self.dislike}\n   🔖 Save: {self.save}"


@dataclass(frozen=True)
class RecipientLinks:
    """The signed links one reader's mail carries: settings, unsubscribe, and each paper's (by arXiv id)."""

    settings: str
    unsubscribe: str
    papers: Mapping[str, PaperLinks] = field(default_factory=dict)


@dataclass(frozen=True)
class MailContent:
    """What a mail says, before it is addressed: subject, text part, and the HTML part (empty for text only)."""

    subject: str
    text: str
    html: str = ""


@dataclass(frozen=True)
class _MailPaper:
    view: PaperView
    summary_html: Markup | None
    abstract_preview: str
    links: PaperLinks | None


def digest_mail(digest: Digest, address: str, links: RecipientLinks) -> MailContent:
    """The whole digest in one mail: every paper's view, its summary (Markdown as safe HTML) or its abstract's start,
    and its 👍/👎/🔖 links."""
    view = digest_view(digest)
    papers = [
        _MailPaper(paper, Markup(summary_html(paper.summary)) if paper.summary else None, cut_text(paper.abstract, ABSTRACT_PREVIEW),
                   links.papers.get(paper.paper.arxiv_id))
        for paper in view.papers
    ]
    html = TEMPLATES.get_template("email_digest.html").render(view=view, papers=papers, address=address, links=links)
    footer = (
        f"You receive this digest because {address} subscribed to it.\n"
        f"Change keywords, time or frequency: {links.settings}\n"
        f"Unsubscribe: {links.unsubscribe}"
    )
    blocks = [paper_block(paper.view) + (f"\n{paper.links.text_lines()}" if paper.links else "") for paper in papers]
    text = "\n\n".join([f"{view.title}\n{view.selection}\nKeywords: {view.keywords}", *blocks, footer])
    return MailContent(f"{view.title}: {plural(len(view.papers), 'paper')}", text + "\n", html)


def confirmation_mail(address: str, confirm_url: str, keywords: str, hours: int) -> MailContent:
    """The double opt-in mail: nothing is sent to the address again unless its reader opens the link."""
    wanted = f" for the keywords: {keywords}" if keywords else ""
    text = (
        f"Someone, hopefully you, asked for the daily arXiv digest to be mailed to {address}{wanted}.\n\n"
        f"To confirm, open this link within {hours} hours:\n{confirm_url}\n\n"
        "If it was not you, ignore this mail: without the confirmation nothing more is sent.\n"
    )
    return MailContent("Confirm your arXiv digest subscription", text)


def compose(content: MailContent, sender: str, recipient: str, now: dt.datetime, unsubscribe_url: str = "") -> EmailMessage:
    """The message as sent: text part first, HTML alternative second; with `unsubscribe_url`, the list headers."""
    message = EmailMessage()
    message["Subject"] = content.subject
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_content(content.text)
    if content.html:
        message.add_alternative(content.html, subtype="html")
    return message
