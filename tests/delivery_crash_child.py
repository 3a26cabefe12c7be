"""Child process of the SIGKILL test: plans and delivers every chat's digest from a SQLite file, resumably.

Usage: python -m tests.delivery_crash_child DB LOG MARKER BLOCK_AFTER
Each run plans the day's digest for every chat (idempotent: a second run finds the plan) and
delivers what is pending through a RecordingAdapter that appends every confirmed message to LOG
(fsynced). With BLOCK_AFTER >= 0 the adapter hangs before its next send after that many
confirmed messages and writes MARKER, so the parent can SIGKILL it at a known point.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path

from bot.delivery import DeliveryOutcome, DigestSender
from core.store import Store
from tests.recording_adapter import RecordingAdapter, make_digest

DAY = dt.date(2026, 9, 24)


async def deliver_all(store: Store, adapter: RecordingAdapter) -> None:
    sender = DigestSender(store)
    digest = make_digest(DAY, store.papers.papers_announced(DAY))
    for chat in store.chats.active_chats():
        store.outbox.plan_digest(chat.ref, DAY, digest.plan_entries())
        result = await sender.deliver(adapter, chat, digest)
        if result.outcome not in (DeliveryOutcome.DELIVERED, DeliveryOutcome.NOTHING_TO_SEND):
            raise SystemExit(f"chat {chat.ref.chat_id}: {result.outcome}")


def main() -> None:
    db_path, log_path, marker, block_after = sys.argv[1:5]
    store = Store(db_path)
    limit = int(block_after)
    adapter = RecordingAdapter(
        papers_per_message=3,
        log_path=Path(log_path),
        block_after=limit if limit >= 0 else None,
        block_marker=Path(marker),
    )
    asyncio.run(deliver_all(store, adapter))
    store.close()


if __name__ == "__main__":
    main()
