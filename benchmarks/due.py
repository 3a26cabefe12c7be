"""Benchmark: the tick's "due" phase (which chats are due, bot/scheduler.py) alone, at N chats.

Run from the repository root: ``python -m benchmarks.due [--chats N] [--history-days 20] [--runs 3]``.

It starts from benchmarks/scheduler.py's cached database (N chats due at the same minute, a tenth of them
weekly chats whose week is due then, 5 % email chats) and gives every chat `--history-days` earlier
announcement days already served (chat_days rows, as a month of service leaves them; cached under .cache/
too), then times the due phase twice at each of two moments:

- **all due**: at the chats' delivery minute, every chat owes its day (or week);
- **few due**: one minute later, after those digests were planned: the tick every other minute of the day
  pays, when (almost) no chat is due.

Figures only, no assertions: the phase's seconds, due chats, and the cost per due chat.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.scheduler import CACHE, DUE_AT, SETTINGS, CountingAdapter, CountingSmtp, email_adapter, prepared_database
from bot.schedule_times import recent_announcement_days, week_days
from bot.scheduler import DigestDay, Scheduler, TickReport
from core.arxiv.fetcher import Fetcher
from core.models import ChatRef, DigestPlan
from core.store import Store
from tests.recording_adapter import PLATFORM

WEEKLY_SHARE, EMAIL_SHARE, PAPERS = 0.1, 0.05, 2000  # benchmarks/scheduler.py's defaults: its cached database


def history_database(chats: int, history_days: int) -> Path:
    """The scheduler benchmark's database with `history_days` announcement days before the due week served
    (an empty digest each) for every chat: chat_days holds chats x history_days rows, as after a month of service."""
    path = CACHE / f"bench-due-{chats}-history{history_days}.db"
    if path.exists():
        return path
    template = prepared_database(chats, PAPERS, WEEKLY_SHARE, EMAIL_SHARE)
    building = path.with_suffix(".building")
    shutil.copy(template, building)
    store = Store(building, clock=lambda: DUE_AT - dt.timedelta(days=60))
    refs = [ChatRef(platform, chat_id) for platform, chat_id in store.db.execute("SELECT platform, chat_id FROM chats")]
    first_of_week = week_days(DUE_AT, None)[0]
    for day in recent_announcement_days(first_of_week, history_days + 1)[:-1]:
        store.outbox.plan_digests(day, {ref: DigestPlan.of(()) for ref in refs})
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    building.rename(path)
    return path


def timed_due(scheduler: Scheduler, now: dt.datetime, runs: int) -> tuple[list[float], dict[DigestDay, list[ChatRef]]]:
    """Seconds of each of `runs` due phases at `now`, and what the last one found due."""
    seconds, by_day = [], {}
    for _ in range(runs):
        report = TickReport()
        started = time.perf_counter()
        found = scheduler._due_chats_by_day(now, report)
        seconds.append(time.perf_counter() - started)
        by_day = {digest_day: [chat.ref for chat in chats] for digest_day, chats in found.items()}
    return seconds, by_day


def show(label: str, seconds: list[float], by_day: dict[DigestDay, list[ChatRef]]) -> None:
    due = sum(len(refs) for refs in by_day.values())
    median = statistics.median(seconds)
    per_chat = f"{median / due * 1e6:.0f} us per due chat" if due else "no chat due"
    print(f"  {label}: {median:.2f} s median ({', '.join(f'{s:.2f}' for s in seconds)}), {due} due, {per_chat}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--history-days", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    template = history_database(options.chats, options.history_days)
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "bench.db"
        shutil.copy(template, db_path)
        store = Store(db_path, clock=lambda: DUE_AT)
        adapters = {PLATFORM: CountingAdapter(), "email": email_adapter(CountingSmtp())}
        scheduler = Scheduler(store, SETTINGS, Fetcher(SETTINGS.arxiv, store), adapters)
        rows = store.db.execute("SELECT COUNT(*) FROM chat_days").fetchone()[0]
        print(f"{options.chats} chats, {rows} chat_days rows ({options.history_days} days served before the due week)")
        all_seconds, by_day = timed_due(scheduler, DUE_AT, options.runs)
        show(f"all due at {DUE_AT:%H:%M}", all_seconds, by_day)
        for digest_day, refs in by_day.items():
            store.outbox.plan_digests(digest_day.day, {ref: DigestPlan.of(()) for ref in refs}, digest_day.week)
        later = DUE_AT + dt.timedelta(minutes=1)
        few_seconds, few_by_day = timed_due(scheduler, later, options.runs)
        show(f"few due at {later:%H:%M} (after planning)", few_seconds, few_by_day)
        asyncio.run(scheduler.fetcher.aclose())
        store.close()


if __name__ == "__main__":
    main()
