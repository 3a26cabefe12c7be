"""Server-rendered HTML pages (Jinja2 with autoescaping): the digest of a day, its archive, and error pages."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from core.config import Settings
from core.models import Digest
from core.render.html import summary_html
from core.render.math_html import text_with_math_html
from core.render.view import PaperView, digest_view

SITE_TITLE = "arXiv digest"


@dataclass(frozen=True)
class PagePaper:
    """A paper's view and its summary as safe HTML (the template escapes everything else)."""

    view: PaperView
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
        view = None if digest is None else digest_view(digest)
        # summary_html escapes all markup a summary could carry, so it may be marked safe.
        papers = [] if view is None else [
            PagePaper(paper, Markup(summary_html(paper.summary)) if paper.summary else None) for paper in view.papers
        ]
        return self.env.get_template("digest.html").render(
            site_title=SITE_TITLE, digest=view, papers=papers, days=days
        )

    def error_page(self, status: int, title: str, message: str) -> str:
        return self.env.get_template("error.html").render(site_title=SITE_TITLE, status=status, title=title, message=message)
