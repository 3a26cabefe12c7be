"""The digest page in a real browser (headless Chromium over loopback): what a reader sees, plus a screenshot artifact."""
from __future__ import annotations

import asyncio
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.web import create_app
from tests.fakes.server import serve_asgi
from tests.fixtures.web.site import Site
from tests.test_web import HOSTILE_TITLE, add_hostile_day

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
BROWSER_SECONDS = 60

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium; .ci/run does it)"),
]


class VisibleText(HTMLParser):
    """Text a reader sees (outside head, script and style), and the elements the DOM ended up with."""

    HIDDEN = {"head", "script", "style", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.hidden_depth = 0
        self.chunks: list[str] = []
        self.elements: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(tag)
        if tag in self.HIDDEN:
            self.hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden_depth and data.strip():
            self.chunks.append(" ".join(data.split()))

    @property
    def text(self) -> str:
        return " ".join(self.chunks)


async def browse(url: str, profile: Path, screenshot: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", "--window-size=1200,1600", f"--user-data-dir={profile}",
        f"--screenshot={screenshot}", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        dom, errors = await asyncio.wait_for(process.communicate(), BROWSER_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, errors.decode(errors="replace")[-2000:]
    return dom.decode()


async def test_digest_page_reads_right_in_chromium(site: Site, tmp_path: Path) -> None:
    hostile = add_hostile_day(site)
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "web-digest.png"
    screenshot.unlink(missing_ok=True)
    async with serve_asgi(create_app(site.store, site.settings)) as base_url:
        latest = await browse(base_url + "/", tmp_path / "profile", screenshot)
        archived = await browse(f"{base_url}/day/{site.digest.announcement_day.isoformat()}", tmp_path / "profile", ARTIFACTS / "web-digest-day.png")
    seen = VisibleText()
    seen.feed(latest)
    # The hostile title is shown as text, and the browser built no element from it.
    assert HOSTILE_TITLE in seen.text
    assert "script" not in seen.elements
    assert "img" not in seen.elements
    assert f"arXiv {hostile.versioned_id}" in seen.text
    assert "<title>arXiv digest: 2026-09-25</title>" in latest  # not rewritten by any injected script
    day = VisibleText()
    day.feed(archived)
    assert f"Papers announced on {site.digest.announcement_day.isoformat()}" in day.text
    for scored in site.digest.papers:
        assert " ".join(scored.paper.title.split()) in day.text
    assert day.elements.count("details") == min(site.settings.summaries.top_n, len(site.digest.papers))
    assert "2x speed-up" in day.text  # summaries are in the DOM (inside closed <details>)
    assert screenshot.exists()
    assert screenshot.stat().st_size > 10_000


MATH_TITLE = r"Segmentation tokens at $3\sim 6\times$ the speed with 2.6\% less memory"
MATH_ABSTRACT = (  # from a real cs.CV abstract of 2026-04-22 (tests/fixtures/web/cs_cv_2026-04-22.json), plus a formula
    r"Existing approaches rely on a single segmentation token $\texttt{<SEG>}$, achieving approximately "
    r"3$\times$ lower correspondence error at $\mathcal{O}(n^2)$ cost. Broken TeX stays readable: $\begin{foo}$."
)


async def test_maths_in_titles_and_abstracts_render_as_mathml_in_chromium(site: Site, tmp_path: Path) -> None:
    import datetime as dt

    from core.models import Paper

    day = dt.date(2026, 9, 28)
    paper = Paper(
        arxiv_id="2609.77777", version=1, title=MATH_TITLE, authors=("Ada Lovelace",), abstract=MATH_ABSTRACT,
        categories=("cs.CV",), primary_category="cs.CV", announce_type="new", announced=day, published=day,
    )
    site.store.papers.store_announcement(day, [paper])
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "web-math.png"
    screenshot.unlink(missing_ok=True)
    async with serve_asgi(create_app(site.store, site.settings)) as base_url:
        dom = await browse(base_url + "/", tmp_path / "profile", screenshot)
    seen = VisibleText()
    seen.feed(dom)
    assert seen.elements.count("math") == 4  # title: 1; abstract: \texttt, \times, \mathcal; the broken one is not maths
    assert {"msup", "mtext", "mo"} <= set(seen.elements)
    assert "seg" not in seen.elements
    assert "script" not in seen.elements
    shown = VisibleText()  # the title and abstract only (the extractive summary below quotes the abstract as text)
    shown.feed(dom[dom.index("<h2>1. ") : dom.index("<details>")])
    assert r"\sim" not in shown.text
    assert r"\times" not in shown.text
    assert "2.6% less memory" in shown.text
    assert "<SEG>" in shown.text  # \texttt's text, shown as text
    assert r"$\begin{foo}$" in shown.text  # what does not convert is shown as the raw TeX
    assert "Summaries: 1" in seen.text  # the extractive summary the Markdown digest would show too
    assert screenshot.exists()
    assert screenshot.stat().st_size > 10_000
