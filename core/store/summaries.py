"""The summary cache: one row per (paper version, model, language, prompt version, source kind)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from core.models import Summary

if TYPE_CHECKING:
    from core.store.db import Store


@dataclass(frozen=True)
class SummaryKey:
    """What makes two summaries the same: the cache key."""

    arxiv_id: str
    version: int
    model: str
    language: str
    prompt_version: str
    source_kind: str

    @classmethod
    def of(cls, summary: Summary) -> "SummaryKey":
        return cls(
            summary.arxiv_id, summary.version, summary.model, summary.language, summary.prompt_version, summary.source_kind
        )


@dataclass(frozen=True)
class SummaryUsage:
    """Token and time totals of stored (final) summaries."""

    summaries: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float


_KEY_WHERE = "arxiv_id = ? AND version = ? AND model = ? AND language = ? AND prompt_version = ? AND source_kind = ?"


def _summary_from_row(row: dict[str, Any]) -> Summary:
    return Summary(
        arxiv_id=row["arxiv_id"],
        version=int(row["version"]),
        model=row["model"],
        language=row["language"],
        prompt_version=row["prompt_version"],
        source_kind=row["source_kind"],
        text=row["text"],
        is_fallback=bool(row["is_fallback"]),
        prompt_tokens=int(row["prompt_tokens"] or 0),
        completion_tokens=int(row["completion_tokens"] or 0),
        seconds=float(row["seconds"] or 0.0),
    )


class SummaryQueries:
    """`Store.summaries`: the summaries table. Only final (LLM) summaries are stored; fallbacks are retried."""

    def __init__(self, store: Store) -> None:
        self._store = store  # the connection, its write lock and the clock

    def cached_summary(self, key: SummaryKey) -> Summary | None:
        rows = list(self._store.db.query(f"SELECT * FROM summaries WHERE {_KEY_WHERE}", list(asdict(key).values())))
        return _summary_from_row(rows[0]) if rows else None

    def cached_summaries(self, keys: Iterable[SummaryKey]) -> dict[SummaryKey, Summary]:
        """Many lookups at once (one query per paper id chunk) for a digest's worth of papers."""
        wanted = set(keys)
        ids = sorted({key.arxiv_id for key in wanted})
        found: dict[SummaryKey, Summary] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self._store.db.query(f"SELECT * FROM summaries WHERE arxiv_id IN ({marks})", chunk):
                summary = _summary_from_row(row)
                key = SummaryKey.of(summary)
                if key in wanted:
                    found[key] = summary
        return found

    def save_summary(self, summary: Summary) -> None:
        """Store (or replace) the final summary for its key."""
        row = asdict(summary)
        row["is_fallback"] = int(summary.is_fallback)
        row["created_at"] = self._store.now_iso()
        with self._store.transaction() as db:
            db.table("summaries").upsert(
                row, pk=("arxiv_id", "version", "model", "language", "prompt_version", "source_kind")
            )

    def summary_usage(self, model: str | None = None) -> SummaryUsage:
        """Totals over every stored summary (of one model, if given)."""
        where, params = ("WHERE model = ?", [model]) if model else ("", [])
        row = self._store.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), "
            f"COALESCE(SUM(seconds), 0) FROM summaries {where}",
            params,
        ).fetchone()
        return SummaryUsage(summaries=row[0], prompt_tokens=row[1], completion_tokens=row[2], seconds=float(row[3]))
