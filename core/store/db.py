"""Opening the database: one connection, WAL mode, migrations applied, and an injectable clock."""
from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from core.clock import Clock, utc_now
from core.store.chats import ChatQueries
from core.store.outbox import DeliveryQueries
from core.store.papers import PaperQueries
from core.store.schema import migrations
from core.store.summaries import SummaryQueries

class StoreError(Exception):
    """The database cannot be opened or written (locked, read-only, corrupt)."""


class Store(PaperQueries, ChatQueries, DeliveryQueries, SummaryQueries):
    """All persistent state. Methods are grouped by table family in the mixins it inherits."""

    def __init__(self, path: str | Path, clock: Clock = utc_now) -> None:
        self.path = str(path)
        self.clock = clock
        self._lock = threading.RLock()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self.db = Database(connection)
            if self.path != ":memory:":
                self.db.enable_wal()
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA synchronous = NORMAL")
            migrations.apply(self.db)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc

    def now(self) -> dt.datetime:
        return self.clock()

    def now_iso(self) -> str:
        return self.clock().isoformat(timespec="seconds")

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One atomic unit of work; the lock keeps threads (arxiv runs in one) from interleaving."""
        with self._lock:
            with self.db.atomic():
                yield self.db

    def applied_migrations(self) -> list[str]:
        return [m.name for m in migrations.applied(self.db)]

    def close(self) -> None:
        self.db.close()
