"""Child process of the chunked-tick crash test: one scheduler tick over a prepared SQLite file, chunk by chunk.

Usage: python -m tests.scheduler_crash_child DB LOG MARKER BLOCK_AFTER CHUNK_CHATS
The tick plans and delivers PLAN_CHUNK_CHATS = CHUNK_CHATS chats at a time through a RecordingAdapter
that appends every confirmed message to LOG (fsynced). With BLOCK_AFTER >= 0 the adapter hangs before
its next send after that many confirmed messages and writes MARKER, so the parent can SIGKILL it there.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot import scheduler as scheduler_module
from core.arxiv.fetcher import Fetcher
from core.store import Store
from tests.recording_adapter import PLATFORM, RecordingAdapter
from tests.scheduler_support import DUE_AT, SETTINGS


async def tick(store: Store, adapter: RecordingAdapter) -> None:
    fetcher = Fetcher(SETTINGS.arxiv, store, clock=lambda: DUE_AT)
    scheduler = scheduler_module.Scheduler(store, SETTINGS, fetcher, {PLATFORM: adapter}, clock=lambda: DUE_AT)
    report = await scheduler.tick(DUE_AT)
    await fetcher.aclose()
    if report.failed_chats:
        raise SystemExit(f"failed chats: {report.failed_chats}")


def main() -> None:
    db_path, log_path, marker, block_after, chunk_chats = sys.argv[1:6]
    scheduler_module.PLAN_CHUNK_CHATS = int(chunk_chats)
    store = Store(db_path, clock=lambda: DUE_AT)
    limit = int(block_after)
    adapter = RecordingAdapter(
        papers_per_message=3, log_path=Path(log_path), block_after=limit if limit >= 0 else None, block_marker=Path(marker)
    )
    asyncio.run(tick(store, adapter))
    store.close()


if __name__ == "__main__":
    main()
