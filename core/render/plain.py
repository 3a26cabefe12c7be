"""A paper of a digest as plain text: the console prints it, an email's text part carries it."""
from __future__ import annotations

from core.render.chunks import cut_text
from core.render.view import PaperView

ABSTRACT_PREVIEW = 300  # characters of the abstract shown when a paper has no summary


def paper_block(view: PaperView) -> str:
    """Number and title, authors, facts and why it was picked, the link, then the summary (or the abstract's start)."""
    facts = " · ".join(view.facts)
    lines = [
        f"{view.position}. {view.title}",
        f"   {view.short_authors}",
        f"   {facts}" + (f" · matched: {view.reasons}" if view.reasons else ""),
        f"   {view.paper.abs_url}",
    ]
    if view.summary is not None:
        lines.append(f"   {view.summary_label}:")
        lines.extend(f"   {line}" for line in view.summary.text.strip().splitlines() if line.strip())
    else:
        lines.append(f"   {cut_text(view.abstract, ABSTRACT_PREVIEW)}")
    return "\n".join(lines)
