"""A chat's reading list: saving a paper (from 🔖 or `save`) keeps it and counts as a 👍 for ranking."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.feedback import record_vote
from core.models import ChatRef

if TYPE_CHECKING:
    from core.store import Store

MAX_SAVED_PER_CHAT = 1000  # a reading list, not an archive: `bibtex` of it still fits one file and one export


class ReadingListFull(Exception):
    """The chat has MAX_SAVED_PER_CHAT papers saved already."""


def save_paper(store: Store, ref: ChatRef, arxiv_id: str, user_id: str, default_categories: Sequence[str]) -> bool:
    """Save a stored paper for the chat and record the saver's 👍 (re-learning the chat's words).

    Returns False when it was saved already. It never plans a delivery: a saved paper is not re-sent.
    """
    if store.saved.count_saved(ref) >= MAX_SAVED_PER_CHAT and not store.saved.is_saved(ref, arxiv_id):
        raise ReadingListFull(f"The reading list holds at most {MAX_SAVED_PER_CHAT} papers: unsave some first.")
    added = store.saved.save_paper(ref, arxiv_id)
    record_vote(store, ref, arxiv_id, user_id, +1, default_categories)
    return added
