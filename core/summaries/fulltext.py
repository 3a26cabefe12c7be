"""A paper's full text for the prompt: arXiv's HTML rendering, else the PDF via pypdf, cached on disk, cut to a token budget."""
from __future__ import annotations

import asyncio
import io
import logging
import re
from pathlib import Path

from core.arxiv.errors import ArxivError, ArxivRejected
from core.arxiv.http import PoliteHttp
from core.config import SummarySettings
from core.models import Paper

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 4  # a rough average for English prose; CJK counts one token per character
MIN_FULLTEXT_CHARS = 1500  # less than this is a stub page or a scanned PDF, not a paper
MAX_STORED_CHARS = 400_000  # a long paper is ~150k characters; what we never send is not worth storing
MISSING_MARK = ".missing"  # cached when arXiv has neither HTML nor a readable PDF
CUT_MARK = "\n\n[…]"

_DROPPED_HTML = (
    "script", "style", "nav", "header", "footer", "noscript", "svg",
    ".ltx_bibliography", ".ltx_page_footer", ".ltx_page_navbar", ".ltx_authors", ".ltx_dates", ".ltx_tag_bibitem",
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_REFERENCES = re.compile(r"^\s*(?:\d+\.?\s*)?(?:references|bibliography)\s*$", re.IGNORECASE | re.MULTILINE)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9.-]")


def estimate_tokens(text: str) -> int:
    cjk = len(_CJK.findall(text))
    return cjk + (len(text) - cjk) // CHARS_PER_TOKEN


def cut_to_budget(text: str, max_tokens: int) -> str:
    """The text if it fits the budget, else its beginning up to a paragraph (or sentence) end, marked as cut."""
    if estimate_tokens(text) <= max_tokens:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix within budget; CJK makes characters per token vary
        middle = (low + high + 1) // 2
        if estimate_tokens(text[:middle]) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    prefix = text[:low]
    for boundary in ("\n\n", ". ", "\n"):
        end = prefix.rfind(boundary)
        if end > low // 2:
            return prefix[: end + (1 if boundary == ". " else 0)].rstrip() + CUT_MARK
    return prefix.rstrip() + CUT_MARK


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _without_references(text: str) -> str:
    """Drop a trailing reference list: it costs tokens and says nothing about the paper's content."""
    marks = [match.start() for match in _REFERENCES.finditer(text) if match.start() > len(text) // 2]
    return text[: marks[-1]].rstrip() if marks else text


def text_from_html(body: bytes) -> str:
    """Readable text of an arXiv (LaTeXML) HTML paper: formulas as their TeX, no navigation or bibliography."""
    from bs4 import BeautifulSoup  # imported here: only full-text summaries parse HTML

    soup = BeautifulSoup(body, "lxml")
    root = soup.find("article") or soup.body or soup
    for selector in _DROPPED_HTML:
        for element in root.select(selector):
            element.decompose()
    for formula in root.find_all("math"):
        alttext = formula.get("alttext")
        formula.replace_with(f" {alttext.strip() if isinstance(alttext, str) else ''} ")
    for cell in root.find_all(["td", "th"]):
        cell.insert_after(" ")
    for block in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "figcaption", "div", "tr"]):
        block.insert_before("\n")
        block.insert_after("\n")
    return _without_references(_tidy(root.get_text()))


def text_from_pdf(body: bytes) -> str:
    """Text of every page of a PDF, in page order (raises ValueError for a broken file)."""
    import pypdf  # imported here: only full-text summaries read PDFs
    from pypdf.errors import PyPdfError

    try:
        reader = pypdf.PdfReader(io.BytesIO(body))
        pages = [page.extract_text() or "" for page in reader.pages]
    except PyPdfError as exc:
        raise ValueError(f"unreadable PDF: {exc}") from exc
    return _without_references(_tidy("\n\n".join(pages)))


class FullTextSource:
    """Fetches full texts one at a time per host (PoliteHttp) and keeps the extracted text under settings.cache_dir."""

    def __init__(self, settings: SummarySettings, http: PoliteHttp) -> None:
        self.settings = settings
        self.http = http
        self.cache_dir = Path(settings.cache_dir)
        self.downloads = 0

    def _cache_path(self, paper: Paper, suffix: str) -> Path:
        return self.cache_dir / f"{_SAFE_NAME.sub('_', paper.versioned_id)}{suffix}"

    async def text_for(self, paper: Paper) -> str | None:
        """The paper's full text within the token budget, or None when arXiv has none we can read."""
        cached, missing = self._cache_path(paper, ".txt"), self._cache_path(paper, MISSING_MARK)
        if cached.exists():
            text: str | None = cached.read_text(encoding="utf-8")
        elif missing.exists():
            return None
        else:
            text, permanent = await self._download(paper)
            self._remember(cached if text else missing, text, permanent)
        return cut_to_budget(text, self.settings.fulltext_token_budget) if text else None

    def _remember(self, path: Path, text: str | None, permanent: bool) -> None:
        if text is None and not permanent:
            return  # a network failure: try again next time
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text((text or "")[:MAX_STORED_CHARS], encoding="utf-8")
        except OSError as exc:
            log.warning("cannot cache full text in %s: %s", path.parent, exc)

    async def _download(self, paper: Paper) -> tuple[str | None, bool]:
        """(text, whether a miss is permanent): HTML first, then the PDF."""
        permanent = True
        for kind, template, extract in (
            ("HTML", self.settings.fulltext_html_url, text_from_html),
            ("PDF", self.settings.fulltext_pdf_url, text_from_pdf),
        ):
            url = template.format(id=paper.versioned_id)
            try:
                body = await self.http.get(url)
                self.downloads += 1
                text = await asyncio.to_thread(extract, body)
            except ArxivRejected as exc:
                log.info("no %s full text for %s (HTTP %d)", kind, paper.versioned_id, exc.status)
                continue
            except ArxivError as exc:
                log.warning("cannot download the %s of %s: %s", kind, paper.versioned_id, exc)
                permanent = False
                continue
            except ValueError as exc:
                log.warning("cannot read the %s of %s: %s", kind, paper.versioned_id, exc)
                continue
            if len(text) >= MIN_FULLTEXT_CHARS:
                return text, True
            log.info("the %s of %s holds too little text (%d characters)", kind, paper.versioned_id, len(text))
        return None, permanent
