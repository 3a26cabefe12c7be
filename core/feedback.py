"""Learning from a chat's 👍/👎: the words its liked papers use far more than the day's papers do become extra terms.

Why words and not a vector model: the learned words go through the same exact matcher and the
same relevance arithmetic as keywords (core/relevance.py), so a paper they lift says why
("learned: web, planning"), `stats` can show what was learned, and scoring 10,000 chats stays
one pass. A word is learned when several liked papers use it and it is rarer in the background
(recent papers of the chat's categories); each is worth LEARNED_WEIGHT, a fraction of a keyword.
Words that disliked papers use at least as often as liked ones are never learned.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from core.matching import FieldWords
from core.models import ChatRef, ChatSettings, Keyword, Paper
from core.relevance import STOP_WORDS

if TYPE_CHECKING:
    from core.store import Store

LEARNED_WEIGHT = 0.1  # a learned word is worth a tenth of a keyword of weight 1
MAX_LEARNED_TERMS = 40
MIN_WORD_LETTERS = 3
BACKGROUND_PAPERS = 3000  # the recent papers liked words are compared with
BACKGROUND_DAYS = 5


def _telling_words(paper: Paper) -> set[str]:
    words = (*FieldWords.of(paper.title).words, *FieldWords.of(paper.abstract).words)
    return {word for word in words if len(word) >= MIN_WORD_LETTERS and not word.isdigit() and word not in STOP_WORDS}


def learned_terms(
    liked: Sequence[Paper], disliked: Sequence[Paper], background: Sequence[Paper], keywords: Iterable[str] = ()
) -> tuple[Keyword, ...]:
    """The words to learn, most telling first: used by a larger share of liked papers than of the background.

    The score is the share among liked papers times the log of how much more often they use the word
    (a relevance-feedback weighting); a word needs two liked papers (one when only one is liked).
    """
    if not liked:
        return ()
    in_liked = Counter(word for paper in liked for word in _telling_words(paper))
    in_disliked = Counter(word for paper in disliked for word in _telling_words(paper))
    in_background = Counter(word for paper in background for word in _telling_words(paper))
    followed = {word for keyword in keywords for word in FieldWords.of(keyword).words}
    support = min(2, len(liked))
    scored = []
    for word, count in in_liked.items():
        liked_share = count / len(liked)
        if count < support or word in followed:
            continue
        if disliked and in_disliked[word] / len(disliked) >= liked_share:
            continue
        background_share = (in_background[word] + 1) / (len(background) + 2)
        if liked_share > background_share:
            scored.append((liked_share * math.log(liked_share / background_share), word))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return tuple(Keyword(word, LEARNED_WEIGHT) for _, word in scored[:MAX_LEARNED_TERMS])


def votes_by_paper(totals: dict[str, int]) -> tuple[list[str], list[str]]:
    """(liked ids, disliked ids) from net votes per paper."""
    return sorted(i for i, vote in totals.items() if vote > 0), sorted(i for i, vote in totals.items() if vote < 0)


def record_vote(
    store: Store, ref: ChatRef, arxiv_id: str, user_id: str, vote: int, default_categories: Sequence[str]
) -> tuple[Keyword, ...]:
    """A reader's 👍 (+1) or 👎 (-1), from a button or a command: stored, then the chat's learned words redone."""
    store.outbox.record_feedback(ref, arxiv_id, user_id, vote)
    chat = store.chats.get_chat(ref)
    return relearn(store, chat, default_categories) if chat is not None else ()


def relearn(store: Store, chat: ChatSettings, default_categories: Sequence[str]) -> tuple[Keyword, ...]:
    """Recompute and store what the chat learned from all its votes; returns it."""
    liked_ids, disliked_ids = votes_by_paper(store.outbox.feedback_totals(chat.ref))
    papers = store.papers.papers_by_id([*liked_ids, *disliked_ids])
    background: list[Paper] = []
    for day in store.papers.announcement_days(limit=BACKGROUND_DAYS):
        background.extend(store.papers.papers_announced(day, chat.categories or default_categories))
        if len(background) >= BACKGROUND_PAPERS:
            break
    terms = learned_terms(
        [papers[i] for i in liked_ids if i in papers],
        [papers[i] for i in disliked_ids if i in papers],
        background[:BACKGROUND_PAPERS],
        [keyword.term for keyword in chat.keywords],
    )
    store.chats.replace_terms(chat.ref, "learned", [(keyword.term, keyword.weight) for keyword in terms])
    return terms
