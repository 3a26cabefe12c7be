"""Each chat's reading list (the `saved` table), and papers stored by id outside any announcement."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.models import ChatRef, Paper
from core.store.papers import paper_row

if TYPE_CHECKING:
    from core.store.db import Store


@dataclass(frozen=True)
class SavedPaper:
    """A paper on a chat's reading list and when it was saved."""

    paper: Paper
    saved_at: dt.datetime


class SavedQueries:
    """`Store.saved`: saved (reading lists) and papers fetched by id."""

    def __init__(self, store: Store) -> None:
        self._store = store  # the connection, its write lock and the clock

    def save_paper(self, ref: ChatRef, arxiv_id: str) -> bool:
        """Put a stored paper on the chat's reading list; False if it was there already (its date is kept)."""
        with self._store.transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO saved (chat, arxiv_id, saved_at) VALUES (?, ?, ?)",
                [self._store.chats.chat_pk(ref), arxiv_id, self._store.now_iso()],
            )
        return cursor.rowcount > 0

    def unsave_paper(self, ref: ChatRef, arxiv_id: str) -> bool:
        """Take a paper off the chat's reading list; False if it was not on it."""
        with self._store.transaction() as db:
            cursor = db.execute("DELETE FROM saved WHERE chat = ? AND arxiv_id = ?", [self._store.chats.chat_pk(ref), arxiv_id])
        return cursor.rowcount > 0

    def is_saved(self, ref: ChatRef, arxiv_id: str) -> bool:
        row = self._store.db.execute(
            "SELECT 1 FROM saved s JOIN chats c ON c.id = s.chat WHERE c.platform = ? AND c.chat_id = ? AND s.arxiv_id = ?",
            [ref.platform, ref.chat_id, arxiv_id],
        ).fetchone()
        return row is not None

    def count_saved(self, ref: ChatRef) -> int:
        row = self._store.db.execute(
            "SELECT COUNT(*) FROM saved s JOIN chats c ON c.id = s.chat WHERE c.platform = ? AND c.chat_id = ?",
            [ref.platform, ref.chat_id],
        ).fetchone()
        return int(row[0])

    def saved_papers(self, ref: ChatRef, limit: int = -1, offset: int = 0) -> list[SavedPaper]:
        """The chat's reading list, newest saved first (a page of it with limit/offset)."""
        rows = self._store.db.execute(
            "SELECT s.arxiv_id, s.saved_at FROM saved s JOIN chats c ON c.id = s.chat "
            "WHERE c.platform = ? AND c.chat_id = ? ORDER BY s.saved_at DESC, s.rowid DESC LIMIT ? OFFSET ?",
            [ref.platform, ref.chat_id, limit, offset],
        ).fetchall()
        papers = self._store.papers.papers_by_id(arxiv_id for arxiv_id, _ in rows)
        return [SavedPaper(papers[arxiv_id], dt.datetime.fromisoformat(at)) for arxiv_id, at in rows if arxiv_id in papers]

    def store_papers(self, papers: Iterable[Paper]) -> None:
        """Papers read by id from the export API (for `save`, `bibtex`): kept so they are fetched once; stored ones stay as they are."""
        now = self._store.now_iso()
        with self._store.transaction() as db:
            for paper in papers:
                db.table("papers").insert(paper_row(paper, now), ignore=True)
