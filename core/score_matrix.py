"""Integer scores for many subscribers x one day's papers: postings scattered per block, masks, top-k per row.

Each cell of a block holds two scores in one int64: the threshold score (what min_score is checked against) in
the high 32 bits and the order score (what ranks) in the low 32 bits. A keyword counts towards both, so one
scatter of a packed factor adds both at once; every sum stays below 2**30 in each half (the callers' caps), so
the halves never carry into each other.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CELLS_PER_BLOCK = 1 << 19  # subscribers x papers scored at once: 4 MiB of int64 cells
ORDER_BITS = 32
_ORDER_MASK = np.int64((1 << ORDER_BITS) - 1)
_SCORE_LIMIT = 1 << 31  # each half stays below 2**30
DROPPED = np.int64(-(1 << 62))  # a negative threshold half: below every threshold; set after all points are added


def packed(threshold: np.ndarray | int, order: np.ndarray | int) -> np.ndarray:
    """Factors (or points) that add `threshold` to the threshold half and `order` to the order half of a cell."""
    return (np.asarray(threshold, np.int64) << ORDER_BITS) + np.asarray(order, np.int64)


@dataclass(frozen=True)
class Postings:
    """Per id (a term or an author): the papers it occurs in and, per paper, a packed multiplier."""

    papers: Sequence[np.ndarray]
    factors: Sequence[np.ndarray]

    @functools.cached_property
    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All postings end to end: each entry's id, paper and factor (made once; every pass of rows reads it)."""
        counts = np.fromiter(map(len, self.papers), np.int64, len(self.papers))
        ids = np.repeat(np.arange(len(self.papers), dtype=np.int32), counts)
        papers = np.concatenate([*self.papers, np.zeros(0, np.int64)]).astype(np.int32)
        factors = np.concatenate([*self.factors, np.zeros(0, np.int64)]).astype(np.int64)
        return ids, papers, factors


@dataclass(frozen=True)
class RowEntries:
    """(row, id, value) triples: a subscriber row uses a term or an author, with a weight."""

    rows: np.ndarray
    ids: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, rows: np.ndarray, ids: np.ndarray, values: np.ndarray, useful: np.ndarray) -> RowEntries:
        """From parallel arrays, keeping ids marked useful (those with any posting)."""
        keep = useful[ids]
        return cls(rows[keep], ids[keep], values[keep].astype(np.int64))


@dataclass(frozen=True)
class Gains:
    """Entries and the postings they scatter: row r gains value * factor on each paper of id's posting."""

    entries: RowEntries
    postings: Postings


@dataclass(frozen=True)
class RowRules:
    """Per subscriber row: selection threshold, max papers, filter profile; profile x paper eligibility."""

    thresholds: np.ndarray  # on the threshold half
    floors: np.ndarray  # on the order half: 1 where a row needs some match, else 0
    limits: np.ndarray
    profiles: np.ndarray
    eligible: np.ndarray
    skipped: Mapping[int, np.ndarray]  # row -> paper indexes to leave out

    def rows(self, start: int, stop: int) -> RowRules:
        """The rules of rows [start, stop), numbered from 0."""
        return RowRules(
            self.thresholds[start:stop],
            self.floors[start:stop],
            self.limits[start:stop],
            self.profiles[start:stop],
            self.eligible,
            {row - start: papers for row, papers in self.skipped.items() if start <= row < stop},
        )


class _BlockEntries:
    """One entry list split by block of rows once; each block's entries ordered by id."""

    def __init__(self, entries: RowEntries, block: int) -> None:
        blocks = entries.rows // block
        order = np.lexsort((entries.rows, entries.ids, blocks))
        self._rows, self._ids, self._values = entries.rows[order], entries.ids[order], entries.values[order]
        self._bounds = np.searchsorted(blocks[order], np.arange(0, (int(blocks.max()) + 2) if len(blocks) else 1))
        self._block = block

    def of_block(self, number: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The block's (rows relative to its start, ids, values), ordered by id."""
        if number + 1 >= len(self._bounds):
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        begin, end = self._bounds[number], self._bounds[number + 1]
        return self._rows[begin:end] - number * self._block, self._ids[begin:end], self._values[begin:end]


def _by_id(rows: np.ndarray, ids: np.ndarray, values: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Entries ordered by id as one (id, rows, values) group per id."""
    cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    for start, stop in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(ids)].tolist()):
        if start < stop:
            yield int(ids[start]), rows[start:stop], values[start:stop]


@dataclass(frozen=True)
class _BlockPostings:
    """Postings restricted to a block's columns, end to end: id i's columns and factors are [starts[i], starts[i+1])."""

    starts: np.ndarray
    columns: np.ndarray
    factors: np.ndarray

    def of(self, posting_id: int) -> tuple[np.ndarray, np.ndarray]:
        begin, end = self.starts[posting_id], self.starts[posting_id + 1]
        return self.columns[begin:end], self.factors[begin:end]


class _Columns:
    """The papers a block of rows can select at all (consecutive blocks of the same filter profiles share one)."""

    def __init__(self, eligible: np.ndarray) -> None:
        self.papers = np.flatnonzero(eligible)
        self._column_of = np.full(len(eligible), -1, np.int32)
        self._column_of[self.papers] = np.arange(len(self.papers))
        self._postings: dict[int, _BlockPostings] = {}

    def of(self, papers: np.ndarray) -> np.ndarray:
        """Block columns of the given papers that are in the block."""
        columns = self._column_of[papers]
        return columns[columns >= 0]

    def postings(self, key: int, flat: tuple[np.ndarray, np.ndarray, np.ndarray], id_count: int) -> _BlockPostings:
        """A gain list's postings (Postings.flat) in block columns, made once per gain list."""
        known = self._postings.get(key)
        if known is None:
            ids, papers, factors = flat
            columns = self._column_of[papers]
            inside = columns >= 0
            starts = np.zeros(id_count + 1, np.int64)
            np.cumsum(np.bincount(ids[inside], minlength=id_count), out=starts[1:])
            known = self._postings[key] = _BlockPostings(starts, columns[inside], factors[inside])
        return known


def select_top(
    paper_count: int, gains: Sequence[Gains], drops: tuple[RowEntries, Sequence[np.ndarray]], rules: RowRules
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays: offsets per row, each row's selected paper indexes (order desc, index asc), their order
    scores; and per row how many papers passed every rule before the cut to its limit.

    A paper passes when its threshold score reaches the row's threshold and its order score the row's floor;
    a drop entry (an exclude word) removes the paper from the row. Rows should come grouped by profile:
    each block of rows only scores the papers its profiles let through.
    """
    row_count = len(rules.thresholds)
    block = max(1, CELLS_PER_BLOCK // max(1, paper_count))
    scattered = [(_BlockEntries(gain.entries, block), gain.postings.flat, len(gain.postings.papers)) for gain in gains]
    drop_entries = _BlockEntries(drops[0], block)
    # Rows come grouped by profile, so blocks of one set of profiles follow each other: only the latest set's
    # columns (and postings mapped to them, ~9 MB per gain list for a week's papers) are kept.
    columns, profiles_key = None, b""
    parts = []
    for number, start in enumerate(range(0, row_count, block)):
        stop = min(row_count, start + block)
        profiles = np.unique(rules.profiles[start:stop])
        if columns is None or profiles.tobytes() != profiles_key:
            columns, profiles_key = _Columns(rules.eligible[profiles].any(axis=0)), profiles.tobytes()
        cells = np.zeros((stop - start, len(columns.papers)), np.int64)
        for key, (entries, flat, id_count) in enumerate(scattered):
            _scatter(cells, entries.of_block(number), columns.postings(key, flat, id_count))
        for posting_id, rows, _ in _by_id(*drop_entries.of_block(number)):
            cells[rows[:, None], columns.of(drops[1][posting_id])] = DROPPED
        parts.append(_select_block(start, stop, cells, columns, rules))
    rows = np.concatenate([part[0] for part in parts]) if parts else np.zeros(0, np.int64)
    offsets = np.zeros(row_count + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=row_count), out=offsets[1:])
    papers = np.concatenate([part[1] for part in parts]) if parts else np.zeros(0, np.int64)
    units = np.concatenate([part[2] for part in parts]) if parts else np.zeros(0, np.int64)
    matched = np.concatenate([part[3] for part in parts]) if parts else np.zeros(0, np.int64)
    return offsets, papers, units, matched


Selection = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # offsets, papers, order scores, matched counts


def joined(parts: Sequence[Selection], row_count: int) -> Selection:
    """Selections of consecutive row ranges as one."""
    if not parts:
        return np.zeros(row_count + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    counts = np.concatenate([np.diff(part[0]) for part in parts])
    offsets = np.zeros(row_count + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    papers, units, matched = (np.concatenate([part[index] for part in parts]) for index in (1, 2, 3))
    return offsets, papers, units, matched


SMALL_POSTING = 256  # postings with at most this many papers in a block are scattered all at once (np.add.at), not one by one


def _scatter(cells: np.ndarray, entries: tuple[np.ndarray, np.ndarray, np.ndarray], postings: _BlockPostings) -> None:
    """Add each entry's value times its posting's factors to the entry's row.

    Common terms (long postings, many rows) are one outer product each; the many short postings are
    expanded together, so a block costs a few array operations plus one per common term.
    """
    rows, ids, values = entries
    lengths = postings.starts[ids + 1] - postings.starts[ids]
    short = (lengths > 0) & (lengths <= SMALL_POSTING)
    if short.any():
        counts = lengths[short]
        total = int(counts.sum())
        ends = np.cumsum(counts)
        positions = np.repeat(postings.starts[ids[short]] - (ends - counts), counts) + np.arange(total)
        flat = np.repeat(rows[short] * cells.shape[1], counts) + postings.columns[positions]
        np.add.at(cells.reshape(-1), flat, np.repeat(values[short], counts) * postings.factors[positions])
    long = lengths > SMALL_POSTING
    for posting_id, group_rows, group_values in _by_id(rows[long], ids[long], values[long]):
        columns, factors = postings.of(posting_id)
        cells[group_rows[:, None], columns] += np.multiply.outer(group_values, factors)


def _select_block(start: int, stop: int, cells: np.ndarray, columns: _Columns, rules: RowRules) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Filters, thresholds and the top of each row of one block of scored cells."""
    profiles = rules.profiles[start:stop]
    block_profiles = np.unique(profiles)
    if len(block_profiles) > 1:  # one profile: the block's columns are exactly the papers it allows
        for profile in block_profiles:
            barred = np.flatnonzero(~rules.eligible[profile, columns.papers])
            if len(barred):
                cells[np.ix_(np.flatnonzero(profiles == profile), barred)] = DROPPED
    for row, papers in rules.skipped.items():
        if start <= row < stop:
            cells[row - start, columns.of(papers)] = DROPPED
    order = cells & _ORDER_MASK
    passing = ((cells >> ORDER_BITS) >= rules.thresholds[start:stop, None]) & (order >= rules.floors[start:stop, None])
    rows, block_columns, units, matched = _top_per_row(order, passing, rules.limits[start:stop])
    return rows + start, columns.papers[block_columns], units, matched


def _top_per_row(order: np.ndarray, passing: np.ndarray, limits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's passing entries by order score descending then column, cut to its limit; and each row's count
    of passing entries before the cut."""
    columns_count = order.shape[1]
    flat = np.flatnonzero(passing)
    rows, columns = np.divmod(flat, columns_count)
    # One unique int64 key per candidate orders by (row, score descending, column): rows * columns
    # stays below CELLS_PER_BLOCK (2**19) and order scores below 2**31, so the key fits in 50 bits.
    below_top = np.int64(_SCORE_LIMIT - 1) - order.ravel()[flat]
    keys = np.sort((rows * _SCORE_LIMIT + below_top) * columns_count + columns)  # unique keys: any sort gives one order
    rows, rest = np.divmod(keys, _SCORE_LIMIT * columns_count)
    below_top, columns = np.divmod(rest, columns_count)
    counts = np.bincount(rows, minlength=len(limits))
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = rank < limits[rows]
    return rows[keep], columns[keep], (_SCORE_LIMIT - 1) - below_top[keep], counts
