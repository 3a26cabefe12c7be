"""Which of many terms occur in which of a day's papers, found in one pass over the day's words."""
from __future__ import annotations

import itertools
from array import array
from collections import defaultdict
from collections.abc import Sequence, Set
from dataclasses import dataclass

import numpy as np

from core.matching import FieldWords, TermPattern, WordPattern, word_forms
from core.models import Paper


@dataclass(frozen=True)
class PaperWords:
    """A paper's title and abstract as words, folded once per day."""

    title: FieldWords
    abstract: FieldWords

    @classmethod
    def of(cls, paper: Paper) -> PaperWords:
        return cls(FieldWords.of(paper.title), FieldWords.of(paper.abstract))


@dataclass(frozen=True)
class TermHits:
    """For every term (by index), the papers (by index, ascending int64 arrays) whose title / abstract contains it."""

    in_title: tuple[np.ndarray, ...]
    in_abstract: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class DayHits:
    """The day's term hits, and each paper's title and abstract length in words (for the relevance ranking)."""

    terms: TermHits
    title_words: tuple[int, ...]
    abstract_words: tuple[int, ...]


class _WordPatternTable:
    """Every distinct word pattern of the day's terms, looked up by word instead of tried one by one."""

    def __init__(self, word_patterns: Sequence[WordPattern]) -> None:
        self._by_form: dict[str, list[int]] = defaultdict(list)
        self._by_prefix: dict[str, list[int]] = defaultdict(list)
        self._by_suffix: dict[str, list[int]] = defaultdict(list)
        self._infixes: list[tuple[int, WordPattern]] = []
        for pattern_id, pattern in enumerate(word_patterns):
            if pattern.kind == "word":
                for form in word_forms(pattern.stem):
                    self._by_form[form].append(pattern_id)
            elif pattern.kind == "prefix":
                self._by_prefix[pattern.stem].append(pattern_id)
            elif pattern.kind == "suffix":
                self._by_suffix[pattern.stem].append(pattern_id)
            else:
                self._infixes.append((pattern_id, pattern))
        self._prefix_lengths = sorted({len(stem) for stem in self._by_prefix})
        self._suffix_lengths = sorted({len(stem) for stem in self._by_suffix})

    def patterns_of(self, word: str) -> set[int]:
        forms = word_forms(word)
        found: set[int] = set()
        for form in forms:
            found.update(self._by_form.get(form, ()))
        for length in self._prefix_lengths:
            found.update(self._by_prefix.get(word[:length], ()))
        for form in forms:
            for length in self._suffix_lengths:
                found.update(self._by_suffix.get(form[-length:], ()))
        found.update(pattern_id for pattern_id, pattern in self._infixes if pattern.matches(word))
        return found


@dataclass(frozen=True)
class _WordRole:
    """What one of the day's words can do: patterns it matches, terms it completes, phrases it starts."""

    patterns: Set[int]
    single_word_terms: frozenset[int]
    phrase_starts: tuple[tuple[int, tuple[int, ...], frozenset[int]], ...]  # (term id, the phrase's pattern ids, as a set)


def _as_arrays(packed: Sequence[array[int]]) -> tuple[np.ndarray, ...]:
    return tuple(np.frombuffer(values, dtype=np.int64) if len(values) else np.zeros(0, np.int64) for values in packed)


HITS_BATCH_PAPERS = 500  # papers whose words are held at once while finding terms


class TermMatcher:
    """Compiles the union of all subscribed terms once; then finds all of them in each field at once."""

    def __init__(self, terms: Sequence[TermPattern]) -> None:
        pattern_ids: dict[WordPattern, int] = {}
        for term in terms:
            for word in term.words:
                pattern_ids.setdefault(word, len(pattern_ids))
        self._table = _WordPatternTable(list(pattern_ids))
        self._single_word_terms: dict[int, list[int]] = defaultdict(list)
        self._phrases_by_first: dict[int, list[tuple[int, tuple[int, ...]]]] = defaultdict(list)
        for term_id, term in enumerate(terms):
            ids = tuple(pattern_ids[word] for word in term.words)
            if len(ids) == 1:
                self._single_word_terms[ids[0]].append(term_id)
            else:
                self._phrases_by_first[ids[0]].append((term_id, ids))
        self.term_count = len(terms)

    def hits(self, papers: Sequence[Paper]) -> DayHits:
        """One pass over the papers, a batch at a time (a week is 10,000 papers: their words are not held at
        once); each distinct word is resolved once for the whole pass."""
        roles: dict[str, _WordRole] = {}  # the words that match some pattern
        seen: set[str] = set()
        # Papers are read in order, so each term's papers arrive ascending: packed arrays, not sets of ints.
        in_title = [array("q") for _ in range(self.term_count)]
        in_abstract = [array("q") for _ in range(self.term_count)]
        title_words, abstract_words = [], []
        for start in range(0, len(papers), HITS_BATCH_PAPERS):
            batch = [PaperWords.of(paper) for paper in papers[start : start + HITS_BATCH_PAPERS]]
            for paper_index, words in enumerate(batch, start):
                title_words.append(len(words.title.words))
                abstract_words.append(len(words.abstract.words))
                for field, target in ((words.title, in_title), (words.abstract, in_abstract)):
                    self._resolve(field, roles, seen)
                    for term_id in self._terms_in(field, frozenset(field.words), roles):
                        target[term_id].append(paper_index)
        return DayHits(TermHits(_as_arrays(in_title), _as_arrays(in_abstract)), tuple(title_words), tuple(abstract_words))

    def _resolve(self, field: FieldWords, roles: dict[str, _WordRole], seen: set[str]) -> None:
        """Add the roles of the field's words not seen before (each distinct word is looked up once)."""
        for word in itertools.chain(field.words, field.compounds):
            if word not in seen:
                seen.add(word)
                role = self._role(word)
                if role is not None:
                    roles[word] = role

    def _role(self, word: str) -> _WordRole | None:
        patterns = self._table.patterns_of(word)
        if not patterns:
            return None
        singles = frozenset(term_id for pattern_id in patterns for term_id in self._single_word_terms.get(pattern_id, ()))
        starts = {term_id: ids for pattern_id in patterns for term_id, ids in self._phrases_by_first.get(pattern_id, ())}
        return _WordRole(patterns, singles, tuple((term_id, ids, frozenset(ids)) for term_id, ids in starts.items()))

    @staticmethod
    def _terms_in(field: FieldWords, words: frozenset[str], roles: dict[str, _WordRole]) -> set[int]:
        found: set[int] = set()
        for compound in field.compounds & roles.keys():
            found.update(roles[compound].single_word_terms)
        present = words & roles.keys()
        present_patterns: set[int] = set()
        for word in present:
            role = roles[word]
            found.update(role.single_word_terms)
            present_patterns.update(role.patterns)
        # A phrase can only be there when every one of its words is: a set test before any text search.
        candidates = {
            term_id: ids
            for word in present
            for term_id, ids, needed in roles[word].phrase_starts
            if needed <= present_patterns and term_id not in found
        }
        if not candidates:
            return found
        words_of_pattern: dict[int, list[str]] = defaultdict(list)
        for word in present:
            for pattern_id in roles[word].patterns:
                words_of_pattern[pattern_id].append(word)
        # Consecutive words, found by substring search in the words joined by single spaces.
        spaced = f" {' '.join(field.words)} "
        for term_id, ids in candidates.items():
            spellings = itertools.product(*(words_of_pattern[pattern_id] for pattern_id in ids))
            if any(f" {' '.join(spelling)} " in spaced for spelling in spellings):
                found.add(term_id)
        return found
