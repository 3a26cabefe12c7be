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
from core.store.saved import SavedQueries
from core.store.schema import migrations
from core.store.summaries import SummaryQueries

# How long a write waits for another connection's lock before failing: a backup or a second process
# holding the database for a while is waited out, not turned into an error at once.
BUSY_TIMEOUT_SECONDS = 30.0
# SQLite result codes (primary, the low byte) that mean "the database cannot be written right now":
# BUSY/LOCKED (another writer), READONLY (file or file system), IOERR, FULL (disk), CANTOPEN, PROTOCOL.
_UNWRITABLE_CODES = frozenset({5, 6, 8, 10, 13, 14, 15})
_NOT_A_DATABASE = 26  # SQLITE_NOTADB


class StoreError(Exception):
    """The database cannot be opened or written (locked, read-only, corrupt)."""


class StoreUnwritable(StoreError):
    """A write failed because the database cannot be written now (disk full, locked, read-only); nothing of it was kept."""


# What a store call may raise when the database cannot be read or written: callers outside core/store
# catch these instead of the driver's own errors, so another store (PostgreSQL) can take its place.
STORE_FAILURES: tuple[type[Exception], ...] = (StoreError, sqlite3.Error)


_MOVE_OR_FIX = "; choose another place with --database (or `database` in config.json), or fix its permissions"


def _open_advice(error: sqlite3.Error) -> str:
    """What to do about a database that cannot be opened, by SQLite's reason."""
    if isinstance(error, sqlite3.DatabaseError) and (getattr(error, "sqlite_errorcode", 0) & 0xFF) == _NOT_A_DATABASE:
        return " (another kind of file, or a damaged one): point --database at a new file, or move this one away to start afresh"
    return _MOVE_OR_FIX


def _is_unwritable(error: sqlite3.Error) -> bool:
    return isinstance(error, sqlite3.OperationalError) and (getattr(error, "sqlite_errorcode", 0) & 0xFF) in _UNWRITABLE_CODES


class Store:
    """All persistent state: the connection here, the queries grouped by table family in its parts
    (`chats`, `papers`, `outbox`, `summaries`, `saved`), each holding this store for its connection and clock."""

    def __init__(self, path: str | Path, clock: Clock = utc_now, busy_timeout_seconds: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = str(path)
        self.clock = clock
        self._lock = threading.RLock()
        self.write_failure: str | None = None  # why the latest write failed; None once a write succeeds again
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file where the folder should be, a read-only file system, no permission
            raise StoreError(f"cannot create the folder for database {self.path}: {exc.strerror or exc}{_MOVE_OR_FIX}") from None
        try:
            connection = sqlite3.connect(self.path, check_same_thread=False, timeout=busy_timeout_seconds)
            self.db = Database(connection)
            if self.path != ":memory:":
                self.db.enable_wal()
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA synchronous = NORMAL")
            migrations.apply(self.db)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}{_open_advice(exc)}") from exc
        self.chats = ChatQueries(self)
        self.papers = PaperQueries(self)
        self.outbox = DeliveryQueries(self)
        self.summaries = SummaryQueries(self)
        self.saved = SavedQueries(self)

    def now(self) -> dt.datetime:
        return self.clock()

    def now_iso(self) -> str:
        return self.clock().isoformat(timespec="seconds")

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One atomic write; the lock keeps threads (arxiv runs in one) from interleaving.

        It begins IMMEDIATE: a deferred transaction that reads first and then writes cannot wait for
        another writer (SQLite skips the busy handler when upgrading a read lock), so "database is
        locked" came back at once instead of after the busy timeout. A write the database refuses
        (locked past the timeout, disk full, read-only) raises StoreUnwritable and is remembered in
        `write_failure` until a later write succeeds.
        """
        with self._lock:
            if self.db.conn.in_transaction:  # nested: a savepoint inside the outer write
                with self.db.atomic():
                    yield self.db
                return
            try:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                    self.db.execute("COMMIT")
                except BaseException:
                    self.db.rollback()
                    raise
            except sqlite3.Error as error:
                if not _is_unwritable(error):
                    raise
                self.write_failure = f"{error} ({getattr(error, 'sqlite_errorname', 'sqlite error')})"
                raise StoreUnwritable(f"cannot write to database {self.path}: {error}") from error
            self.write_failure = None

    def probe_writable(self) -> None:
        """A tiny real write (the header's user_version, unchanged), so a store that failed can be seen to work again."""
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            db.execute(f"PRAGMA user_version = {int(version)}")

    def is_empty(self) -> bool:
        """No paper and no chat stored: a fetch log alone is nothing anyone would miss."""
        return self.db.table("papers").count == 0 and self.db.table("chats").count == 0

    def applied_migrations(self) -> list[str]:
        return [m.name for m in migrations.applied(self.db)]

    def close(self) -> None:
        self.db.close()
