"""Safe HTML fragments of a paper and its summary, shared by the feeds and the web pages."""
from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt

from core.models import Summary
from core.render.view import PaperView

# No raw HTML, no images (they would let a summary track its readers), and no headings: the page's
# headings belong to the papers. markdown-it's default link check already refuses javascript:,
# vbscript:, file: and most data: targets.
_SUMMARY_MARKDOWN = (
    MarkdownIt("commonmark", {"html": False, "typographer": False})
    .enable("table")
    .disable(["heading", "lheading", "image"])
)


def summary_html(summary: Summary) -> str:
    """The summary's Markdown rendered to HTML that cannot carry markup of its own."""
    return _SUMMARY_MARKDOWN.render(summary.text)


def paper_html(view: PaperView) -> str:
    """A feed entry's body: metadata, abstract, and the summary under its label."""
    paper = view.paper
    facts = [
        ("Authors", view.authors),
        ("Categories", ", ".join(paper.categories)),
        ("Type", paper.announce_type),
        ("Score", view.score),
        ("Matched", view.reasons),
        ("arXiv", paper.versioned_id),
    ]
    parts = [
        "<p>" + "<br/>".join(f"<b>{label}:</b> {escape(value)}" for label, value in facts if value) + "</p>",
        f"<p>{escape(view.abstract)}</p>",
    ]
    if view.summary is not None:
        parts.append(f"<h4>{escape(view.summary_label)}</h4>")
        parts.append(summary_html(view.summary))
    return "\n".join(parts)
