"""Integer scores for many subscribers x one day's papers: postings scattered per block, masks, top-k per row."""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CELLS_PER_BLOCK = 1 << 19  # subscribers x papers scored at once: 2 MiB per int32 matrix (threshold and order)
_SCORE_LIMIT = 1 << 31  # scores are int32; callers keep every possible sum below 2**30
DROPPED = np.int32(-(1 << 30))  # below every threshold; set after all points are added


@dataclass(frozen=True)
class Postings:
    """Per id (a term or an author): the papers it occurs in and, per paper, a multiplier."""

    papers: tuple[np.ndarray, ...]
    factors: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class RowEntries:
    """(row, id, value) triples (a subscriber row uses a term or author, with a weight), by block."""

    rows: np.ndarray
    ids: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, ids_per_row: Sequence[Sequence[int]], values_per_row: Sequence[Sequence[int]], useful: np.ndarray) -> RowEntries:
        """From each row's ids and values, keeping ids marked useful (those with any posting)."""
        counts = np.fromiter(map(len, ids_per_row), np.int64, len(ids_per_row))
        rows = np.repeat(np.arange(len(ids_per_row), dtype=np.int64), counts)
        ids = np.fromiter(itertools.chain.from_iterable(ids_per_row), np.int64, int(counts.sum()))
        values = np.fromiter(itertools.chain.from_iterable(values_per_row), np.int32, int(counts.sum()))
        keep = useful[ids]
        rows, ids, values = rows[keep], ids[keep], values[keep]
        order = np.lexsort((rows, ids))
        return cls(rows[order], ids[order], values[order])

    def groups(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(id, rows relative to start, values) for the rows in [start, stop), one group per id."""
        inside = (self.rows >= start) & (self.rows < stop)
        rows, ids, values = self.rows[inside] - start, self.ids[inside], self.values[inside]
        bounds = np.flatnonzero(np.diff(ids)) + 1
        for begin, end in zip(np.r_[0, bounds], np.r_[bounds, len(ids)]):
            if begin < end:
                yield int(ids[begin]), rows[begin:end], values[begin:end]


@dataclass(frozen=True)
class RowRules:
    """Per subscriber row: selection threshold, max papers, filter profile; profile x paper eligibility."""

    thresholds: np.ndarray  # on the threshold score (the gains)
    floors: np.ndarray  # on the order score (the order gains): 1 where a row needs some match, else 0
    limits: np.ndarray
    profiles: np.ndarray
    eligible: np.ndarray
    skipped: Mapping[int, np.ndarray]  # row -> paper indexes to leave out


def select_top(
    paper_count: int,
    gains: Sequence[tuple[RowEntries, Postings]],
    drops: tuple[RowEntries, Sequence[np.ndarray]],
    rules: RowRules,
    order_gains: Sequence[tuple[RowEntries, Postings]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays: offsets per row, each row's selected paper indexes (order desc, index asc), their order
    scores; and per row how many papers passed every rule before the cut to its limit.

    A row's threshold score for a paper is the sum over its gain entries of value * factor for that
    paper; a paper passes when it reaches the row's threshold and its order score (the same sum over
    `order_gains`, or the threshold score itself) reaches the row's floor. A drop entry (an exclude
    word) removes the paper from the row. Rows should come grouped by profile: each block of rows
    only scores the papers its profiles let through.
    """
    row_count = len(rules.thresholds)
    block = max(1, CELLS_PER_BLOCK // max(1, paper_count))
    parts = [_select_block(start, min(row_count, start + block), gains, drops, rules, order_gains) for start in range(0, row_count, block)]
    rows = np.concatenate([part[0] for part in parts]) if parts else np.zeros(0, np.int64)
    offsets = np.zeros(row_count + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=row_count), out=offsets[1:])
    papers = np.concatenate([part[1] for part in parts]) if parts else np.zeros(0, np.int64)
    units = np.concatenate([part[2] for part in parts]) if parts else np.zeros(0, np.int64)
    matched = np.concatenate([part[3] for part in parts]) if parts else np.zeros(0, np.int64)
    return offsets, papers, units, matched


class _Columns:
    """The papers a block of rows can select at all, and the map from paper index to block column."""

    def __init__(self, eligible: np.ndarray) -> None:
        self.papers = np.flatnonzero(eligible)
        self._column_of = np.full(len(eligible), -1, np.int64)
        self._column_of[self.papers] = np.arange(len(self.papers))

    def of(self, papers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block columns of the given papers, and which of them are in the block at all."""
        columns = self._column_of[papers]
        inside = columns >= 0
        return columns[inside], inside


def _select_block(
    start: int,
    stop: int,
    gains: Sequence[tuple[RowEntries, Postings]],
    drops: tuple[RowEntries, Sequence[np.ndarray]],
    rules: RowRules,
    order_gains: Sequence[tuple[RowEntries, Postings]] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    profiles = rules.profiles[start:stop]
    columns = _Columns(rules.eligible[np.unique(profiles)].any(axis=0))
    scores = _scatter(start, stop, columns, gains)
    order = scores if order_gains is None else _scatter(start, stop, columns, order_gains)
    drop_entries, drop_papers = drops
    for posting_id, rows, _ in drop_entries.groups(start, stop):
        scores[rows[:, None], columns.of(drop_papers[posting_id])[0]] = DROPPED
    for profile in np.unique(profiles):
        barred = np.flatnonzero(~rules.eligible[profile, columns.papers])
        if len(barred):
            scores[np.ix_(np.flatnonzero(profiles == profile), barred)] = DROPPED
    for row, papers in rules.skipped.items():
        if start <= row < stop:
            scores[row - start, columns.of(papers)[0]] = DROPPED
    passing = (scores >= rules.thresholds[start:stop, None]) & (order >= rules.floors[start:stop, None])
    rows, block_columns, units, matched = _top_per_row(order, passing, rules.limits[start:stop])
    return rows + start, columns.papers[block_columns], units, matched


def _scatter(start: int, stop: int, columns: _Columns, gains: Sequence[tuple[RowEntries, Postings]]) -> np.ndarray:
    """The block's score matrix: each gain entry's value times its postings' factors, summed."""
    scores = np.zeros((stop - start, len(columns.papers)), np.int32)
    for entries, postings in gains:
        for posting_id, rows, values in entries.groups(start, stop):
            papers, inside = columns.of(postings.papers[posting_id])
            scores[rows[:, None], papers] += np.multiply.outer(values, postings.factors[posting_id][inside])
    return scores


def _top_per_row(scores: np.ndarray, passing: np.ndarray, limits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's passing entries by score descending then column, cut to its limit; and each row's count
    of passing entries before the cut."""
    columns_count = scores.shape[1]
    flat = np.flatnonzero(passing)
    rows, columns = np.divmod(flat, columns_count)
    # One unique int64 key per candidate orders by (row, score descending, column): rows * columns
    # stays below CELLS_PER_BLOCK (2**19) and scores below 2**31, so the key fits in 53 bits.
    below_top = np.int64(_SCORE_LIMIT - 1) - scores.ravel()[flat]
    keys = np.sort((rows * _SCORE_LIMIT + below_top) * columns_count + columns, kind="stable")  # runs per row: timsort is fast
    rows, rest = np.divmod(keys, _SCORE_LIMIT * columns_count)
    below_top, columns = np.divmod(rest, columns_count)
    counts = np.bincount(rows, minlength=len(limits))
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = rank < limits[rows]
    return rows[keep], columns[keep], (_SCORE_LIMIT - 1) - below_top[keep], counts
