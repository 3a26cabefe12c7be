"""Benchmark: building every subscriber's ScoredPaper lists (with their KeywordMatch tuples) from one day's selection.

Run from the repository root: ``python -m benchmarks.results [--subscribers N] [--papers N] [--repeats N] [--check N]``.

The day and subscribers of benchmarks/workload.py (2,000 papers x 10,000 subscribers: ~274,000 ScoredPaper
objects). Scoring is done before each run and not timed; each run starts from a fresh selection, so no match
is cached from an earlier run. Printed: every list read in subscriber order and held (the worst case for
memory), read in chunks of PLAN_CHUNK_CHATS as the scheduler does, and read in a shuffled order (no read-ahead:
what a caller jumping between chats pays); then peak memory of holding every list (tracemalloc) and the
process's peak RSS. `--check N` compares N subscribers' lists with the obvious per-subscriber reference
(tests/scoring_support.py). Before this engine (main at 31d79d5) the in-order build took 3.5-3.9 s and
97 MiB (tracemalloc) on the same machine.
"""
from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence

from benchmarks.workload import benchmark_day, benchmark_subscriptions
from bot.scheduler import PLAN_CHUNK_CHATS
from core.config import load_settings
from core.day_selection import DaySelection
from core.models import Paper, Subscription
from core.scoring import day_papers, score_day
from tests.scoring_support import reference_select

GOAL_SECONDS = {10_000: 0.6}  # subscribers -> in-order build, warm


def in_order(selection: DaySelection) -> int:
    lists = [selection[subscriber] for subscriber in selection]
    return sum(map(len, lists))


def in_chunks(selection: DaySelection) -> int:
    subscribers, built = list(selection), 0
    for start in range(0, len(subscribers), PLAN_CHUNK_CHATS):
        chunk = [selection[subscriber] for subscriber in subscribers[start : start + PLAN_CHUNK_CHATS]]
        built += sum(map(len, chunk))
    return built


def shuffled(selection: DaySelection) -> int:
    subscribers = list(selection)
    random.Random(7).shuffle(subscribers)
    lists = [selection[subscriber] for subscriber in subscribers]
    return sum(map(len, lists))


def timed_runs(
    fresh: Callable[[], DaySelection], read: Callable[[DaySelection], int], repeats: int
) -> tuple[float, list[float], int]:
    """(cold, warm times, results built): the first run is cold."""
    times, built = [], 0
    for _ in range(repeats):
        selection = fresh()
        gc.collect()
        started = time.perf_counter()
        built = read(selection)
        times.append(time.perf_counter() - started)
    return times[0], times[1:] or times[:1], built


def check(papers: Sequence[Paper], subscriptions: Sequence[Subscription], selection: DaySelection, count: int) -> int:
    """Subscribers (spread over the list) whose lists equal the reference's; raises on the first difference."""
    settings = load_settings()
    day = day_papers(papers)
    step = max(1, len(subscriptions) // max(count, 1))
    checked = subscriptions[::step][:count]
    for subscription in checked:
        expected = reference_select(day, subscription, settings.scoring)
        if selection[subscription.subscriber] != expected:
            raise AssertionError(f"{subscription.subscriber}: the lists differ from the reference")
    return len(checked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=4, help="runs per reading order: the first is cold")
    parser.add_argument("--check", type=int, default=20, help="subscribers compared with the reference")
    options = parser.parse_args()

    settings = load_settings()
    papers = benchmark_day(options.papers)
    subscriptions = benchmark_subscriptions(options.subscribers, papers, settings.defaults)

    def fresh() -> DaySelection:
        return score_day(papers, subscriptions, settings.scoring)

    goal = GOAL_SECONDS.get(len(subscriptions))
    for name, read in (("in order, all held", in_order), (f"in chunks of {PLAN_CHUNK_CHATS}", in_chunks), ("shuffled", shuffled)):
        cold, warm, built = timed_runs(fresh, read, options.repeats)
        median = statistics.median(warm)
        verdict = f" (goal <= {goal:g} s: {'met' if median <= goal else 'NOT met'})" if goal and read is in_order else ""
        print(f"{name}: {built} ScoredPaper objects, warm {median:.2f} s (median of {len(warm)}, "
              f"{median / built * 1e6:.2f} us each){verdict}, cold {cold:.2f} s")

    selection = fresh()
    gc.collect()
    tracemalloc.start()
    lists = [selection[subscriber] for subscriber in selection]
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"every list held: {held / 2**20:.1f} MiB (tracemalloc; peak while building {peak / 2**20:.1f} MiB); "
          f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    del lists
    if options.check:
        print(f"{check(papers, subscriptions, fresh(), options.check)} subscribers' lists equal the reference's")


if __name__ == "__main__":
    main()
