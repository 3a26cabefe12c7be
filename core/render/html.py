"""Safe HTML fragments of a paper and its summary, shared by the feeds and the web pages."""
from __future__ import annotations

from html import escape

from markdown_it import MarkdownIt

from core.models import ScoredPaper, Summary
from core.render.markdown import summary_label

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


def matched_terms_text(scored: ScoredPaper) -> str:
    """"LLM (title), inference (abstract)": why the paper was picked, as plain text."""
    described = []
    for match in scored.matches:
        where = [place for place, found in (("title", match.in_title), ("abstract", match.in_abstract)) if found]
        described.append(f"{match.term} ({', '.join(where)})" if where else match.term)
    return "; ".join(described)


def paper_html(scored: ScoredPaper, summary: Summary | None) -> str:
    """A feed entry's body: metadata, abstract, and the summary under its label."""
    paper = scored.paper
    facts = [
        ("Authors", ", ".join(paper.authors)),
        ("Categories", ", ".join(paper.categories)),
        ("Type", paper.announce_type),
        ("Score", f"{scored.score:.1f}"),
        ("Matched", matched_terms_text(scored)),
        ("arXiv", paper.versioned_id),
    ]
    parts = [
        "<p>" + "<br/>".join(f"<b>{label}:</b> {escape(value)}" for label, value in facts if value) + "</p>",
        f"<p>{escape(' '.join(paper.abstract.split()))}</p>",
    ]
    if summary is not None:
        parts.append(f"<h4>{escape(summary_label(summary))}</h4>")
        parts.append(summary_html(summary))
    return "\n".join(parts)
