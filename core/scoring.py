"""Scores one day's papers for every subscription at once and keeps each subscriber's top papers.

Score of a paper for a subscription (see core/matching.py for what "matches" means):

* each keyword that matches in the title is worth ``weight * (1 + title_bonus)``; one that
  matches only in the abstract is worth ``weight`` (a keyword counts once per paper; spellings
  that parse alike, such as ``LLM`` and ``llm``, count once, the first one listed wins);
* each followed author on the paper is worth ``author_points``;
* a paper matching any exclude word (title or abstract) is dropped, whatever its score.

A paper is selected when it passes the category filter (any shared category; no categories
means all), the announcement-type filter (cross-lists only with ``crosslists``, replacements
only with ``replacements``), scores at least ``min_score`` and, when the subscription has
keywords or authors, more than zero. A subscription without keywords and authors gets every
paper of its categories. Order: score descending, then arXiv id ascending; at most
``max_papers``. Weights and the title bonus count to 0.01 (weights are clamped to
[0.01, 10]); scores are sums of whole 1/10,000 points, so ties never depend on summation order.

The work is one pass over the day's words for the union of all terms (core/term_hits.py),
then per block of subscribers a term x paper scatter into an integer score matrix, masks for
excludes and filters, and one sort of the surviving candidates. ScoredPaper objects are built
only when a subscriber's list is read.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.config import ScoringSettings
from core.matching import InvalidTerm, TermPattern, normalize_author, parse_term
from core.models import Keyword, KeywordMatch, Paper, ScoredPaper, Subscription
from core.score_matrix import Postings, RowEntries, RowRules, select_top
from core.term_hits import PaperWords, TermHits, TermMatcher

WEIGHT_STEPS = 100  # weights and the title bonus are honoured to 0.01
SCORE_UNITS = WEIGHT_STEPS * WEIGHT_STEPS  # a point is 10,000 units: every sum is an exact integer
MIN_WEIGHT = 0.01
MAX_WEIGHT = 10.0
# With weights <= 10, title_bonus <= 10 and author_points <= 100 these keep every score below
# 2**30 units, so the score matrix stays int32 (core/score_matrix.py); extra entries are ignored.
MAX_KEYWORDS_PER_SUBSCRIPTION = 500
MAX_AUTHORS_PER_SUBSCRIPTION = 100
_UNREACHABLE_SCORE = 1e6  # min_score beyond any possible score (still an int64 in units)


@functools.lru_cache(maxsize=1024)
def weight_steps(weight: float) -> int:
    """A keyword weight in hundredths, clamped to [MIN_WEIGHT, MAX_WEIGHT] (non-numbers count as 1)."""
    if not math.isfinite(weight):
        weight = 1.0
    return round(min(max(weight, MIN_WEIGHT), MAX_WEIGHT) * WEIGHT_STEPS)


def keyword_units(weight: float, in_title: bool, scoring: ScoringSettings) -> int:
    """What one matching keyword adds, in score units."""
    factor = round((1 + scoring.title_bonus) * WEIGHT_STEPS) if in_title else WEIGHT_STEPS
    return weight_steps(weight) * factor


def author_units(scoring: ScoringSettings) -> int:
    return round(scoring.author_points * SCORE_UNITS)


def min_score_units(subscription: Subscription) -> int:
    """The lowest selectable score in units; a subscription with keywords or authors needs a match."""
    floor = 1 if subscription.keywords or subscription.authors else 0
    min_score = 0.0 if math.isnan(subscription.min_score) else min(max(subscription.min_score, 0.0), _UNREACHABLE_SCORE)
    return max(floor, math.ceil(round(min_score * SCORE_UNITS, 6)))


def category_key(category: str) -> str:
    return category.strip().casefold()


def passes_filters(paper: Paper, subscription: Subscription) -> bool:
    """Category and announcement-type filters (not keywords), for one paper.

    A cross-list is relative to the subscription: a paper whose primary category is not one the
    subscription reads (the day's stored type says so only for the union of everyone's categories).
    Without categories, or for a paper with no primary category, the stored type decides.
    """
    if paper.is_replacement and not subscription.replacements:
        return False
    if not subscription.categories:
        return subscription.crosslists or not paper.is_crosslist
    wanted = {category_key(category) for category in subscription.categories}
    if not subscription.crosslists:
        crosslisted = category_key(paper.primary_category) not in wanted if paper.primary_category else paper.is_crosslist
        if crosslisted:
            return False
    return any(category_key(category) in wanted for category in paper.categories)


def day_papers(papers: Sequence[Paper]) -> list[Paper]:
    """One entry per arXiv id (the latest version), ordered by arXiv id: the order ties are broken in."""
    latest: dict[str, Paper] = {}
    for paper in papers:
        known = latest.get(paper.arxiv_id)
        if known is None or paper.version > known.version:
            latest[paper.arxiv_id] = paper
    return [latest[arxiv_id] for arxiv_id in sorted(latest)]


_UNSEEN = -1


@dataclass(frozen=True)
class _Compiled:
    """A subscription turned into the day's ids: terms (duplicates after parsing dropped), excludes, filter profile."""

    subscription: Subscription
    keywords: tuple[Keyword, ...]  # the ones that count, parallel to term_ids
    term_ids: tuple[int, ...]
    steps: tuple[int, ...]  # weights in hundredths
    exclude_ids: tuple[int, ...]
    author_keys: tuple[str, ...]
    profile: int  # index of its (categories, crosslists, replacements) filter


class _Compiler:
    """Parses each distinct term string once, numbers the distinct patterns and filter profiles of the day."""

    def __init__(self) -> None:
        self.patterns: list[TermPattern] = []
        self.profiles: dict[tuple[frozenset[str], bool, bool], int] = {}
        self._pattern_ids: dict[TermPattern, int] = {}
        self._term_ids: dict[str, int | None] = {}
        self._profile_ids: dict[tuple[tuple[str, ...], bool, bool], int] = {}

    def compile(self, subscription: Subscription) -> _Compiled:
        term_ids = self._term_ids
        kept: dict[int, Keyword] = {}
        for keyword in subscription.keywords[:MAX_KEYWORDS_PER_SUBSCRIPTION]:
            term_id = term_ids.get(keyword.term, _UNSEEN)
            if term_id == _UNSEEN:
                term_id = self._parse(keyword.term)
            if term_id is not None and term_id not in kept:
                kept[term_id] = keyword
        excludes = set()
        for term in subscription.excludes:
            term_id = term_ids.get(term, _UNSEEN)
            excludes.add(self._parse(term) if term_id == _UNSEEN else term_id)
        excludes.discard(None)
        authors = subscription.authors[:MAX_AUTHORS_PER_SUBSCRIPTION]
        author_keys = tuple(dict.fromkeys(key for key in map(normalize_author, authors) if key)) if authors else ()
        return _Compiled(
            subscription,
            keywords=tuple(kept.values()),
            term_ids=tuple(kept),
            steps=tuple(weight_steps(keyword.weight) for keyword in kept.values()),
            exclude_ids=tuple(sorted(excludes)),
            author_keys=author_keys,
            profile=self._profile(subscription),
        )

    def _parse(self, term: str) -> int | None:
        """The id of the term's pattern (spellings that parse alike share one); None if it is invalid."""
        try:
            pattern = parse_term(term)
        except InvalidTerm:
            self._term_ids[term] = None
            return None
        pattern_id = self._pattern_ids.get(pattern)
        if pattern_id is None:
            pattern_id = self._pattern_ids[pattern] = len(self.patterns)
            self.patterns.append(pattern)
        self._term_ids[term] = pattern_id
        return pattern_id

    def _profile(self, subscription: Subscription) -> int:
        spelled = (subscription.categories, subscription.crosslists, subscription.replacements)
        profile = self._profile_ids.get(spelled)
        if profile is None:
            key = (frozenset(map(category_key, subscription.categories)), subscription.crosslists, subscription.replacements)
            profile = self._profile_ids[spelled] = self.profiles.setdefault(key, len(self.profiles))
        return profile


class DaySelection(Mapping[str, list[ScoredPaper]]):
    """Every subscriber's selected papers, kept as arrays; ScoredPaper lists are built on access."""

    def __init__(
        self,
        papers: list[Paper],
        subscribers: Sequence[str],
        compiled: list[_Compiled],
        selection: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        hits: TermHits,
        considered: np.ndarray,
        scoring: ScoringSettings,
    ) -> None:
        self._papers = papers
        self._compiled = compiled
        rows = {entry.subscription.subscriber: row for row, entry in enumerate(compiled)}
        # Rows are grouped by filter profile; iteration follows the order subscriptions came in.
        self._rows = {subscriber: rows[subscriber] for subscriber in subscribers}
        self._offsets, self._selected, self._units, self._matched = selection
        self._hits = hits
        self._considered = considered
        self._scoring = scoring

    def __getitem__(self, subscriber: str) -> list[ScoredPaper]:
        row = self._rows[subscriber]
        start, stop = self._offsets[row], self._offsets[row + 1]
        entry = self._compiled[row]
        return [
            self._scored(entry, paper_index, units)
            for paper_index, units in zip(self._selected[start:stop].tolist(), self._units[start:stop].tolist())
        ]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def selected_ids(self, subscriber: str) -> list[str]:
        """The selected arXiv ids in order, without building ScoredPaper objects."""
        row = self._rows[subscriber]
        chosen = self._selected[self._offsets[row] : self._offsets[row + 1]].tolist()
        return [self._papers[paper_index].arxiv_id for paper_index in chosen]

    def matched_count(self, subscriber: str) -> int:
        """How many papers passed every rule (filters, excludes, min_score, not skipped) before the cut to max_papers."""
        return int(self._matched[self._rows[subscriber]])

    def considered(self, subscriber: str) -> int:
        """How many of the day's papers passed the subscriber's category and type filters."""
        return int(self._considered[self._compiled[self._rows[subscriber]].profile])

    def _scored(self, entry: _Compiled, paper_index: int, units: int) -> ScoredPaper:
        paper = self._papers[paper_index]
        matches = []
        for keyword, term_id in zip(entry.keywords, entry.term_ids):
            in_title = paper_index in self._hits.in_title[term_id]
            in_abstract = paper_index in self._hits.in_abstract[term_id]
            if in_title or in_abstract:
                points = keyword_units(keyword.weight, in_title, self._scoring) / SCORE_UNITS
                matches.append(KeywordMatch(keyword.term, in_title, in_abstract, points))
        authors: tuple[str, ...] = ()
        if entry.author_keys:
            authors = tuple(name for name in paper.authors if normalize_author(name) in entry.author_keys)
        return ScoredPaper(paper, units / SCORE_UNITS, tuple(matches), authors)


def score_day(
    papers: Sequence[Paper],
    subscriptions: Sequence[Subscription],
    scoring: ScoringSettings,
    skip: Mapping[str, Collection[str]] | None = None,
) -> DaySelection:
    """Select every subscriber's papers of the day (a Mapping subscriber -> ordered ScoredPaper list).

    ``skip[subscriber]`` lists arXiv ids to leave out for that subscriber before the cut to
    max_papers (papers it already received). A subscriber listed twice keeps its last subscription.
    """
    ordered = day_papers(papers)
    latest = {subscription.subscriber: subscription for subscription in subscriptions}
    compiler = _Compiler()
    # Rows grouped by filter profile: a block of rows then only scores the papers its profiles allow.
    compiled = sorted((compiler.compile(subscription) for subscription in latest.values()), key=lambda entry: entry.profile)
    hits = TermMatcher(compiler.patterns).hits([PaperWords.of(paper) for paper in ordered])
    eligible = _eligibility(ordered, compiler.profiles)
    term_papers = [np.array(sorted(title | abstract), np.int64) for title, abstract in zip(hits.in_title, hits.in_abstract)]
    title_factor = round((1 + scoring.title_bonus) * WEIGHT_STEPS)
    term_factors = tuple(
        np.where(np.isin(papers, np.fromiter(title, np.int64, len(title))), title_factor, WEIGHT_STEPS).astype(np.int32)
        for papers, title in zip(term_papers, hits.in_title)
    )
    term_found = np.array([len(papers) > 0 for papers in term_papers], dtype=bool)
    author_keys, author_papers = _author_postings(ordered, compiled)
    author_ids = {key: index for index, key in enumerate(author_keys)}
    followed = [tuple(author_ids[key] for key in entry.author_keys if key in author_ids) for entry in compiled]
    gains = [
        (RowEntries.of([entry.term_ids for entry in compiled], [entry.steps for entry in compiled], term_found), Postings(tuple(term_papers), term_factors)),
        (
            RowEntries.of(followed, [(author_units(scoring),) * len(ids) for ids in followed], np.ones(len(author_keys), dtype=bool)),
            Postings(tuple(author_papers), tuple(np.ones(len(papers), np.int32) for papers in author_papers)),
        ),
    ]
    excludes = [entry.exclude_ids for entry in compiled]
    drops = (RowEntries.of(excludes, [(0,) * len(ids) for ids in excludes], term_found), term_papers)
    rules = RowRules(
        thresholds=np.array([min_score_units(entry.subscription) for entry in compiled], np.int64),
        limits=np.array([max(0, entry.subscription.max_papers) for entry in compiled], np.int64),
        profiles=np.array([entry.profile for entry in compiled], np.int64),
        eligible=eligible,
        skipped=_skipped_papers(ordered, compiled, skip or {}),
    )
    selection = select_top(len(ordered), gains, drops, rules)
    return DaySelection(ordered, list(latest), compiled, selection, hits, eligible.sum(axis=1), scoring)


def _eligibility(papers: list[Paper], profiles: Mapping[tuple[frozenset[str], bool, bool], int]) -> np.ndarray:
    """profile x paper: does the paper pass that profile's category and type filters (as passes_filters)."""
    categories = sorted(
        {category_key(category) for paper in papers for category in (*paper.categories, paper.primary_category) if category}
    )
    column = {category: index for index, category in enumerate(categories)}
    in_category = np.zeros((len(papers), len(categories)), dtype=bool)
    for index, paper in enumerate(papers):
        in_category[index, [column[category_key(category)] for category in paper.categories]] = True
    # The primary category's column, or an extra always-False one for a paper without a primary category.
    primary = np.array([column.get(category_key(paper.primary_category), len(categories)) for paper in papers], np.int64)
    has_primary = np.array([bool(paper.primary_category) for paper in papers], dtype=bool)
    crosslist = np.array([paper.is_crosslist for paper in papers], dtype=bool)
    replacement = np.array([paper.is_replacement for paper in papers], dtype=bool)
    eligible = np.ones((len(profiles), len(papers)), dtype=bool)
    for (wanted, crosslists, replacements), profile in profiles.items():
        columns = [column[category] for category in wanted if category in column]
        if wanted:
            eligible[profile] = in_category[:, columns].any(axis=1)
        if not crosslists:
            if wanted:  # relative to this profile's categories, as in passes_filters
                reads = np.zeros(len(categories) + 1, dtype=bool)
                reads[columns] = True
                eligible[profile] &= np.where(has_primary, reads[primary], ~crosslist)
            else:
                eligible[profile] &= ~crosslist
        if not replacements:
            eligible[profile] &= ~replacement
    return eligible


def _author_postings(papers: list[Paper], compiled: list[_Compiled]) -> tuple[list[str], list[np.ndarray]]:
    """Followed authors that appear today, and the papers of each."""
    followed = {key for entry in compiled for key in entry.author_keys}
    found: dict[str, set[int]] = {}
    if followed:
        for index, paper in enumerate(papers):
            for name in paper.authors:
                key = normalize_author(name)
                if key in followed:
                    found.setdefault(key, set()).add(index)
    keys = sorted(found)
    return keys, [np.array(sorted(found[key]), np.int64) for key in keys]


def _skipped_papers(papers: list[Paper], compiled: list[_Compiled], skip: Mapping[str, Collection[str]]) -> dict[int, np.ndarray]:
    """Row -> indexes of the papers that row must not get again."""
    if not skip:
        return {}
    index_of = {paper.arxiv_id: index for index, paper in enumerate(papers)}
    skipped = {}
    for row, entry in enumerate(compiled):
        indexes = sorted({index_of[arxiv_id] for arxiv_id in skip.get(entry.subscription.subscriber, ()) if arxiv_id in index_of})
        if indexes:
            skipped[row] = np.array(indexes, np.int64)
    return skipped
