"""The relevance ranking's arithmetic: how much one matched term is worth in one paper (BM25 over title and abstract).

Why not the classic sum of weights: on real curated lists (benchmarks/ranking.py) a generic word
("framework", "efficient") counted as much as a specific one, and a title hit counted three times
without limit, so one generic title word outranked a paper squarely on topic. Here a match is worth

    weight * informativeness(term) * saturation(hits, paper length)

* informativeness: BM25's idf over the day's papers, scaled so that a term found in about one
  paper in twenty is worth 1; words half the papers use are worth about 0.2.
* saturation: the title counts ``TITLE_HITS`` abstract hits; hits saturate (BM25's k1) and long
  papers need more of them (b), so a paper cannot win by repeating one word.

A phrase also lends a share of its weight to its own words (``phrase_words``): "LLM agent" then
reaches papers on "LLM-based agents", ranked below those that use the phrase itself.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from core.matching import InvalidTerm, parse_term
from core.models import Keyword

RANKINGS = ("relevance", "classic")
BM25_K1 = 1.2
BM25_B = 0.75
TITLE_HITS = 3  # a title hit counts as this many abstract hits before saturation
IDF_REFERENCE = math.log(20.0)  # BM25 idf of a term in ~1 of 20 papers: the unit of informativeness
PHRASE_WORD_SHARE = 0.4  # a phrase's words together are worth this share of the phrase's weight
FACTOR_STEPS = 100  # factors are kept in hundredths, as weights are
MAX_FACTOR = 10 * FACTOR_STEPS  # bounds every factor so integer scores stay below 2**30 (core/scoring.py)
# Words a phrase's back-off leaves out: they say nothing about a topic.
STOP_WORDS = frozenset(
    "a an and are as at based be by for from in into is of on or the to use used using via with without".split()
)


def informativeness(document_frequency: np.ndarray, paper_count: int) -> np.ndarray:
    """BM25's idf of terms found in `document_frequency` of `paper_count` papers, in units of IDF_REFERENCE."""
    rest = np.maximum(paper_count - document_frequency, 0) + 0.5
    return np.log1p(rest / (document_frequency + 0.5)) / IDF_REFERENCE


def saturation(hits: np.ndarray, lengths: np.ndarray, average_length: float) -> np.ndarray:
    """BM25's term-frequency part: `hits` (title hits count TITLE_HITS) in papers of the given lengths."""
    norm = 1 - BM25_B + BM25_B * lengths / max(average_length, 1.0)
    return hits * (BM25_K1 + 1) / (hits + BM25_K1 * norm)


def paper_lengths(title_words: Sequence[int], abstract_words: Sequence[int]) -> np.ndarray:
    """A paper's length as BM25 sees it: title words weigh like title hits."""
    return TITLE_HITS * np.asarray(title_words, np.float64) + np.asarray(abstract_words, np.float64)


def relevance_factors(
    papers: np.ndarray, in_title: np.ndarray, in_abstract: np.ndarray, lengths: np.ndarray, paper_count: int, average_length: float
) -> np.ndarray:
    """One term's factor (in hundredths) for each paper it occurs in; `in_title`/`in_abstract` mark where."""
    hits = TITLE_HITS * in_title.astype(np.float64) + in_abstract
    weight = informativeness(np.asarray(len(papers), np.float64), paper_count) * saturation(hits, lengths[papers], average_length)
    return np.clip(np.rint(weight * FACTOR_STEPS), 1, MAX_FACTOR).astype(np.int32)


@functools.lru_cache(maxsize=1 << 14)
def _telling_words(term: str) -> tuple[tuple[str, ...], int]:
    """A phrase keyword's words that say something, and its number of words (nothing for a single word or
    an invalid term)."""
    try:
        pattern = parse_term(term)
    except InvalidTerm:
        return (), 0
    if len(pattern.words) < 2:
        return (), 0
    return tuple(word.spelled for word in pattern.words if word.stem not in STOP_WORDS), len(pattern.words)


def phrase_words(keywords: Sequence[Keyword]) -> tuple[tuple[Keyword, str], ...]:
    """(word as a keyword, the first phrase it comes from) for the telling words of the phrase keywords.

    Each phrase lends its words PHRASE_WORD_SHARE / (words in the phrase) of its weight; a word in
    several phrases ("agent" in "LLM agent", "web agent", "multi-agent") collects every share, since
    it is what those phrases have in common. Words that are keywords themselves keep their own weight
    (the scorer counts a term once, the keyword first).
    """
    return tuple((phrase_word(word, share), phrase) for word, share, phrase in phrase_shares(keywords))


def phrase_shares(keywords: Sequence[Keyword]) -> list[tuple[str, float, str]]:
    """(word, its summed share of the phrases' weights, the first phrase it comes from), as phrase_words without
    making the keywords (the term compiler looks its counted terms up by these values)."""
    shares: dict[str, list] = {}
    for keyword in keywords:
        words, length = _telling_words(keyword.term)
        if not words:
            continue
        share = keyword.weight * PHRASE_WORD_SHARE / length
        for word in words:
            known = shares.get(word)
            if known is None:
                shares[word] = [word, share, keyword.term]
            else:
                known[1] += share
    return [(word, share, phrase) for word, share, phrase in shares.values()]


def phrase_word(word: str, share: float) -> Keyword:
    """A phrase word as a keyword: its share rounded to the hundredths weights count in."""
    return _keyword(word, round(share, 2))


@functools.lru_cache(maxsize=1 << 14)
def _keyword(word: str, weight: float) -> Keyword:
    """One shared Keyword per phrase word and share: thousands of chats follow the same phrases."""
    return Keyword(word, weight)
