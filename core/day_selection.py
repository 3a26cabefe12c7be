"""One day's selection for every subscriber, held as arrays; the result objects (ScoredPaper, KeywordMatch) are built
only when a subscriber's list is read, and the outbox reads plain entries without building them.

Building is bulk work for the scheduler (10,000 chats x ~27 papers x ~5 matches a day), so it is done for a
run of subscribers at once: one array pass finds which of each subscriber's terms occur in each of its papers
and reduces every match to a code holding all its KeywordMatch says (counted term, ranking, title / abstract,
relevance factor). Equal codes share one KeywordMatch and equal code sequences one tuple, across papers and
chats: a day's 1.4 million matches are some 80,000 objects. A caller reading subscribers in their order gets
lists built READ_AHEAD_CHATS at a time, with the cycle collector paused while they are made (see _build)."""
from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.collector import collector_paused
from core.config import ScoringSettings
from core.matching import normalize_author
from core.models import KEYWORD, DigestPlan, KeywordMatch, Paper, ScoredPaper
from core.scoring_units import SCORE_UNITS, keyword_units, weight_steps
from core.subscription_terms import CompiledSubscription, CountedTerm

RESULT_CACHE_PAPERS = 100_000  # ScoredPaper objects built between clearings of the shared-match caches
READ_AHEAD_CHATS = 256  # most subscribers whose lists are built at once (a run read in order doubles up to it)
_FLAGS = 4  # a record's low bits: 2 * in_title + in_abstract


@dataclass(frozen=True)
class TermPostings:
    """Per term: the papers it occurs in (sorted), whether in the title / abstract of each, and its relevance
    factor in each (hundredths). Arrays, not sets: a week's postings are held for every chat's results."""

    papers: tuple[np.ndarray, ...]
    in_title: tuple[np.ndarray, ...]  # bool, parallel to papers
    in_abstract: tuple[np.ndarray, ...]
    relevance: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Occurrences:
    """term x selected paper -> record: factor * 4 + 2 * in_title + in_abstract, 0 where the term is not in the
    paper. Only papers some subscriber got have a column (a week holds 10,000 papers, most picked by no one);
    the benchmark day's table is 1,014 terms x 1,450 papers of 2 bytes."""

    records: np.ndarray  # unsigned, the narrowest type that holds record_span
    columns: np.ndarray  # paper index -> its column (meaningful for selected papers only)
    record_span: int  # every record is below it, so match codes (see DaySelection) stay distinct

    @classmethod
    def of(cls, postings: TermPostings, selected: np.ndarray, paper_count: int) -> Occurrences:
        picked = np.unique(selected)
        columns = np.zeros(paper_count, np.int64)
        columns[picked] = np.arange(len(picked))
        term_count = len(postings.papers)
        if not term_count:
            return cls(np.zeros((0, len(picked)), np.uint8), columns, _FLAGS)
        papers = np.concatenate(postings.papers).astype(np.int64)
        terms = np.repeat(np.arange(term_count), [len(found) for found in postings.papers])
        records = (
            np.concatenate(postings.relevance).astype(np.int64) * _FLAGS
            + np.concatenate(postings.in_title).astype(np.int64) * 2
            + np.concatenate(postings.in_abstract).astype(np.int64)
        )
        span = int(records.max(initial=0)) + 1
        kept = np.isin(papers, picked)
        table = np.zeros((term_count, len(picked)), np.min_scalar_type(span))
        table[terms[kept], columns[papers[kept]]] = records[kept]
        return cls(table, columns, span)


_TERM_ID, _TERM_KEY = operator.attrgetter("term_id"), operator.attrgetter("key")


@dataclass(frozen=True)
class _FoundMatches:
    """A run of papers' matches as arrays, in order: their codes, where each paper's start (bounds, one more
    than papers) and each match's counted term (terms[terms_at]).

    A code is (counted term key * 2 + relevance ranking) * record_span + record (see Occurrences; the
    factor left out for the classic ranking): equal codes mean equal KeywordMatch objects."""

    codes: np.ndarray
    bounds: np.ndarray
    terms: list[CountedTerm]
    terms_at: np.ndarray
    record_span: int


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The indexes of the ranges [starts[i], stops[i]), one after the other."""
    lengths = stops - starts
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))


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
        self._order = list(self._rows)
        self._positions = {subscriber: position for position, subscriber in enumerate(self._order)}
        self._offsets, self._selected, self._units, self._matched = selection
        self._postings = postings
        self._considered = considered
        self._scoring = scoring
        self._occurrences: Occurrences | None = None
        self._ahead: dict[str, list[ScoredPaper]] = {}  # lists built for the subscribers expected next
        self._next_position = 0  # where a caller reading in order reads next
        self._run = 1
        self._match_of_code: dict[int, KeywordMatch] = {}
        self._matches_of_codes: dict[bytes, tuple[KeywordMatch, ...]] = {}
        self._author_keys: dict[int, tuple[tuple[str, ...], tuple[str, ...], frozenset[str]]] = {}
        self._results_built = 0
        self._plan_columns: tuple[np.ndarray, np.ndarray] | None = None  # every paper's arXiv id and version

    def __getitem__(self, subscriber: str) -> list[ScoredPaper]:
        scored = self._ahead.pop(subscriber, None)
        if scored is None:
            position = self._positions[subscriber]
            # Read ahead only for a caller reading in order; one reading here and there gets its own list.
            self._run = min(2 * self._run, READ_AHEAD_CHATS) if position == self._next_position else 1
            run = self._order[position : position + self._run]
            self._next_position = position + len(run)
            self._ahead = dict(zip(run, self._build([self._rows[name] for name in run])))
            scored = self._ahead.pop(subscriber)
        return scored

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def selected_ids(self, subscriber: str) -> list[str]:
        """The selected arXiv ids in order, without building ScoredPaper objects."""
        row = self._rows[subscriber]
        chosen = self._selected[self._offsets[row] : self._offsets[row + 1]].tolist()
        return [self._papers[paper_index].arxiv_id for paper_index in chosen]

    def plans(self, subscribers: Sequence[str]) -> list[DigestPlan]:
        """Each subscriber's selected papers in order as the outbox plans them, read from the arrays (no ScoredPaper
        built): one array pass for all of them (a chunk of chats), then each one's slice of the lists."""
        if self._plan_columns is None:
            self._plan_columns = (
                np.array([paper.arxiv_id for paper in self._papers], dtype=object),
                np.array([paper.version for paper in self._papers], dtype=np.int64),
            )
        ids, versions = self._plan_columns
        rows = np.array([self._rows[subscriber] for subscriber in subscribers], dtype=np.int64)
        starts, stops = self._offsets[rows], self._offsets[rows + 1]
        picked = _ranges(starts, stops)
        chosen = self._selected[picked]
        all_ids, all_versions = ids[chosen].tolist(), versions[chosen].tolist()
        all_scores = (self._units[picked] / SCORE_UNITS).tolist()
        ends = np.cumsum(stops - starts).tolist()
        plans, start = [], 0
        for end in ends:
            plans.append(DigestPlan(tuple(all_ids[start:end]), tuple(all_versions[start:end]), tuple(all_scores[start:end])))
            start = end
        return plans

    def matched_count(self, subscriber: str) -> int:
        """How many papers passed every rule (filters, excludes, min_score, not skipped) before the cut to max_papers."""
        return int(self._matched[self._rows[subscriber]])

    def considered(self, subscriber: str) -> int:
        """How many of the day's papers passed the subscriber's category and type filters."""
        return int(self._considered[self._compiled[self._rows[subscriber]].profile])

    def _build(self, rows: list[int]) -> list[list[ScoredPaper]]:
        """The rows' ScoredPaper lists: the matches of all of them found in one array pass, then the objects."""
        entries = [self._compiled[row] for row in rows]
        starts, stops = self._offsets[rows], self._offsets[np.add(rows, 1)]
        picked = _ranges(starts, stops)
        chosen, scores, counts = self._selected[picked], (self._units[picked] / SCORE_UNITS).tolist(), (stops - starts).tolist()
        if self._results_built + len(chosen) > RESULT_CACHE_PAPERS:
            # The scheduler reads results a chunk of chats at a time; shared matches of earlier chunks are
            # kept by their digests while needed, so the caches start again instead of growing all tick.
            self._results_built = 0
            self._match_of_code.clear()
            self._matches_of_codes.clear()
            self._author_keys.clear()
        self._results_built += len(chosen)
        found = self._found_matches(entries, counts, chosen)
        papers, chosen_papers = self._papers, chosen.tolist()
        built = []
        with collector_paused(len(chosen)):
            matches = self._shared_matches(found)
            at = 0
            for entry, count in zip(entries, counts):
                stop = at + count
                indexes = chosen_papers[at:stop]
                authors = [self._matched_authors(entry, index) for index in indexes] if entry.author_keys else [()] * count
                # Related: found by neither a followed author nor a keyword. Keywords come first in a term list
                # (core/subscription_terms.py), so the first match tells.
                built.append([
                    ScoredPaper(
                        papers[index], score, matched, followed, not (followed or (matched and matched[0].source == KEYWORD))
                    )
                    for index, score, matched, followed in zip(indexes, scores[at:stop], matches[at:stop], authors)
                ])
                at = stop
        return built

    def _found_matches(self, entries: list[CompiledSubscription], counts: list[int], chosen: np.ndarray) -> _FoundMatches:
        """Every match of the chosen papers (counts[i] of them for entries[i]), in each term list's order."""
        occurrences = self._occurrences_of_selected()
        terms = [term for entry in entries for term in entry.terms]
        lengths = np.array([len(entry.terms) for entry in entries], np.int64)
        relevance = np.repeat(np.array([entry.relevance for entry in entries], dtype=bool), lengths)  # per term
        # Per term: where its row of the table starts, and its code without the record.
        term_cells = np.fromiter(map(_TERM_ID, terms), np.int64, len(terms)) * occurrences.records.shape[1]
        term_codes = (np.fromiter(map(_TERM_KEY, terms), np.int64, len(terms)) * 2 + relevance) * occurrences.record_span
        record_masks = np.where(relevance, -1, _FLAGS - 1)  # classic points depend on the weight and the title only
        owner = np.repeat(np.arange(len(entries)), counts)  # each chosen paper's entry
        pairs = lengths[owner]  # each chosen paper is tried against its entry's terms, in their order
        pair_bounds = np.concatenate(([0], np.cumsum(pairs)))
        pair_term = np.repeat((np.cumsum(lengths) - lengths)[owner] - pair_bounds[:-1], pairs) + np.arange(pair_bounds[-1])
        pair_records = occurrences.records.ravel().take(term_cells[pair_term] + np.repeat(occurrences.columns[chosen], pairs))
        found = np.flatnonzero(pair_records)
        terms_at = pair_term[found]
        codes = term_codes[terms_at] + (pair_records[found] & record_masks[terms_at])
        return _FoundMatches(codes, np.searchsorted(found, pair_bounds), terms, terms_at, occurrences.record_span)

    def _shared_matches(self, found: _FoundMatches) -> list[tuple[KeywordMatch, ...]]:
        """Each paper's tuple of matches: one shared tuple per code sequence, one KeywordMatch per code."""
        width = found.codes.itemsize
        packed, byte_bounds = found.codes.tobytes(), (found.bounds * width).tolist()
        keys = [packed[first:last] for first, last in zip(byte_bounds, byte_bounds[1:])]
        known = self._matches_of_codes
        matches = [known.get(key) for key in keys]
        missing = [at for at, paper_matches in enumerate(matches) if paper_matches is None]
        if not missing:
            return matches  # type: ignore[return-value]  # no None left
        # Only the missing papers' matches are read back: most papers' tuples are known by now.
        starts, stops = found.bounds[missing], found.bounds[np.add(missing, 1)]
        needed = _ranges(starts, stops)
        code_list, terms_at = found.codes[needed].tolist(), found.terms_at[needed].tolist()
        known_match = self._match_of_code
        for code, at in zip(code_list, terms_at):
            if code not in known_match:
                known_match[code] = self._new_match(found.terms[at], code, found.record_span)
        new_matches = list(map(known_match.__getitem__, code_list))
        bounds = np.concatenate(([0], np.cumsum(stops - starts))).tolist()
        for at, first_code, last_code in zip(missing, bounds, bounds[1:]):
            paper_matches = known.get(keys[at])
            if paper_matches is None:
                paper_matches = known[keys[at]] = tuple(new_matches[first_code:last_code])
            matches[at] = paper_matches
        return matches  # type: ignore[return-value]  # every None was filled

    def _new_match(self, term: CountedTerm, code: int, record_span: int) -> KeywordMatch:
        ranked, record = divmod(code, record_span)
        factor, flags = divmod(record, _FLAGS)
        in_title, in_abstract = bool(flags & 2), bool(flags & 1)
        if ranked % 2:  # the relevance ranking
            units = weight_steps(term.keyword.weight) * factor
        else:
            units = keyword_units(term.keyword.weight, in_title, self._scoring)
        return KeywordMatch(term.keyword.term, in_title, in_abstract, units / SCORE_UNITS, term.source, term.via)

    def _occurrences_of_selected(self) -> Occurrences:
        """Made once, when results are first read."""
        if self._occurrences is None:
            self._occurrences = Occurrences.of(self._postings, self._selected, len(self._papers))
        return self._occurrences

    def _matched_authors(self, entry: CompiledSubscription, paper_index: int) -> tuple[str, ...]:
        authors = self._author_keys.get(paper_index)
        if authors is None:  # the paper's authors with their comparable keys, normalized once per paper
            names = self._papers[paper_index].authors
            keys = tuple(map(normalize_author, names))
            authors = self._author_keys[paper_index] = (names, keys, frozenset(keys))
        names, keys, present = authors
        if present.isdisjoint(entry.author_keys):  # most papers: none of the chat's authors
            return ()
        return tuple(name for name, key in zip(names, keys) if key in entry.author_keys)
