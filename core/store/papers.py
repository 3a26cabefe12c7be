"""Papers, the days they were announced on, and the log of every fetch from arXiv."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from core.models import Paper

if TYPE_CHECKING:
    from core.store.db import Store


# Metadata a newer version may arrive without (the feed has none of it): an empty value keeps the stored one.
_KEPT_WHEN_MISSING = frozenset({"comment", "journal_ref", "doi", "published"})


def paper_row(paper: Paper, now: str) -> dict[str, Any]:
    return {
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "authors": json.dumps(list(paper.authors), ensure_ascii=False),
        "abstract": paper.abstract,
        "categories": json.dumps(list(paper.categories)),
        "primary_category": paper.primary_category,
        "comment": paper.comment,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
        "published": paper.published.isoformat() if paper.published else None,
        "updated_at": now,
    }


def paper_from_row(row: dict[str, Any]) -> Paper:
    """Rebuild a Paper from a papers row joined (optionally) with its announcement."""
    announced = row.get("announced") or row.get("first_announced")
    return Paper(
        arxiv_id=row["arxiv_id"],
        version=int(row.get("announced_version") or row["version"]),
        title=row["title"],
        authors=tuple(json.loads(row["authors"] or "[]")),
        abstract=row["abstract"],
        categories=tuple(json.loads(row["categories"] or "[]")),
        primary_category=row["primary_category"],
        announce_type=row.get("announce_type") or "new",
        announced=dt.date.fromisoformat(announced) if announced else None,
        published=dt.date.fromisoformat(row["published"]) if row.get("published") else None,
        comment=row.get("comment") or "",
        journal_ref=row.get("journal_ref") or "",
        doi=row.get("doi") or "",
    )


_PAPER_COLUMNS = (
    "p.arxiv_id, p.version, p.title, p.authors, p.abstract, p.categories, p.primary_category, "
    "p.comment, p.journal_ref, p.doi, p.published, p.first_announced"
)


class PaperQueries:
    """`Store.papers`: papers, announcements, fetch_log."""

    def __init__(self, store: Store) -> None:
        self._store = store  # the connection, its write lock and the clock

    def store_announcement(self, day: dt.date, papers: Iterable[Paper]) -> int:
        """Store one announcement day's papers atomically; re-storing the same day changes nothing.

        A paper's metadata is replaced only by an equal or newer version, and what the newer one
        lacks (the feed carries no v1 date, comment, DOI or journal ref) is kept; first_announced
        is the earliest day seen, whatever order days are stored in. Returns how many
        announcement rows the day now has from this batch.
        """
        now = self._store.now_iso()
        count = 0
        with self._store.transaction() as db:
            for paper in papers:
                existing = db.execute(
                    "SELECT version, first_announced FROM papers WHERE arxiv_id = ?", [paper.arxiv_id]
                ).fetchone()
                if existing is None:
                    row = paper_row(paper, now)
                    row["first_announced"] = day.isoformat()
                    db.table("papers").insert(row)
                    existing = (paper.version, day.isoformat())
                elif paper.version >= existing[0]:
                    row = paper_row(paper, now)
                    unchanged = db.execute(
                        "SELECT 1 FROM papers WHERE arxiv_id = ? AND version = ? AND title = ? AND abstract = ?",
                        [paper.arxiv_id, paper.version, paper.title, paper.abstract],
                    ).fetchone()
                    if not unchanged:
                        missing = {column for column in _KEPT_WHEN_MISSING if row[column] in (None, "")}
                        db.table("papers").update(paper.arxiv_id, {column: row[column] for column in row.keys() - missing})
                else:  # an older version (a backfilled day): it may still know what the newer one lacks
                    row = paper_row(paper, now)
                    for column in sorted(_KEPT_WHEN_MISSING):
                        if row[column] not in (None, ""):
                            db.execute(
                                f"UPDATE papers SET {column} = ? WHERE arxiv_id = ? AND ({column} IS NULL OR {column} = '')",
                                [row[column], paper.arxiv_id],
                            )
                if existing[1] is None or day.isoformat() < existing[1]:
                    db.execute("UPDATE papers SET first_announced = ? WHERE arxiv_id = ?", [day.isoformat(), paper.arxiv_id])
                db.table("announcements").upsert(
                    {
                        "announced": day.isoformat(),
                        "arxiv_id": paper.arxiv_id,
                        "version": paper.version,
                        "announce_type": paper.announce_type,
                    },
                    pk=("announced", "arxiv_id"),
                )
                count += 1
        return count

    def record_fetch(
        self,
        source: str,
        categories: Iterable[str],
        day: dt.date | None,
        status: str,
        count: int = 0,
        error: str = "",
    ) -> None:
        with self._store.transaction() as db:
            db.table("fetch_log").insert(
                {
                    "source": source,
                    "categories": "+".join(sorted(categories)),
                    "announced": day.isoformat() if day else None,
                    "status": status,
                    "count": count,
                    "error": error[:2000],
                    "fetched_at": self._store.now_iso(),
                }
            )

    def fetched_categories(self, day: dt.date) -> set[str]:
        """Categories whose feed for this announcement day was stored successfully (ok or empty)."""
        rows = self._store.db.execute(
            "SELECT categories FROM fetch_log WHERE announced = ? AND status IN ('ok', 'empty')",
            [day.isoformat()],
        ).fetchall()
        return {category for (joined,) in rows for category in joined.split("+") if category}

    def last_fetch(self, statuses: Iterable[str] = ("ok", "empty", "failed")) -> dict[str, Any] | None:
        wanted = list(statuses)
        marks = ", ".join("?" for _ in wanted)
        rows = list(
            self._store.db.query(
                f"SELECT * FROM fetch_log WHERE status IN ({marks}) ORDER BY id DESC LIMIT 1", wanted
            )
        )
        return rows[0] if rows else None

    def announcement_days(self, limit: int = 30) -> list[dt.date]:
        """Days with stored announcements, newest first."""
        rows = self._store.db.execute(
            "SELECT DISTINCT announced FROM announcements ORDER BY announced DESC LIMIT ?", [limit]
        ).fetchall()
        return [dt.date.fromisoformat(day) for (day,) in rows]

    def has_announcement_day(self, day: dt.date) -> bool:
        return self._store.db.execute("SELECT 1 FROM announcements WHERE announced = ? LIMIT 1", [day.isoformat()]).fetchone() is not None

    def papers_announced(self, day: dt.date, categories: Iterable[str] = ()) -> list[Paper]:
        """The day's papers (with that day's version and announce type), in a stable id order.

        With categories, only papers listed in at least one of them.
        """
        rows = self._store.db.query(
            f"SELECT {_PAPER_COLUMNS}, a.announced, a.version AS announced_version, a.announce_type "
            "FROM announcements a JOIN papers p ON p.arxiv_id = a.arxiv_id "
            "WHERE a.announced = ? ORDER BY a.arxiv_id",
            [day.isoformat()],
        )
        papers = [paper_from_row(row) for row in rows]
        wanted = set(categories)
        if wanted:
            papers = [paper for paper in papers if wanted.intersection(paper.categories)]
        return papers

    def papers_by_id(self, arxiv_ids: Iterable[str]) -> dict[str, Paper]:
        ids = list(dict.fromkeys(arxiv_ids))
        found: dict[str, Paper] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self._store.db.query(f"SELECT {_PAPER_COLUMNS} FROM papers p WHERE p.arxiv_id IN ({marks})", chunk):
                found[row["arxiv_id"]] = paper_from_row(row)
        return found

    def record_acronyms(self, definitions: Iterable[tuple[str, str]]) -> None:
        """Count one more paper for each (acronym, expansion) a paper defined (core/aliases.py reads them)."""
        rows = list(definitions)
        if not rows:
            return
        with self._store.transaction() as db:
            db.conn.executemany(
                "INSERT INTO acronyms (acronym, expansion, papers) VALUES (?, ?, 1) "
                "ON CONFLICT (acronym, expansion) DO UPDATE SET papers = papers + 1",
                rows,
            )

    def acronym_definitions(self, min_papers: int) -> list[tuple[str, str, int]]:
        """(acronym, expansion, papers) defined by at least `min_papers` stored papers."""
        return [
            (acronym, expansion, papers)
            for acronym, expansion, papers in self._store.db.execute(
                "SELECT acronym, expansion, papers FROM acronyms WHERE papers >= ? ORDER BY acronym, papers DESC",
                [min_papers],
            ).fetchall()
        ]

    def count_papers(self) -> int:
        return self._store.db.table("papers").count
