"""Real paper lists as Papers, and a per-subscriber reference scorer the day engine must agree with."""
from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Sequence
from pathlib import Path

from core.aliases import CURATED, AliasTable
from core.config import ScoringSettings
from core.matching import FieldWords, InvalidTerm, TermPattern, normalize_author, parse_term
from core.models import KEYWORD, LEARNED, PHRASE_WORD, Keyword, KeywordMatch, Paper, ScoredPaper, Subscription
from core.relevance import BM25_B, BM25_K1, FACTOR_STEPS, IDF_REFERENCE, MAX_FACTOR, TITLE_HITS, phrase_words
from core.scoring import day_papers, min_score_units, passes_filters
from core.scoring_units import SCORE_UNITS, author_units, keyword_units, weight_steps

PAPERS_DIR = Path(__file__).parent / "fixtures" / "papers"
CS_DAY = PAPERS_DIR / "dw-dengwei_2025-10-22.jsonl"  # cs.CL / cs.AI / cs.CV with cs.LG cross-lists
CV_DAY = PAPERS_DIR / "wanzhouliu_2026-04-21.json"  # 501 cs.CV papers with announce types


def _fixture_paper(record: dict, day: dt.date) -> Paper:
    """A row of either list format: arXiv listing (id, summary) or feed mirror (arxiv_id, abstract, announce_type)."""
    categories = tuple(record["categories"])
    return Paper(
        arxiv_id=record.get("arxiv_id") or record["id"],
        version=1,
        title=record["title"],
        authors=tuple(record["authors"]),
        abstract=record.get("abstract") or record.get("summary") or "",
        categories=categories,
        primary_category=record.get("primary_category") or categories[0],
        announce_type=record.get("announce_type", "new"),
        announced=day,
        comment=record.get("comment") or "",
    )


def load_papers(path: Path) -> list[Paper]:
    """A fixture paper list (arXiv listing JSON Lines or the feed mirror's JSON) as Papers, one per id."""
    if path.suffix == ".jsonl":
        day = dt.date.fromisoformat(path.stem.rsplit("_", 1)[1])
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return day_papers([_fixture_paper(row, day) for row in rows])
    document = json.loads(path.read_text(encoding="utf-8"))
    day = dt.date.fromisoformat(document["date"])
    return day_papers([_fixture_paper(row, day) for row in document["papers"]])


def real_papers() -> list[Paper]:
    return day_papers(load_papers(CS_DAY) + load_papers(CV_DAY))


@functools.lru_cache(maxsize=None)
def _words(text: str) -> FieldWords:
    return FieldWords.of(text)


@functools.lru_cache(maxsize=None)
def _occurs(pattern: TermPattern, text: str) -> bool:
    """Memoized only so that hundreds of reference subscriptions stay fast; the check itself is occurs_in."""
    return pattern.occurs_in(_words(text))


def _counted_terms(subscription: Subscription, aliases: AliasTable) -> dict[tuple[TermPattern, ...], tuple[Keyword, str, str]]:
    """Each counted term's patterns (the keyword's own first, then its aliases) -> (keyword, source, via); first wins."""
    wanted = [(keyword, KEYWORD, "") for keyword in subscription.keywords]
    relevance = subscription.ranking != "classic"
    if relevance:
        wanted += [(word, PHRASE_WORD, phrase) for word, phrase in phrase_words(subscription.keywords)]
        wanted += [(word, LEARNED, "") for word in subscription.learned]
    counted: dict[tuple[TermPattern, ...], tuple[Keyword, str, str]] = {}
    for keyword, source, via in wanted:
        try:
            pattern = parse_term(keyword.term)
        except InvalidTerm:
            continue
        group = (pattern, *(aliases.aliases_of(keyword.term) if relevance and keyword.aliases else ()))
        counted.setdefault(group, (keyword, source, via))
    return counted


class _DayStatistics:
    """What the relevance formula needs of the whole day: each term's document frequency, paper lengths."""

    def __init__(self, day: Sequence[Paper]) -> None:
        self.day = day
        self.average_length = sum(map(self.length, day)) / len(day) if day else 1.0
        self._frequency: dict[tuple[TermPattern, ...], int] = {}

    @staticmethod
    def length(paper: Paper) -> int:
        return TITLE_HITS * len(_words(paper.title).words) + len(_words(paper.abstract).words)

    def frequency(self, group: tuple[TermPattern, ...]) -> int:
        if group not in self._frequency:
            self._frequency[group] = sum(any(_occurs(p, other.title) or _occurs(p, other.abstract) for p in group) for other in self.day)
        return self._frequency[group]

    def units(self, group: tuple[TermPattern, ...], weight: float, paper: Paper, in_title: bool, in_abstract: bool) -> int:
        """A relevance match's units, straight from the formula in core/relevance.py."""
        found = self.frequency(group)
        idf = math.log1p((len(self.day) - found + 0.5) / (found + 0.5)) / IDF_REFERENCE
        hits = TITLE_HITS * in_title + in_abstract
        norm = 1 - BM25_B + BM25_B * self.length(paper) / max(self.average_length, 1.0)
        factor = min(max(round(idf * hits * (BM25_K1 + 1) / (hits + BM25_K1 * norm) * FACTOR_STEPS), 1), MAX_FACTOR)
        return weight_steps(weight) * factor


def reference_select(
    papers: Sequence[Paper], subscription: Subscription, scoring: ScoringSettings, aliases: AliasTable = CURATED
) -> list[ScoredPaper]:
    """The same rules as core.scoring, written as the obvious loop over papers and keywords."""
    counted = _counted_terms(subscription, aliases)
    relevance = subscription.ranking != "classic"
    excludes = []
    for term in subscription.excludes:
        try:
            excludes.append(parse_term(term))
        except InvalidTerm:
            continue
    followed = {normalize_author(name) for name in subscription.authors} - {""}
    day = day_papers(papers)
    statistics = _DayStatistics(day)
    selected = []
    for paper in day:
        if not passes_filters(paper, subscription):
            continue
        if any(_occurs(pattern, paper.title) or _occurs(pattern, paper.abstract) for pattern in excludes):
            continue
        units, keyword_points, matches = 0, 0, []
        for group, (keyword, source, via) in counted.items():
            in_title = any(_occurs(pattern, paper.title) for pattern in group)
            in_abstract = any(_occurs(pattern, paper.abstract) for pattern in group)
            if in_title or in_abstract:
                classic = keyword_units(keyword.weight, in_title, scoring)
                points = statistics.units(group, keyword.weight, paper, in_title, in_abstract) if relevance else classic
                units += points
                keyword_points += classic if source == KEYWORD else 0
                matches.append(KeywordMatch(keyword.term, in_title, in_abstract, points / SCORE_UNITS, source, via))
        authors = tuple(name for name in paper.authors if normalize_author(name) in followed)
        author_points = author_units(scoring) * len({normalize_author(name) for name in authors})
        units += author_points
        # min_score counts keyword and author points under either ranking; the order score needs a match.
        passes = keyword_points + author_points >= min_score_units(subscription, floor=not relevance)
        if passes and units >= (1 if min_score_units(subscription) > 0 else 0):
            selected.append((units, paper, matches, authors))
    selected.sort(key=lambda item: (-item[0], item[1].arxiv_id))
    return [
        ScoredPaper(
            paper, units / SCORE_UNITS, tuple(matches), authors, related=not authors and all(m.source != KEYWORD for m in matches)
        )
        for units, paper, matches, authors in selected[: max(0, subscription.max_papers)]
    ]


def make_paper(
    arxiv_id: str,
    title: str,
    abstract: str = "",
    *,
    categories: tuple[str, ...] = ("cs.CL",),
    announce_type: str = "new",
    authors: tuple[str, ...] = ("A. Author",),
    version: int = 1,
) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        authors=authors,
        abstract=abstract,
        categories=categories,
        primary_category=categories[0] if categories else "",
        announce_type=announce_type,
        announced=dt.date(2026, 9, 24),
    )
