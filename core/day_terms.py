"""Where each term occurs in a set of papers (a day, or a week), kept between scoring passes over the same papers.

The scheduler scores the same announcement day once per tick with due chats (every delivery time of the
day), and chats share most of their terms: finding a term in the day's papers and weighing it (idf over
those papers, core/relevance.py) is done once per term and paper set, not once per tick. A term new to
the set costs one pass over the papers for all such terms together.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.day_selection import TermPostings
from core.matching import TermPattern
from core.models import Paper
from core.relevance import paper_lengths, relevance_factors
from core.term_hits import TermMatcher

PAPER_SETS_KEPT = 2  # a day and a week (or two days) are scored in one tick; older sets are dropped

TermGroup = tuple[TermPattern, ...]  # a term: its own pattern, then its aliases' (found where any is)


@dataclass(frozen=True)
class GroupPostings:
    """One term group in one paper set: the papers (ascending), where in each, and its relevance factors."""

    papers: np.ndarray
    in_title: np.ndarray
    in_abstract: np.ndarray
    relevance: np.ndarray


@dataclass
class _PaperSet:
    """What is known of one paper set: each pattern's hits (title, abstract), paper lengths, group postings."""

    patterns: dict[TermPattern, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    groups: dict[TermGroup, GroupPostings] = field(default_factory=dict)
    lengths: np.ndarray | None = None


class DayTerms:
    """Term postings per paper set (papers in arXiv id order, as core.scoring.day_papers gives them)."""

    def __init__(self, kept: int = PAPER_SETS_KEPT) -> None:
        self._kept = kept
        self._sets: OrderedDict[tuple[tuple[str, int], ...], _PaperSet] = OrderedDict()
        self._lock = threading.Lock()  # web pages score in worker threads while a tick scores in the event loop

    def postings(self, papers: Sequence[Paper], groups: Sequence[TermGroup]) -> TermPostings:
        """Postings for each group, in order (a group's index is its term id)."""
        with self._lock:
            return self._postings(papers, groups)

    def _postings(self, papers: Sequence[Paper], groups: Sequence[TermGroup]) -> TermPostings:
        known = self._paper_set(papers)
        missing = list(dict.fromkeys(pattern for group in groups for pattern in group if pattern not in known.patterns))
        if missing or known.lengths is None:
            hits = TermMatcher(missing).hits(papers)
            known.patterns.update(zip(missing, zip(hits.terms.in_title, hits.terms.in_abstract)))
            known.lengths = paper_lengths(hits.title_words, hits.abstract_words)
        lengths = known.lengths
        average = float(lengths.mean()) if len(lengths) else 1.0
        found = []
        for group in groups:
            postings = known.groups.get(group)
            if postings is None:
                postings = known.groups[group] = _group_postings(group, known.patterns, lengths, average)
            found.append(postings)
        return TermPostings(
            tuple(each.papers for each in found),
            tuple(each.in_title for each in found),
            tuple(each.in_abstract for each in found),
            tuple(each.relevance for each in found),
        )

    def __len__(self) -> int:
        """How many paper sets are held."""
        return len(self._sets)

    def _paper_set(self, papers: Sequence[Paper]) -> _PaperSet:
        key = tuple((paper.arxiv_id, paper.version) for paper in papers)
        known = self._sets.get(key)
        if known is None:
            known = self._sets[key] = _PaperSet()
            while len(self._sets) > self._kept:
                self._sets.popitem(last=False)
        self._sets.move_to_end(key)
        return known


def _group_postings(
    group: TermGroup, patterns: dict[TermPattern, tuple[np.ndarray, np.ndarray]], lengths: np.ndarray, average: float
) -> GroupPostings:
    title = _union([patterns[pattern][0] for pattern in group])
    abstract = _union([patterns[pattern][1] for pattern in group])
    found = np.union1d(title, abstract)
    in_title = np.isin(found, title, assume_unique=True)
    in_abstract = np.isin(found, abstract, assume_unique=True)
    return GroupPostings(found, in_title, in_abstract, relevance_factors(found, in_title, in_abstract, lengths, len(lengths), average))


def _union(found: Sequence[np.ndarray]) -> np.ndarray:
    """Where any of a term's patterns is found (ascending paper numbers)."""
    return found[0] if len(found) == 1 else np.unique(np.concatenate(found))
