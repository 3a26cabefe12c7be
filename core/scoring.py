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

import itertools
import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from core.aliases import CURATED, AliasTable
from core.collector import collector_paused
from core.config import ScoringSettings
from core.day_selection import DaySelection, TermPostings
from core.day_terms import DayTerms
from core.matching import normalize_author
from core.models import KEYWORD, Paper, Subscription
from core.score_matrix import Gains, Postings, RowEntries, RowRules, joined, packed, select_top
from core.scoring_units import SCORE_UNITS, WEIGHT_STEPS, author_units, weight_steps
from core.subscription_terms import CompiledSubscription, CountedTerm, TermCompiler, category_key

_UNREACHABLE_SCORE = 1e6  # min_score beyond any possible score (still an int64 in units)
ROWS_PER_PASS = 8192  # subscribers scored in one pass of select_top
ALLOCATIONS_PER_SUBSCRIPTION = 30  # objects compiling one subscription makes, about (its terms, lists, tuples)


def min_score_units(subscription: Subscription, floor: bool = True) -> int:
    """The lowest selectable score in units; with `floor`, a subscription with keywords or authors needs a match."""
    lowest = 1 if floor and (subscription.keywords or subscription.authors) else 0
    min_score = 0.0 if math.isnan(subscription.min_score) else min(max(subscription.min_score, 0.0), _UNREACHABLE_SCORE)
    return max(lowest, math.ceil(round(min_score * SCORE_UNITS, 6)))


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


def score_day(
    papers: Sequence[Paper],
    subscriptions: Sequence[Subscription],
    scoring: ScoringSettings,
    skip: Mapping[str, Collection[str]] | None = None,
    aliases: AliasTable = CURATED,
    day_terms: DayTerms | None = None,
) -> DaySelection:
    """Select every subscriber's papers of the day (a Mapping subscriber -> ordered ScoredPaper list).

    ``skip[subscriber]`` lists arXiv ids to leave out for that subscriber before the cut to
    max_papers (papers it already received). A subscriber listed twice keeps its last subscription.
    ``aliases``: the terms the relevance ranking treats as one (core/aliases.py). ``day_terms``: where terms
    were found in these papers by earlier passes (core/day_terms.py); without it everything is found anew.
    """
    with collector_paused(len(subscriptions) * ALLOCATIONS_PER_SUBSCRIPTION):
        return _score_day(papers, subscriptions, scoring, skip, aliases, day_terms)


def _score_day(
    papers: Sequence[Paper],
    subscriptions: Sequence[Subscription],
    scoring: ScoringSettings,
    skip: Mapping[str, Collection[str]] | None,
    aliases: AliasTable,
    day_terms: DayTerms | None,
) -> DaySelection:
    ordered = day_papers(papers)
    latest = {subscription.subscriber: subscription for subscription in subscriptions}
    compiler = TermCompiler(aliases)
    # Rows grouped by filter profile: a block of rows then only scores the papers its profiles allow.
    compiled = sorted((compiler.compile(subscription) for subscription in latest.values()), key=lambda entry: entry.profile)
    groups = [tuple(compiler.patterns[pattern_id] for pattern_id in group) for group in compiler.terms]
    postings = (DayTerms() if day_terms is None else day_terms).postings(ordered, groups)
    eligible = _eligibility(ordered, compiler.profiles)
    rules = RowRules(
        thresholds=np.array([min_score_units(entry.subscription, floor=not entry.relevance) for entry in compiled], np.int64),
        floors=np.array([min_score_units(entry.subscription, floor=True) > 0 for entry in compiled], np.int64),
        limits=np.array([max(0, entry.subscription.max_papers) for entry in compiled], np.int64),
        profiles=np.array([entry.profile for entry in compiled], np.int64),
        eligible=eligible,
        skipped=_skipped_papers(ordered, compiled, skip or {}),
    )
    term_found = np.array([len(papers) > 0 for papers in postings.papers], dtype=bool)
    term_gains = _TermGains(compiler.counted, postings, term_found, scoring)
    author_gains = _AuthorGains(ordered, compiled, scoring)
    parts = []
    # A pass holds its rows' entries (about 25 per row) at once: memory stays flat whatever the number of chats.
    for start in range(0, len(compiled), ROWS_PER_PASS):
        rows = compiled[start : start + ROWS_PER_PASS]
        exclude_rows, exclude_ids = _flatten([entry.exclude_ids for entry in rows])
        drops = (RowEntries.of(exclude_rows, exclude_ids, np.zeros(len(exclude_ids), np.int64), term_found), postings.papers)
        parts.append(select_top(len(ordered), [*term_gains.of(rows), author_gains.of(rows)], drops, rules.rows(start, start + len(rows))))
    return DaySelection(ordered, list(latest), compiled, joined(parts, len(compiled)), postings, eligible.sum(axis=1), scoring)


class _TermGains:
    """What keywords, phrase words and learned words add to the two scores of each row.

    min_score keeps its meaning under either ranking: the threshold score counts keyword points (weight,
    x(1 + title_bonus) in the title) and author points; the order score is the relevance score for a
    relevance row (core/relevance.py) and the keyword points again for a classic row.
    """

    def __init__(self, counted: Sequence[CountedTerm], postings: TermPostings, term_found: np.ndarray, scoring: ScoringSettings) -> None:
        title_factor = round((1 + scoring.title_bonus) * WEIGHT_STEPS)
        classic = [np.where(title, title_factor, WEIGHT_STEPS).astype(np.int64) for title in postings.in_title]
        self._postings = (
            Postings(postings.papers, [packed(c, r) for c, r in zip(classic, postings.relevance)]),  # a relevance row's keyword
            Postings(postings.papers, [r.astype(np.int64) for r in postings.relevance]),  # its phrase and learned words
            Postings(postings.papers, [packed(c, c) for c in classic]),  # a classic row's keyword
        )
        # Per distinct counted term (by its key): term id, weight, whether it is a keyword of the chat.
        self._term_of = np.fromiter((term.term_id for term in counted), np.int64, len(counted))
        self._steps_of = np.fromiter((weight_steps(term.keyword.weight) for term in counted), np.int64, len(counted))
        self._keyword_of = np.fromiter((term.source == KEYWORD for term in counted), bool, len(counted))
        self._term_found = term_found

    def of(self, compiled: Sequence[CompiledSubscription]) -> list[Gains]:
        keys_of_list: dict[int, tuple[int, ...]] = {}  # chats with the same keywords share one term list
        for entry in compiled:
            if id(entry.terms) not in keys_of_list:
                keys_of_list[id(entry.terms)] = tuple(term.key for term in entry.terms)
        rows, keys = _flatten([keys_of_list[id(entry.terms)] for entry in compiled])
        ids, steps, keyword = self._term_of[keys], self._steps_of[keys], self._keyword_of[keys]
        relevance_row = np.array([entry.relevance for entry in compiled], dtype=bool)[rows]
        kinds = (keyword & relevance_row, ~keyword & relevance_row, keyword & ~relevance_row)
        return [
            Gains(RowEntries.of(rows[where], ids[where], steps[where], self._term_found), postings)
            for where, postings in zip(kinds, self._postings)
        ]


class _AuthorGains:
    """Author points, on both scores, for the followed authors on each paper."""

    def __init__(self, papers: list[Paper], compiled: Sequence[CompiledSubscription], scoring: ScoringSettings) -> None:
        author_keys, author_papers = _author_postings(papers, compiled)
        self._ids = {key: index for index, key in enumerate(author_keys)}
        self._postings = Postings(author_papers, [np.full(len(papers), packed(1, 1)) for papers in author_papers])
        self._points = author_units(scoring)

    def of(self, compiled: Sequence[CompiledSubscription]) -> Gains:
        rows, ids = _flatten([tuple(self._ids[key] for key in entry.author_keys if key in self._ids) for entry in compiled])
        return Gains(RowEntries.of(rows, ids, np.full(len(ids), self._points), np.ones(len(self._ids), dtype=bool)), self._postings)


def _flatten(per_row: Sequence[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ints end to end, with the row of each."""
    counts = np.fromiter(map(len, per_row), np.int64, len(per_row))
    values = np.fromiter(itertools.chain.from_iterable(per_row), np.int64, int(counts.sum()))
    return np.repeat(np.arange(len(per_row), dtype=np.int64), counts), values


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


def _author_postings(papers: list[Paper], compiled: Sequence[CompiledSubscription]) -> tuple[list[str], list[np.ndarray]]:
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


def _skipped_papers(papers: list[Paper], compiled: list[CompiledSubscription], skip: Mapping[str, Collection[str]]) -> dict[int, np.ndarray]:
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
