"""What a digest and each of its papers show, decided once: every renderer (chat platforms, console, Markdown,
web page, feeds) only formats these views, in its own markup and within its own limits."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from core.models import KEYWORD, LEARNED, PHRASE_WORD, Digest, Keyword, Paper, ScoredPaper, Summary

SHOWN_AUTHORS = 3  # a chat message names this many authors (plus followed ones) before "et al."
FALLBACK_LABEL = "📝 Extractive summary (no LLM)"
RELATED_LABEL = "related"  # picked by words of its phrases or learned from feedback, not by a whole keyword
NO_KEYWORDS = "(none yet: subscribe llm)"


def one_line(text: str) -> str:
    """Text with every run of whitespace (newlines included) as one space."""
    return " ".join(text.split())


def plural(count: int, noun: str) -> str:
    """ "1 paper", "2 papers": the count and the noun in agreement."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def format_score(score: float) -> str:
    """A score as readers see it; one decimal from 1 up, two significant digits below (a similarity such as 0.83)."""
    return f"{score:.1f}" if abs(score) >= 1 else f"{score:.2g}"


def shorten_authors(authors: tuple[str, ...], followed: tuple[str, ...] = ()) -> str:
    """The first few authors, any followed author beyond them, and how many there are in all."""
    if len(authors) <= SHOWN_AUTHORS + 1:
        return ", ".join(authors)
    shown = list(authors[:SHOWN_AUTHORS])
    shown += [name for name in followed if name in authors and name not in shown]
    return f"{', '.join(shown)} et al. ({len(authors)} authors)"


def kind_label(paper: Paper) -> str:
    """What kind of announcement it is, when not a new paper: "cross-list", "updated v3", "updated cross-list v3"."""
    if paper.announce_type == "cross":
        return "cross-list"
    if paper.announce_type == "replace":
        return f"updated v{paper.version}"
    if paper.announce_type == "replace-cross":
        return f"updated cross-list v{paper.version}"
    return ""


def summary_label(summary: Summary) -> str:
    """What a summary says it is: the LLM's name, or that no LLM was involved."""
    return FALLBACK_LABEL if summary.is_fallback else f"🤖 AI Summary (by {summary.model})"


def matched_terms_text(scored: ScoredPaper, escape: Callable[[str], str] = str) -> str:
    """ "LLM (title); inference (abstract); words of your phrases: agent; learned from 👍: web": which keywords
    picked the paper and where, then the words the relevance ranking derived; `escape` marks up each term."""
    described = []
    for match in scored.matches:
        if match.source != KEYWORD:
            continue
        where = ", ".join(place for place, hit in (("title", match.in_title), ("abstract", match.in_abstract)) if hit)
        described.append(f"{escape(match.term)} ({where})" if where else escape(match.term))
    whole = {match.term for match in scored.matches if match.source == KEYWORD}
    for source, label in ((PHRASE_WORD, "words of your phrases"), (LEARNED, "learned from 👍")):
        # A phrase that matched whole says it all; its words are named only where the phrase is split.
        words = [escape(match.term) for match in scored.matches if match.source == source and match.via not in whole]
        if words:
            described.append(f"{label}: {', '.join(words)}")
    return "; ".join(described)


def keywords_text(keywords: tuple[Keyword, ...]) -> str:
    """The subscribed terms, weights shown where they are not 1: "llm, diffusion ×2"."""
    return ", ".join(k.term if k.weight == 1 else f"{k.term} ×{k.weight:g}" for k in keywords)


@dataclass(frozen=True)
class PaperView:
    """One paper of a digest as every renderer shows it; all text is plain (renderers escape it)."""

    position: int
    scored: ScoredPaper
    summary: Summary | None

    @property
    def paper(self) -> Paper:
        return self.scored.paper

    @property
    def arxiv_id(self) -> str:
        return self.scored.paper.arxiv_id

    @property
    def title(self) -> str:
        return one_line(self.paper.title)

    @property
    def abstract(self) -> str:
        return one_line(self.paper.abstract)

    @property
    def authors(self) -> str:
        """Every author (pages and feeds)."""
        return ", ".join(self.paper.authors)

    @property
    def short_authors(self) -> str:
        """The first few authors plus followed ones (chat messages)."""
        return shorten_authors(self.paper.authors, self.scored.matched_authors)

    @property
    def score(self) -> str:
        return format_score(self.scored.score)

    @property
    def kind(self) -> str:
        return kind_label(self.paper)

    @property
    def related(self) -> bool:
        return self.scored.related

    @property
    def matched(self) -> str:
        """The keywords that matched and where."""
        return matched_terms_text(self.scored)

    @property
    def followed_authors(self) -> str:
        return ", ".join(self.scored.matched_authors)

    @property
    def reasons(self) -> str:
        """Why the paper was picked: matched keywords, followed authors, or that it is related to liked papers."""
        parts = [self.matched, self.followed_authors, RELATED_LABEL if self.related else ""]
        return "; ".join(part for part in parts if part)

    @property
    def facts(self) -> tuple[str, ...]:
        """The short facts line of a chat message: category, kind, score."""
        return tuple(part for part in (self.paper.primary_category, self.kind, f"score {self.score}") if part)

    @property
    def summary_label(self) -> str:
        return summary_label(self.summary) if self.summary is not None else ""


@dataclass(frozen=True)
class DigestView:
    """A digest's header facts and its papers' views; which summaries it shows was decided when it was built."""

    digest: Digest
    papers: tuple[PaperView, ...]

    @property
    def day(self) -> dt.date:
        return self.digest.announcement_day

    @property
    def title(self) -> str:
        first = self.digest.week_from
        if first is None:
            return f"arXiv digest for {self.day:%a %Y-%m-%d}"
        days = f"{first:%a %Y-%m-%d} to {self.day:%a %Y-%m-%d}" if first != self.day else f"{self.day:%a %Y-%m-%d}"
        return f"arXiv weekly digest: {days}"

    @property
    def categories(self) -> str:
        return ", ".join(self.digest.categories) or "all categories"

    @property
    def keywords(self) -> str:
        return keywords_text(self.digest.keywords) or NO_KEYWORDS

    @property
    def cut(self) -> bool:
        """Whether the limit on papers left out some that matched (known only when the matches were counted)."""
        return self.digest.matched is not None and self.digest.matched > len(self.papers)

    @property
    def found(self) -> str:
        """ "30 of 158 matching, of 321 announced": the count a page's statistics carry."""
        if self.digest.matched is None:
            return f"{len(self.papers)} (of {self.digest.considered} announced)"
        return f"{len(self.papers)} of {self.digest.matched} matching, of {self.digest.considered} announced"

    @property
    def selection(self) -> str:
        """How many papers were picked from how many (and how many matched, when the limit cut some):
        the one sentence every header carries."""
        considered = self.digest.considered
        if not self.papers:
            return f"No paper matched among {plural(considered, 'paper')} announced in {self.categories}."
        picked = f"{len(self.papers)} of {self.digest.matched} matching papers" if self.cut else plural(len(self.papers), "paper")
        return f"{picked} picked from {considered} announced in {self.categories}."

    @property
    def summary_count(self) -> int:
        return sum(1 for paper in self.papers if paper.summary is not None)


def digest_view(digest: Digest) -> DigestView:
    """The views of a digest's papers, numbered from 1 in digest order, each with the summary the digest holds."""
    papers = tuple(
        PaperView(position, scored, digest.summary_for(scored.paper)) for position, scored in enumerate(digest.papers, 1)
    )
    return DigestView(digest, papers)
