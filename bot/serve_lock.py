"""One `serve` per database: an exclusive lock on a file next to it, held for as long as the process runs.

Two schedulers on one database would both fetch, plan and deliver. fcntl.flock (stdlib, no library
needed for one call) is released by the kernel when the process dies, so a crash never leaves a
stale lock behind, unlike a pid file.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_SUFFIX = ".serve-lock"


class ServeLockHeld(Exception):
    """Another process is already serving this database; the message says which and what to do."""


@contextmanager
def serve_lock(database: str) -> Iterator[None]:
    """Hold the database's serve lock inside the block; ServeLockHeld at once when another process has it."""
    if database == ":memory:":
        yield
        return
    path = Path(database + LOCK_SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ServeLockHeld(
                f"{holder} is already serving {database}; stop it first, or run this one as a read-only "
                "web replica (serve --web --read-only)"
            ) from None
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"arxiv-digest serve (pid {os.getpid()})")
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
