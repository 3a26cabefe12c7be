"""Subscriptions turned into the day's numbered terms: each distinct term (with its aliases) parsed once for all chats.

A "term" here is what one scored keyword matches: its own pattern, plus the patterns of its
aliases under the relevance ranking (core/aliases.py), found in a paper if any of them is. Each
subscription lists the terms that count for it in priority order (its keywords, then the words of
its phrases, then words learned from feedback); a term listed twice counts once, first wins.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.aliases import AliasTable
from core.matching import InvalidTerm, TermPattern, normalize_author, parse_term
from core.models import KEYWORD, LEARNED, PHRASE_WORD, Keyword, Subscription
from core.relevance import phrase_shares, phrase_word

MAX_KEYWORDS_PER_SUBSCRIPTION = 500
MAX_LEARNED_PER_SUBSCRIPTION = 50
MAX_AUTHORS_PER_SUBSCRIPTION = 100
_UNSEEN = -1


def category_key(category: str) -> str:
    return category.strip().casefold()


@dataclass(frozen=True, slots=True)
class CountedTerm:
    """A term that counts for one subscription: the keyword (spelling, weight), where it came from, its term id."""

    keyword: Keyword
    term_id: int
    source: str = KEYWORD  # KEYWORD | PHRASE_WORD | LEARNED (core/models.py)
    via: str = ""  # the phrase a PHRASE_WORD comes from
    key: int = 0  # the same for equal counted terms of the day: building results looks matches up by it


@dataclass(frozen=True)
class CompiledSubscription:
    """A subscription turned into the day's ids: counted terms, excludes, followed authors, filter profile."""

    subscription: Subscription
    terms: tuple[CountedTerm, ...]
    exclude_ids: tuple[int, ...]
    author_keys: tuple[str, ...]
    profile: int  # index of its (categories, crosslists, replacements) filter

    @property
    def relevance(self) -> bool:
        return self.subscription.ranking != "classic"


class TermCompiler:
    """Numbers the distinct patterns, terms (pattern groups) and filter profiles of one day's subscriptions."""

    def __init__(self, aliases: AliasTable) -> None:
        self.aliases = aliases
        self.patterns: list[TermPattern] = []
        self.terms: list[tuple[int, ...]] = []  # term id -> its pattern ids (the keyword's first)
        self.profiles: dict[tuple[frozenset[str], bool, bool], int] = {}
        self.counted: list[CountedTerm] = []  # every distinct counted term of the day, by its key
        self._pattern_ids: dict[TermPattern, int] = {}
        self._group_ids: dict[tuple[int, ...], int] = {}
        self._term_ids: dict[tuple[str, bool], int | None] = {}
        self._profile_ids: dict[tuple[tuple[str, ...], bool, bool], int] = {}
        self._counted: dict[tuple[str, float, bool, bool, str, str], CountedTerm | None] = {}
        self._exclude_lists: dict[tuple[str, ...], tuple[int, ...]] = {}
        self._phrase_words: dict[tuple[str, float, str], CountedTerm | None] = {}
        self._term_lists: dict[tuple[int, int, bool], tuple[tuple[Keyword, ...], tuple[Keyword, ...], tuple[CountedTerm, ...]]] = {}

    def compile(self, subscription: Subscription) -> CompiledSubscription:
        authors = subscription.authors[:MAX_AUTHORS_PER_SUBSCRIPTION]
        author_keys = tuple(dict.fromkeys(key for key in map(normalize_author, authors) if key)) if authors else ()
        return CompiledSubscription(
            subscription,
            terms=self._counted_terms(subscription.keywords, subscription.learned, subscription.ranking != "classic"),
            exclude_ids=self._exclude_ids(subscription.excludes),
            author_keys=author_keys,
            profile=self._profile(subscription),
        )

    def _exclude_ids(self, excludes: tuple[str, ...]) -> tuple[int, ...]:
        """The term ids of the exclude words (no aliases), once per distinct list (most chats keep the defaults)."""
        known = self._exclude_lists.get(excludes)
        if known is None:
            ids = {self.term_id(term, with_aliases=False) for term in excludes}
            known = self._exclude_lists[excludes] = tuple(sorted(term_id for term_id in ids if term_id is not None))
        return known

    def _counted_terms(self, keywords: tuple[Keyword, ...], learned: tuple[Keyword, ...], relevance: bool) -> tuple[CountedTerm, ...]:
        """The terms that count, in priority order; worked out once per keyword list object (the store gives chats
        with equal keywords one shared tuple). Looked up by identity: hashing every chat's keywords cost more
        than the lookup saves; the entry holds the tuples, so their ids stay theirs."""
        key = (id(keywords), id(learned), relevance)
        known = self._term_lists.get(key)
        if known is not None and known[0] is keywords and known[1] is learned:
            return known[2]
        listed, keywords = keywords, keywords[:MAX_KEYWORDS_PER_SUBSCRIPTION]
        found = [self._counted_term(keyword, KEYWORD, "", relevance) for keyword in keywords]
        if relevance:
            found += [self._phrase_word(word, share, phrase) for word, share, phrase in phrase_shares(keywords)]
            found += [self._counted_term(word, LEARNED, "", relevance) for word in learned[:MAX_LEARNED_PER_SUBSCRIPTION]]
        counted: dict[int, CountedTerm] = {}
        for term in found:
            if term is not None and term.term_id not in counted:
                counted[term.term_id] = term
        terms = tuple(counted.values())
        self._term_lists[key] = (listed, learned, terms)
        return terms

    def _phrase_word(self, word: str, share: float, phrase: str) -> CountedTerm | None:
        """A phrase word's counted term, looked up by its unrounded share (chats with the same phrases sum the same)."""
        spelled = (word, share, phrase)
        try:
            return self._phrase_words[spelled]
        except KeyError:
            counted = self._phrase_words[spelled] = self._counted_term(phrase_word(word, share), PHRASE_WORD, phrase, True)
            return counted

    def term_id(self, term: str, with_aliases: bool) -> int | None:
        """The id of the term (spellings that parse alike share one); None if it is invalid."""
        key = (term, with_aliases)
        term_id = self._term_ids.get(key, _UNSEEN)
        if term_id != _UNSEEN:
            return term_id
        try:
            members = (parse_term(term), *(self.aliases.aliases_of(term) if with_aliases else ()))
        except InvalidTerm:
            self._term_ids[key] = None
            return None
        group = tuple(self._pattern_id(pattern) for pattern in members)
        term_id = self._group_ids.get(group)
        if term_id is None:
            term_id = self._group_ids[group] = len(self.terms)
            self.terms.append(group)
        self._term_ids[key] = term_id
        return term_id

    def _counted_term(self, keyword: Keyword, source: str, via: str, relevance: bool) -> CountedTerm | None:
        """One shared object (with its own key) per distinct counted term of the day; None for an invalid term."""
        spelled = (keyword.term, keyword.weight, keyword.aliases, relevance, source, via)  # plain values hash fastest
        try:
            return self._counted[spelled]
        except KeyError:
            term_id = self.term_id(keyword.term, with_aliases=relevance and keyword.aliases)
            counted = None if term_id is None else CountedTerm(keyword, term_id, source, via, key=len(self.counted))
            if counted is not None:
                self.counted.append(counted)
            self._counted[spelled] = counted
            return counted

    def _pattern_id(self, pattern: TermPattern) -> int:
        pattern_id = self._pattern_ids.get(pattern)
        if pattern_id is None:
            pattern_id = self._pattern_ids[pattern] = len(self.patterns)
            self.patterns.append(pattern)
        return pattern_id

    def _profile(self, subscription: Subscription) -> int:
        spelled = (subscription.categories, subscription.crosslists, subscription.replacements)
        profile = self._profile_ids.get(spelled)
        if profile is None:
            key = (frozenset(map(category_key, subscription.categories)), subscription.crosslists, subscription.replacements)
            profile = self._profile_ids[spelled] = self.profiles.setdefault(key, len(self.profiles))
        return profile
