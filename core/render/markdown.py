"""The Markdown digest (the original bot's README shape), with escaping that keeps paper text inside its paper."""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from urllib.parse import quote

from core.config import SummarySettings
from core.models import Digest
from core.render.chunks import cut_text
from core.render.view import DigestView, PaperView, digest_view, matched_terms_text
from core.summaries.sanitize import (
    disarm_link_definitions,
    disarm_setext_or_rule,
    drop_unsafe_link_targets,
    heading_as_bold,
    split_code_fences,
)
from core.summarize import summary_cost

DEFAULT_TITLE = "arXiv Papers Bot 🤖"
INTRO = "This page lists the day's arXiv papers that match the configured categories and keywords."
FOOTER = "*Generated automatically by arxiv-digest.*"
CONTENTS_MIN_PAPERS = 10  # from this many papers on, the page starts with a linked list of their titles

# Inline text: every character CommonMark/GFM gives a meaning inside a line is backslash-escaped,
# and the three HTML characters become entities, so no tag, link, emphasis or table cell can start.
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]{}()|~!#])")
_HTML_CHARS = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# What would still open a block at the start of a line once the above is escaped: a list item,
# a thematic break or a setext underline ("- ", "+ ", "1. ", "---", "===").
_BLOCK_START = re.compile(r"^(?:([-+=])|(\d{1,9})\.)")

_IMAGE = re.compile(r"!\[")


def escape_inline(text: str, *, starts_line: bool = False) -> str:
    """Paper text (title, authors, abstract) as one safe Markdown line: whitespace collapsed, syntax escaped.

    With starts_line, also disarm what only means something at the start of a line ("1. ", "- ").
    """
    line = " ".join(text.split())
    line = "".join(_HTML_CHARS.get(char, char) for char in line)
    line = _INLINE_SPECIAL.sub(r"\\\1", line)
    if not starts_line:
        return line
    return _BLOCK_START.sub(lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\.", line)


def _escape_html(text: str) -> str:
    return "".join(_HTML_CHARS.get(char, char) for char in text)


def _sanitize_summary_line(line: str) -> str:
    line = line.replace("<", "&lt;")
    # A line of = or - under text would turn that text into a heading, also inside a quote or list item.
    line = heading_as_bold(line) or disarm_setext_or_rule(line) or line
    return _IMAGE.sub(r"!\\[", drop_unsafe_link_targets(line))


def sanitize_summary(text: str) -> str:
    """Any stored summary as Markdown that cannot escape its `<details>` block.

    Raw HTML is escaped, headings become bold lines (the page's headings belong to the papers),
    links and reference definitions keep only http(s)/mailto targets, images are disarmed, and
    fenced code becomes an escaped `<pre>` block that always closes, so an unbalanced fence
    cannot swallow the rest of the page. The fence, heading and link rules are the summarizer's
    (core.summaries.sanitize); this adds what only a page needs.
    """
    out: list[str] = []
    for block in split_code_fences(text.replace("\r\n", "\n").replace("\r", "\n")):
        if block.fence:
            out.append(_pre_block(block.lines))
        else:
            out.append(disarm_link_definitions("\n".join(_sanitize_summary_line(line) for line in block.lines)))
    return "\n".join(out).strip("\n")


def _pre_block(code_lines: Sequence[str]) -> str:
    body = "\n".join(html.escape(line, quote=False) for line in code_lines)
    return f"<pre><code>{body}</code></pre>"


def _statistics(view: DigestView, summary_settings: SummarySettings | None) -> list[str]:
    digest = view.digest
    lines = [
        "## 📊 Statistics",
        "",
        f"- **Last Updated**: {digest.generated_at.strftime('%Y-%m-%d %H:%M:%S %Z').strip()}",
        f"- **Announcement Day**: {digest.announcement_day.isoformat()}",
        f"- **Total Papers Found**: {view.found}",
        f"- **Categories Monitored**: {escape_inline(', '.join(digest.categories)) or 'all'}",
        f"- **Keywords**: {escape_inline(', '.join(k.term for k in digest.keywords)) or 'none'}",
        f"- **Exclude Words**: {escape_inline(', '.join(digest.excludes)) or 'none'}",
        f"- **Min Score**: {digest.min_score:g}",
    ]
    if digest.max_papers is not None:
        lines.append(f"- **Max Papers**: {digest.max_papers}")
    shown = [paper.summary for paper in view.papers if paper.summary is not None]
    llm = [s for s in shown if not s.is_fallback]
    if shown:
        models = sorted({s.model for s in llm})
        lines.append(f"- **Summaries**: {len(shown)} ({len(shown) - len(llm)} extractive, without an LLM)")
    if llm:
        lines.append(f"- **Summary Model**: {escape_inline(', '.join(models))}")
        lines.append(
            f"- **Tokens**: {sum(s.prompt_tokens for s in llm):,} prompt, "
            f"{sum(s.completion_tokens for s in llm):,} completion"
        )
        if summary_settings is not None:
            lines.append(f"- **Estimated Cost**: {summary_cost(llm, summary_settings):.4f}")
    return lines


def paper_anchor(position: int) -> str:
    """The id a contents entry links to: an explicit <a name> (GitHub keeps it, prefixed, and resolves
    #paper-N to it), since heading slugs derived from TeX and Unicode titles differ between renderers."""
    return f"paper-{position}"


def _contents(papers: Sequence[PaperView]) -> str:
    lines = ["## 📑 Contents", ""]
    lines += [f"{view.position}. [{escape_inline(view.title)}](#{paper_anchor(view.position)}) ({view.score})" for view in papers]
    return "\n".join(lines)


def render_paper(view: PaperView, abstract_limit: int | None = None, *, anchored: bool = False) -> str:
    """One paper's section: heading with link, metadata lines, abstract, matches, optional summary.

    With `anchored`, the heading carries the anchor the page's contents link to.
    """
    paper = view.paper
    url = f"https://arxiv.org/abs/{quote(paper.arxiv_id, safe='/.-')}"
    abstract = paper.abstract if abstract_limit is None else cut_text(view.abstract, abstract_limit)
    announced = paper.announced.isoformat() if paper.announced else "unknown"
    published = paper.published.isoformat() if paper.published else announced
    anchor = f'<a name="{paper_anchor(view.position)}"></a>' if anchored else ""
    # Two trailing spaces end each metadata line with a hard break, as in the original page.
    lines = [
        f"### {anchor}{view.position}. [{escape_inline(paper.title)}]({url})",
        "",
        f"**Authors**: {escape_inline(view.authors) or 'unknown'}  ",
        f"**Category**: {escape_inline(paper.primary_category)}  ",
        *([f"**Published**: {published}  "] if published != announced else []),
        f"**Announced**: {announced}  ",
        f"**Score**: {view.score}  ",
        f"**Type**: {escape_inline(paper.announce_type)}  ",
        f"**ArXiv ID**: {escape_inline(paper.versioned_id)}  ",
    ]
    if view.matched:
        lines.append(f"**Matched**: {matched_terms_text(view.scored, escape_inline)}  ")
    if view.followed_authors:
        lines.append(f"**Followed authors**: {escape_inline(view.followed_authors)}  ")
    if view.related:
        lines.append(f"**Found as**: {escape_inline(view.reasons)}  ")
    lines += ["", "#### Abstract", escape_inline(abstract, starts_line=True) or "(no abstract)"]
    if view.summary is not None:
        lines += [
            "",
            "<details>",
            f"<summary><strong>{_escape_html(view.summary_label)}</strong> - Click to expand</summary>",
            "",
            sanitize_summary(view.summary.text),
            "",
            "</details>",
        ]
    return "\n".join(lines)


def render_markdown(
    digest: Digest,
    *,
    title: str = DEFAULT_TITLE,
    summary_settings: SummarySettings | None = None,
    abstract_limit: int | None = None,
) -> str:
    """The whole page: title, statistics, contents (for CONTENTS_MIN_PAPERS or more), then the numbered
    papers separated by rules."""
    view = digest_view(digest)
    parts = ["\n".join([f"# {escape_inline(title)}", "", INTRO, "", *_statistics(view, summary_settings)])]
    anchored = len(view.papers) >= CONTENTS_MIN_PAPERS
    if anchored:
        parts.append(_contents(view.papers))
    parts.append("## 📚 Recent Papers")
    if not digest.papers:
        parts.append(f"No paper announced on {digest.announcement_day.isoformat()} matched the keywords.")
    for paper in view.papers:
        parts.append(render_paper(paper, abstract_limit, anchored=anchored))
        parts.append("---")
    parts.append(FOOTER)
    return "\n\n".join(parts) + "\n"
