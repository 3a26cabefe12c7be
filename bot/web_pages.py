"""Server-rendered HTML pages (Jinja2 with autoescaping): the digest of a day, its archive, and error pages."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from core.config import Settings
from core.models import Digest, ScoredPaper
from core.render.html import matched_terms_text, summary_html
from core.render.markdown import summary_label
from core.render.math_html import text_with_math_html

SITE_TITLE = "arXiv digest"


@dataclass(frozen=True)
class PaperView:
    """One paper as the page shows it; every field but summary_html is plain text (the template escapes it)."""

    position: int
    scored: ScoredPaper
    matched: str
    summary_label: str
    summary_html: Markup | None


class PageRenderer:
    """Renders the templates in bot/templates; autoescaping is on for every template."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = Environment(
            loader=PackageLoader("bot", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # Titles and abstracts: TeX maths as MathML; text_with_math_html escapes everything else.
        self.env.filters["with_math"] = lambda text: Markup(text_with_math_html(text))

    def digest_page(self, digest: Digest | None, days: Sequence[dt.date]) -> str:
        papers = [] if digest is None else [self._paper_view(i, s, digest) for i, s in enumerate(digest.papers, 1)]
        return self.env.get_template("digest.html").render(
            site_title=SITE_TITLE, digest=digest, papers=papers, days=days
        )

    def error_page(self, status: int, title: str, message: str) -> str:
        return self.env.get_template("error.html").render(site_title=SITE_TITLE, status=status, title=title, message=message)

    @staticmethod
    def _paper_view(position: int, scored: ScoredPaper, digest: Digest) -> PaperView:
        summary = digest.summary_for(scored.paper)
        return PaperView(
            position=position,
            scored=scored,
            matched=matched_terms_text(scored),
            summary_label=summary_label(summary) if summary else "",
            # summary_html escapes all markup the summary could carry, so it may be marked safe.
            summary_html=Markup(summary_html(summary)) if summary else None,
        )
