"""The Markdown digest: the original README's shape, statistics, summaries, and escaping of hostile paper text."""
from __future__ import annotations

import dataclasses
import datetime as dt
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from core.config import SummarySettings
from core.render.markdown import CONTENTS_MIN_PAPERS, escape_inline, render_markdown, sanitize_summary
from core.render.view import FALLBACK_LABEL
from core.summaries.sanitize import sanitize_summary as summarizer_sanitize
from tests.fixtures.web.papers import fixture_papers, llm_summary, make_digest, scored

HOSTILE = (
    "### Injected heading\n</details>\n<script>alert(1)</script> [click](javascript:alert(2)) "
    "`tick | pipe |\n> quoted\n# top\n---\n1. listed\n- item\n<img src=x onerror=alert(3)>\n"
    "[ref]: javascript:alert(4)\n![pixel](https://tracker.example/p.png) ```"
)


class _Structure(HTMLParser):
    """Rendered HTML as the facts a reader sees: headings, open/close counts, scripts, link targets."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.depth = {"details": 0}
        self.max_details_depth = 0
        self.details_opened = 0
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self._heading: str | None = None
        self.text_by_heading: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._heading = tag
            self.headings.append((tag, ""))
        if tag == "details":
            self.details_opened += 1
            self.depth["details"] += 1
            self.max_details_depth = max(self.max_details_depth, self.depth["details"])
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "details":
            self.depth["details"] -= 1
        if tag == self._heading:
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            level, text = self.headings[-1]
            self.headings[-1] = (level, text + data)
        elif self.headings:
            key = self.headings[-1][1]
            self.text_by_heading[key] = self.text_by_heading.get(key, "") + data


def structure(markdown: str, *, trust_links: bool = False) -> _Structure:
    # html=True renders raw HTML as GitHub would let it through: the worst case for escaping;
    # trust_links turns off markdown-it's own script-link filter, as a less careful renderer would.
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    if trust_links:
        parser.validateLink = lambda url: True  # type: ignore[method-assign]
    rendered = parser.render(markdown)
    parsed = _Structure()
    parsed.feed(rendered)
    parsed.close()
    return parsed


@pytest.fixture
def papers():
    return fixture_papers()


def test_shape_follows_the_original_readme(papers) -> None:
    digest = make_digest([scored(papers[0], 11.0), scored(papers[1], 10.5, ("Segmentation", "Training"))])
    page = render_markdown(digest)
    assert page.startswith("# arXiv Papers Bot 🤖\n")
    for line in ("## 📊 Statistics", "- **Last Updated**: 2026-04-22 06:00:49 UTC", "- **Total Papers Found**: 2 (of 40 announced)",
                 "- **Categories Monitored**: cs.CV", "## 📚 Recent Papers", f"**ArXiv ID**: {papers[0].arxiv_id}v1  ",
                 "**Score**: 11.0  ", f"**Type**: {papers[0].announce_type}  ", f"**Category**: {papers[0].primary_category}  ", "**Announced**: 2026-04-22  ", "#### Abstract"):
        assert line in page.splitlines(), line
    assert "**Published**" not in page  # the same day as Announced: said once
    # two papers need no contents
    assert "Contents" not in page
    assert "<a name=" not in page
    assert f"### 1. [{escape_inline(papers[0].title)}](https://arxiv.org/abs/{papers[0].arxiv_id})" in page
    assert page.endswith("---\n\n*Generated automatically by arxiv-digest.*\n")
    seen = structure(page)
    assert [text for level, text in seen.headings if level == "h3"] == [f"1. {papers[0].title}", f"2. {papers[1].title}"]
    assert seen.details_opened == 0


def test_matched_keywords_say_where(papers) -> None:
    paper = dataclasses.replace(papers[0], title="Fast Training of Things", abstract="We study segmentation.")
    page = render_markdown(make_digest([scored(paper, 5.0, ("Training", "segmentation"))]))
    assert "**Matched**: Training (title); segmentation (abstract)  " in page


def test_summary_blocks_and_statistics(papers) -> None:
    first, second, third = papers[:3]
    summaries = {
        first.arxiv_id: llm_summary(first, "## 1. Contributions\n\n**Bold** claim, *table*:\n\n| a | b |\n|---|---|\n| 1 | 2 |"),
        second.arxiv_id: llm_summary(second, "First sentence. Second sentence.", fallback=True),
    }
    digest = make_digest([scored(first, 9.0), scored(second, 8.0), scored(third, 7.0)], summaries)
    prices = SummarySettings(price_per_million_prompt_tokens=2.0, price_per_million_completion_tokens=10.0)
    page = render_markdown(digest, summary_settings=prices)
    assert "<summary><strong>🤖 AI Summary (by qwen-long)</strong> - Click to expand</summary>" in page
    assert f"<summary><strong>{FALLBACK_LABEL}</strong> - Click to expand</summary>" in page
    assert "- **Summaries**: 2 (1 extractive, without an LLM)" in page
    assert "- **Summary Model**: qwen-long" in page
    assert "- **Tokens**: 1,200 prompt, 300 completion" in page
    # 1200 * 2 / 1e6 + 300 * 10 / 1e6
    assert "- **Estimated Cost**: 0.0054" in page
    seen = structure(page)
    assert seen.details_opened == 2
    assert seen.depth["details"] == 0
    assert seen.max_details_depth == 1
    assert "table" in seen.tags  # the summary's own Markdown still renders
    assert [level for level, _ in seen.headings].count("h3") == 3


def test_unicode_is_real_utf8(papers) -> None:
    paper = dataclasses.replace(papers[0], title="论文总结：通信高效的多模态边缘推理", authors=("Zoë Ångström", "李华"))
    summary = llm_summary(paper, "# 论文总结\n\n解决了什么问题")
    page = render_markdown(make_digest([scored(paper, 3.0)], {paper.arxiv_id: summary}))
    assert "论文总结：通信高效的多模态边缘推理" in page
    assert "Zoë Ångström, 李华" in page
    assert "**论文总结**" in page
    page.encode("utf-8")
    assert "è®º" not in page


@pytest.mark.parametrize("field", ["title", "abstract", "authors", "summary"])
def test_hostile_text_stays_inside_its_paper(papers, field: str) -> None:
    first, second = papers[:2]
    if field == "authors":
        first = dataclasses.replace(first, authors=(HOSTILE, "Ok Author"))
    elif field in ("title", "abstract"):
        first = dataclasses.replace(first, **{field: HOSTILE})
    summaries = {p.arxiv_id: llm_summary(p, HOSTILE if field == "summary" else "A calm summary.") for p in (first, second)}
    page = render_markdown(make_digest([scored(first, 9.0), scored(second, 8.0)], summaries))
    seen = structure(page)
    assert [level for level, _ in seen.headings] == ["h1", "h2", "h2", "h3", "h4", "h3", "h4"]
    assert seen.headings[-2] == ("h3", f"2. {second.title}")
    assert seen.details_opened == 2
    assert seen.depth["details"] == 0
    assert seen.max_details_depth == 1
    if field != "summary":
        assert not {"ol", "blockquote", "code", "table"} & set(seen.tags)
    assert "script" not in seen.tags
    assert "img" not in seen.tags
    assert all(href.startswith("https://") for href in seen.hrefs), seen.hrefs
    # The hostile words are still there for the reader, as text.
    visible = "".join(seen.text_by_heading.values()) + "".join(text for _, text in seen.headings)
    assert "<script>alert(1)</script>" in visible


def test_unclosed_fence_in_summary_cannot_swallow_the_page(papers) -> None:
    first, second = papers[:2]
    summaries = {first.arxiv_id: llm_summary(first, "Code:\n```python\nx = '<b>'\n")}
    seen = structure(render_markdown(make_digest([scored(first, 2.0), scored(second, 1.0)], summaries)))
    assert seen.headings[-2] == ("h3", f"2. {second.title}")
    assert "pre" in seen.tags
    assert "b" not in seen.tags


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2601.14942v1", "2601.14942v1"),
        ("a | b", "a \\| b"),
        ("x_i * y", "x\\_i \\* y"),
        ("AT&T <b>", "AT&amp;T &lt;b&gt;"),
        ("line\n\nbreaks   collapse", "line breaks collapse"),
    ],
)
def test_escape_inline(text: str, expected: str) -> None:
    assert escape_inline(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("1. Not a list", "1\\. Not a list"), ("- dash", "\\- dash"), ("=== x", "\\=== x")])
def test_escape_line_start(text: str, expected: str) -> None:
    assert escape_inline(text, starts_line=True) == expected


def test_sanitize_summary_keeps_safe_markdown() -> None:
    text = "**Result**: 2x faster, see [paper](https://arxiv.org/abs/1)\n\n- point\n\n> quote"
    assert sanitize_summary(text) == text


def test_abstract_cut_cleanly(papers) -> None:
    page = render_markdown(make_digest([scored(papers[0], 1.0)]), abstract_limit=120)
    abstract_line = page.split("#### Abstract\n", 1)[1].split("\n", 1)[0]
    assert abstract_line.endswith("…")
    assert len(abstract_line) < 140


def test_empty_day_says_so() -> None:
    page = render_markdown(make_digest([]))
    assert "No paper announced on 2026-04-22 matched the keywords." in page


HOSTILE_SUMMARY = (
    "## Results\n[a](&#106;avascript:alert(1)) [b](java&#x73;cript:alert(2)) [c](JaVaScRiPt:alert(3)) "
    "[d](<java\tscript:alert(4)>) [e](\njavascript:alert(5)) [f](javascript:a((6))) [g](./relative)\n\n"
    "[ref]: javascript:alert(7)\n[ref2]:\n  &#106;avascript:alert(8)\nsee [ref] and [ref2]\n\n"
    "[ok](https://arxiv.org/abs/2604.00001) [mail](mailto:a@example.org)\n\n"
    "```python\nx = 1\n~~~\n</details>\n## inside code\n"
)


@pytest.mark.parametrize("stored", ["raw", "summarizer"])
def test_hostile_summary_links_and_fences_on_the_page(papers, stored: str) -> None:
    first, second = papers[:2]
    text = HOSTILE_SUMMARY if stored == "raw" else summarizer_sanitize(HOSTILE_SUMMARY)
    summaries = {first.arxiv_id: llm_summary(first, text), second.arxiv_id: llm_summary(second, "A calm summary.")}
    page = render_markdown(make_digest([scored(first, 9.0), scored(second, 8.0)], summaries))
    for seen in (structure(page), structure(page, trust_links=True)):
        assert [level for level, _ in seen.headings] == ["h1", "h2", "h2", "h3", "h4", "h3", "h4"]
        assert seen.headings[-2] == ("h3", f"2. {second.title}")
        assert seen.details_opened == 2
        assert seen.depth["details"] == 0
        assert seen.max_details_depth == 1
        assert [href for href in seen.hrefs if not href.startswith(("https://", "http://", "mailto:"))] == []
        assert "https://arxiv.org/abs/2604.00001" in seen.hrefs
        assert "mailto:a@example.org" in seen.hrefs


@pytest.mark.parametrize(
    "hostile",
    [
        "Intro\n\n- item\n\n    # Injected in a list item",
        "> Injected in a quote\n> ===",
        "- Injected in a list\n\n      sub\n- x\n  ---",
        "Two dashes make a heading\n--",
        "1. item\n\n        ## deep",
    ],
)
@pytest.mark.parametrize("stored", ["raw", "summarizer"])
def test_summary_headings_inside_quotes_and_lists_stay_text(papers, hostile: str, stored: str) -> None:
    first, second = papers[:2]
    text = hostile if stored == "raw" else summarizer_sanitize(hostile)
    summaries = {first.arxiv_id: llm_summary(first, text), second.arxiv_id: llm_summary(second, "A calm summary.")}
    seen = structure(render_markdown(make_digest([scored(first, 9.0), scored(second, 8.0)], summaries)))
    assert [level for level, _ in seen.headings] == ["h1", "h2", "h2", "h3", "h4", "h3", "h4"]


def test_published_shows_when_it_differs_from_announced(papers) -> None:
    paper = dataclasses.replace(papers[0], published=dt.date(2026, 3, 2))
    page = render_markdown(make_digest([scored(paper, 3.0)]))
    assert "**Published**: 2026-03-02  " in page.splitlines()
    assert "**Announced**: 2026-04-22  " in page.splitlines()


def test_statistics_say_what_the_cap_left_out_and_every_rule(papers) -> None:
    digest = dataclasses.replace(
        make_digest([scored(paper, 3.0) for paper in papers[:2]]),
        considered=321, matched=158, excludes=("survey", "*_hostile|"), min_score=2.5, max_papers=2,
    )
    lines = render_markdown(digest).splitlines()
    for line in ("- **Total Papers Found**: 2 of 158 matching, of 321 announced", "- **Exclude Words**: survey, \\*\\_hostile\\|",
                 "- **Min Score**: 2.5", "- **Max Papers**: 2"):
        assert line in lines, line


class _Anchors(HTMLParser):
    """Where the rendered page's fragment links point, and which anchors exist inside which headings."""

    def __init__(self) -> None:
        super().__init__()
        self.fragment_links: list[str] = []
        self.named_in_heading: dict[str, str] = {}
        self._heading = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("h2", "h3"):
            self._heading = tag
        if tag == "a" and (values.get("href") or "").startswith("#"):
            self.fragment_links.append(values["href"][1:])
        if tag == "a" and values.get("name"):
            self.named_in_heading[values["name"]] = self._heading

    def handle_endtag(self, tag: str) -> None:
        if tag == self._heading:
            self._heading = ""


def test_long_digest_has_contents_linking_to_each_paper(papers) -> None:
    chosen = [dataclasses.replace(papers[0], title=HOSTILE)] + papers[1:30]
    page = render_markdown(make_digest([scored(paper, 30.0 - index) for index, paper in enumerate(chosen)]))
    html = MarkdownIt("commonmark", {"html": True}).render(page)
    anchors = _Anchors()
    anchors.feed(html)
    assert anchors.fragment_links == [f"paper-{n}" for n in range(1, 31)]
    assert anchors.named_in_heading == {f"paper-{n}": "h3" for n in range(1, 31)}  # each target is its paper's heading
    assert f"<li><a href=\"#paper-2\">{chosen[1].title}</a> (29.0)</li>" in html
    seen = structure(page)
    assert [text for level, text in seen.headings if level == "h2"] == ["📊 Statistics", "📑 Contents", "📚 Recent Papers"]
    assert [level for level, _ in seen.headings].count("h3") == 30  # the hostile title opened nothing
    assert "script" not in seen.tags
    assert "img" not in seen.tags


def test_contents_start_at_the_limit(papers) -> None:
    below = render_markdown(make_digest([scored(paper, 1.0) for paper in papers[: CONTENTS_MIN_PAPERS - 1]]))
    at = render_markdown(make_digest([scored(paper, 1.0) for paper in papers[:CONTENTS_MIN_PAPERS]]))
    assert "## 📑 Contents" not in below
    assert "## 📑 Contents" in at
