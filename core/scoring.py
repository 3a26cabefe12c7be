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

import math
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from core.aliases import CURATED, AliasTable
from core.config import ScoringSettings
from core.day_selection import DaySelection, TermPostings
from core.matching import normalize_author
from core.models import KEYWORD, Paper, Subscription
from core.relevance import paper_lengths, relevance_factors
from core.score_matrix import Postings, RowEntries, RowRules, select_top
from core.scoring_units import SCORE_UNITS, WEIGHT_STEPS, author_units, weight_steps
from core.subscription_terms import CompiledSubscription, TermCompiler, category_key
from core.term_hits import DayHits, TermMatcher

_UNREACHABLE_SCORE = 1e6  # min_score beyond any possible score (still an int64 in units)


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
) -> DaySelection:
    """Select every subscriber's papers of the day (a Mapping subscriber -> ordered ScoredPaper list).

    ``skip[subscriber]`` lists arXiv ids to leave out for that subscriber before the cut to
    max_papers (papers it already received). A subscriber listed twice keeps its last subscription.
    ``aliases``: the terms the relevance ranking treats as one (core/aliases.py).
    """
    ordered = day_papers(papers)
    latest = {subscription.subscriber: subscription for subscription in subscriptions}
    compiler = TermCompiler(aliases)
    # Rows grouped by filter profile: a block of rows then only scores the papers its profiles allow.
    compiled = sorted((compiler.compile(subscription) for subscription in latest.values()), key=lambda entry: entry.profile)
    postings = _term_postings(compiler.terms, TermMatcher(compiler.patterns).hits(ordered))
    eligible = _eligibility(ordered, compiler.profiles)
    title_factor = round((1 + scoring.title_bonus) * WEIGHT_STEPS)
    classic_factors = tuple(np.where(title, title_factor, WEIGHT_STEPS).astype(np.int32) for title in postings.in_title)
    term_found = np.array([len(papers) > 0 for papers in postings.papers], dtype=bool)
    author_keys, author_papers = _author_postings(ordered, compiled)
    author_ids = {key: index for index, key in enumerate(author_keys)}
    followed = [tuple(author_ids[key] for key in entry.author_keys if key in author_ids) for entry in compiled]
    authors = (
        RowEntries.of(followed, [(author_units(scoring),) * len(ids) for ids in followed], np.ones(len(author_keys), dtype=bool)),
        Postings(tuple(author_papers), tuple(np.ones(len(papers), np.int32) for papers in author_papers)),
    )
    classic = Postings(postings.papers, classic_factors)
    # min_score keeps its meaning under either ranking: keyword points (weight, x(1 + title_bonus) in the
    # title) and author points; the relevance ranking only orders what passes (core/relevance.py).
    threshold_gains = [(_term_entries(compiled, term_found, KEYWORD_POINTS), classic), authors]
    order_gains = None
    if any(entry.relevance for entry in compiled):
        order_gains = [
            (_term_entries(compiled, term_found, CLASSIC_ORDER), classic),
            (_term_entries(compiled, term_found, RELEVANCE_ORDER), Postings(postings.papers, postings.relevance)),
            authors,
        ]
    excludes = [entry.exclude_ids for entry in compiled]
    drops = (RowEntries.of(excludes, [(0,) * len(ids) for ids in excludes], term_found), postings.papers)
    rules = RowRules(
        thresholds=np.array([min_score_units(entry.subscription, floor=not entry.relevance) for entry in compiled], np.int64),
        floors=np.array([min_score_units(entry.subscription, floor=True) > 0 for entry in compiled], np.int64),
        limits=np.array([max(0, entry.subscription.max_papers) for entry in compiled], np.int64),
        profiles=np.array([entry.profile for entry in compiled], np.int64),
        eligible=eligible,
        skipped=_skipped_papers(ordered, compiled, skip or {}),
    )
    selection = select_top(len(ordered), threshold_gains, drops, rules, order_gains)
    return DaySelection(ordered, list(latest), compiled, selection, postings, eligible.sum(axis=1), scoring)


def _term_postings(terms: Sequence[tuple[int, ...]], day_hits: DayHits) -> TermPostings:
    """Postings per term (a term is found where any of its patterns is) and each term's relevance factors."""
    pattern_hits = day_hits.terms
    lengths = paper_lengths(day_hits.title_words, day_hits.abstract_words)
    average = float(lengths.mean()) if len(lengths) else 1.0
    papers, in_title, in_abstract, factors = [], [], [], []
    for group in terms:
        title, abstract = _union(pattern_hits.in_title, group), _union(pattern_hits.in_abstract, group)
        found = np.union1d(title, abstract)
        papers.append(found)
        in_title.append(np.isin(found, title, assume_unique=True))
        in_abstract.append(np.isin(found, abstract, assume_unique=True))
        factors.append(relevance_factors(found, in_title[-1], in_abstract[-1], lengths, len(lengths), average))
    return TermPostings(tuple(papers), tuple(in_title), tuple(in_abstract), tuple(factors))


# Which rows' terms a gain list scatters: every row's own keywords (for min_score), or the terms that
# order a classic or a relevance row.
KEYWORD_POINTS, CLASSIC_ORDER, RELEVANCE_ORDER = "keyword points", "classic order", "relevance order"


def _union(found: Sequence[np.ndarray], group: tuple[int, ...]) -> np.ndarray:
    """Where any of a term's patterns is found (ascending paper numbers)."""
    return found[group[0]] if len(group) == 1 else np.unique(np.concatenate([found[p] for p in group]))


def _term_entries(compiled: Sequence[CompiledSubscription], term_found: np.ndarray, purpose: str) -> RowEntries:
    """(row, term, weight in hundredths) for one purpose; rows it does not concern get none."""
    per_list: dict[tuple[int, bool], tuple[tuple[int, ...], tuple[int, ...]]] = {}  # chats share keyword lists
    ids: list[tuple[int, ...]] = []
    steps: list[tuple[int, ...]] = []
    for entry in compiled:
        concerned = purpose == KEYWORD_POINTS or entry.relevance == (purpose == RELEVANCE_ORDER)
        key = (id(entry.terms), concerned)
        known = per_list.get(key)
        if known is None:
            counted = [t for t in entry.terms if purpose != KEYWORD_POINTS or t.source == KEYWORD] if concerned else []
            known = per_list[key] = (tuple(t.term_id for t in counted), tuple(weight_steps(t.keyword.weight) for t in counted))
        ids.append(known[0])
        steps.append(known[1])
    return RowEntries.of(ids, steps, term_found)


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


def _author_postings(papers: list[Paper], compiled: list[CompiledSubscription]) -> tuple[list[str], list[np.ndarray]]:
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
