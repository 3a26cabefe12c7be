"""One day's selection for every subscriber, held as arrays; the result objects (ScoredPaper, KeywordMatch) are built
only when a subscriber's list is read, and the outbox reads plain entries without building them."""
from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.config import ScoringSettings
from core.matching import normalize_author
from core.models import KEYWORD, KeywordMatch, Paper, PlanEntry, ScoredPaper
from core.scoring_units import SCORE_UNITS, keyword_units, weight_steps
from core.subscription_terms import CompiledSubscription, CountedTerm

RESULT_CACHE_PAPERS = 100_000  # ScoredPaper objects built between clearings of the shared-match caches


@dataclass(frozen=True)
class TermPostings:
    """Per term: the papers it occurs in (sorted), whether in the title / abstract of each, and its relevance
    factor in each (hundredths). Arrays, not sets: a week's postings are held for every chat's results."""

    papers: tuple[np.ndarray, ...]
    in_title: tuple[np.ndarray, ...]  # bool, parallel to papers
    in_abstract: tuple[np.ndarray, ...]
    relevance: tuple[np.ndarray, ...]

    def where(self, term_id: int, paper_index: int) -> tuple[bool, bool, int]:
        """(in title, in abstract, relevance factor) of a term in a paper it occurs in."""
        at = bisect.bisect_left(self.papers[term_id], paper_index)
        return bool(self.in_title[term_id][at]), bool(self.in_abstract[term_id][at]), int(self.relevance[term_id][at])


class DaySelection(Mapping[str, list[ScoredPaper]]):
    """Every subscriber's selected papers, kept as arrays; ScoredPaper lists are built on access."""

    def __init__(
        self,
        papers: list[Paper],
        subscribers: Sequence[str],
        compiled: list[CompiledSubscription],
        selection: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        postings: TermPostings,
        considered: np.ndarray,
        scoring: ScoringSettings,
    ) -> None:
        self._papers = papers
        self._compiled = compiled
        rows = {entry.subscription.subscriber: row for row, entry in enumerate(compiled)}
        # Rows are grouped by filter profile; iteration follows the order subscriptions came in.
        self._rows = {subscriber: rows[subscriber] for subscriber in subscribers}
        self._offsets, self._selected, self._units, self._matched = selection
        self._postings = postings
        self._considered = considered
        self._scoring = scoring
        self._matches: defaultdict[int, dict[int, KeywordMatch]] = defaultdict(dict)  # paper -> counted term -> match
        self._terms_of_paper: dict[int, set[int]] | None = None
        self._author_keys: dict[int, tuple[tuple[str, str], ...]] = {}
        self._match_lists: dict[tuple[int, int, bool], tuple[KeywordMatch, ...]] = {}
        self._results_built = 0
        uses = Counter(id(entry.terms) for entry in compiled)
        self._shared_term_lists = {terms for terms, count in uses.items() if count > 1}

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

    def entries(self, subscriber: str) -> list[PlanEntry]:
        """The selected papers in order as outbox entries (id, version, score), without building ScoredPaper objects."""
        row = self._rows[subscriber]
        start, stop = self._offsets[row], self._offsets[row + 1]
        papers = self._papers
        return [
            PlanEntry(papers[index].arxiv_id, papers[index].version, units / SCORE_UNITS)
            for index, units in zip(self._selected[start:stop].tolist(), self._units[start:stop].tolist())
        ]

    def matched_count(self, subscriber: str) -> int:
        """How many papers passed every rule (filters, excludes, min_score, not skipped) before the cut to max_papers."""
        return int(self._matched[self._rows[subscriber]])

    def considered(self, subscriber: str) -> int:
        """How many of the day's papers passed the subscriber's category and type filters."""
        return int(self._considered[self._compiled[self._rows[subscriber]].profile])

    def _scored(self, entry: CompiledSubscription, paper_index: int, units: int) -> ScoredPaper:
        paper = self._papers[paper_index]
        relevance = entry.relevance
        self._results_built += 1
        if self._results_built % RESULT_CACHE_PAPERS == 0:
            # The scheduler reads results a chunk of chats at a time; shared matches of earlier chunks are
            # kept by their digests while needed, so the caches start again instead of growing all tick.
            self._matches.clear()
            self._match_lists.clear()
            self._author_keys.clear()
        # Chats with the same keywords share their term list (core/subscription_terms.py): one tuple of
        # matches per list and paper serves them all.
        if id(entry.terms) in self._shared_term_lists:
            shared_key = (id(entry.terms), paper_index, relevance)
            matches = self._match_lists.get(shared_key)
            if matches is None:
                matches = self._match_lists[shared_key] = self._matches_of(entry.terms, paper_index, relevance)
        else:
            matches = self._matches_of(entry.terms, paper_index, relevance)
        authors: tuple[str, ...] = ()
        if entry.author_keys:
            authors = tuple(name for name, key in self._authors(paper_index) if key in entry.author_keys)
        related = not authors and all(match.source != KEYWORD for match in matches)
        return ScoredPaper(paper, units / SCORE_UNITS, matches, authors, related=related)

    def _matches_of(self, terms: tuple[CountedTerm, ...], paper_index: int, relevance: bool) -> tuple[KeywordMatch, ...]:
        present = self._paper_terms()[paper_index]
        # Many chats share a term and a paper: one immutable match object per paper serves them all.
        known = self._matches[paper_index]
        matches = []
        for term in terms:
            if term.term_id in present:
                key = term.key * 2 + relevance
                match = known.get(key)
                if match is None:
                    match = known[key] = self._new_match(term, paper_index, relevance)
                matches.append(match)
        return tuple(matches)

    def _paper_terms(self) -> dict[int, set[int]]:
        """Per selected paper, the terms found in it (title or abstract); made once, when results are first
        read, and only for papers some subscriber got (a week holds 10,000 papers, most picked by no one)."""
        if self._terms_of_paper is None:
            picked = np.zeros(len(self._papers), dtype=bool)
            picked[self._selected] = True
            self._terms_of_paper = {int(index): set() for index in np.flatnonzero(picked)}
            for term_id, papers in enumerate(self._postings.papers):
                for paper_index in papers[picked[papers]].tolist():
                    self._terms_of_paper[paper_index].add(term_id)
        return self._terms_of_paper

    def _authors(self, paper_index: int) -> tuple[tuple[str, str], ...]:
        """The paper's authors with their comparable keys, normalized once per paper."""
        authors = self._author_keys.get(paper_index)
        if authors is None:
            authors = self._author_keys[paper_index] = tuple((name, normalize_author(name)) for name in self._papers[paper_index].authors)
        return authors

    def _new_match(self, term: CountedTerm, paper_index: int, relevance: bool) -> KeywordMatch:
        in_title, in_abstract, factor = self._postings.where(term.term_id, paper_index)
        if relevance:
            units = weight_steps(term.keyword.weight) * factor
        else:
            units = keyword_units(term.keyword.weight, in_title, self._scoring)
        return KeywordMatch(term.keyword.term, in_title, in_abstract, units / SCORE_UNITS, term.source, term.via)
