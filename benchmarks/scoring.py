"""Benchmark: one day of 2,000 real papers x 10,000 subscribers, the path the scheduler runs against the original bot.

Run from the repository root: ``python -m benchmarks.scoring [--subscribers N] [--papers N] [--sample N]``.

Headline, "full path": what a tick does before sending: `select_digests` (one scoring pass), then per
chunk of PLAN_CHUNK_CHATS chats the selections recorded in the outbox (`Store.plan_digests`, a real
SQLite file: one chat_days row per chat). Its sub-steps are printed too. Delivery then, when it reaches a
chat, claims its day (`claim_pending`: the pending rows, one per paper, written in the chat's own
transaction) and builds its Digest (ScoredPaper/KeywordMatch objects, restricted to what was claimed):
both are timed for every chat and printed next to the headline, with the sum of all.
The first run in the process is "cold" (parse and word caches empty, no term found in the day yet), the median
of the others "warm" (the day's term postings kept, as the scheduler keeps them between ticks of one day).

Baseline, "original bot": its algorithm as written (`matches_criteria` + `calculate_score`): every
paper lowercased once (here once for all subscribers, the most generous reading), then per keyword a
substring test in title+abstract, +1 per keyword found and +0.5 more when it is in the title; the
category filter, excludes (substrings), min_score and max_papers. It writes no outbox rows, so the ratio
favours it. It is measured on a sample of subscribers and extrapolated linearly; both are printed, next
to our full path measured on the same sample.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.workload import benchmark_day, benchmark_subscriptions, distinct_terms
from bot.digests import ChatDigests
from bot.scheduler import PLAN_CHUNK_CHATS
from core.config import DefaultsSettings, ScoringSettings, load_settings
from core.collector import kept_alive
from core.day_terms import DayTerms
from core.digest import select_digests
from core.models import ChatRef, Paper, Subscription
from core.store import Store

DAY = dt.date(2026, 11, 3)
NOW = dt.datetime(2026, 11, 3, 8, 0, tzinfo=dt.timezone.utc)
PLATFORM = "bench"  # benchmark_subscriptions names subscribers bench:N, the ChatRef("bench", N) key
GOALS = {10_000: (1.0, 1.5), 100_000: (10.0, None)}  # subscribers -> (warm, cold) seconds for the full path
RSS_GOAL_MIB = {100_000: 600}


@dataclass(frozen=True)
class LoweredPaper:
    """A paper as the original bot saw it after lowercasing it once."""

    arxiv_id: str
    categories: frozenset[str]
    title: str
    text: str  # title + " " + abstract


def lowered(papers: Sequence[Paper]) -> list[LoweredPaper]:
    return [
        LoweredPaper(p.arxiv_id, frozenset(p.categories), p.title.lower(), f"{p.title} {p.abstract}".lower())
        for p in papers
    ]


def original_bot(papers: Sequence[LoweredPaper], subscription: Subscription) -> list[str]:
    """matches_criteria + calculate_score of the original bot, for one subscriber."""
    keywords = [keyword.term.lower() for keyword in subscription.keywords]
    excludes = [word.lower() for word in subscription.excludes]
    wanted = set(subscription.categories)
    picked = []
    for paper in papers:
        if wanted and not wanted & paper.categories:
            continue
        if any(word in paper.text for word in excludes):
            continue
        score = sum(1.5 if keyword in paper.title else 1.0 for keyword in keywords if keyword in paper.text)
        if score > 0 and score >= subscription.min_score:
            picked.append((-score, paper.arxiv_id))
    picked.sort()
    return [arxiv_id for _, arxiv_id in picked[: subscription.max_papers]]


@dataclass
class PathTimes:
    score: float = 0.0  # select_digests: the numeric step
    entries: float = 0.0  # each chat's outbox entries read from the selection, chunk by chunk
    outbox: float = 0.0  # plan_digests: the selections recorded
    claims: float = 0.0  # not in `total`: every chat's claim_pending (its pending rows), as delivery reaches the chat
    digests: float = 0.0  # not in `total`: every chat's Digest, built as delivery reaches the chat

    @property
    def total(self) -> float:
        """The headline: selected and planned, ready for delivery to start."""
        return self.score + self.entries + self.outbox

    @property
    def per_chat(self) -> float:
        return self.claims + self.digests

    @property
    def in_all(self) -> float:
        return self.total + self.per_chat


def full_path(
    store: Store, day: dt.date, papers: Sequence[Paper], subscriptions: Sequence[Subscription], scoring: ScoringSettings, day_terms: DayTerms
) -> tuple[PathTimes, int]:
    """The scheduler's path before sending, then each chat's claim and Digest as delivery makes them (timed apart);
    returns the times and the number of outbox rows the claims wrote. `day_terms` lives as long as the scheduler's DigestService:
    the first run in the process finds every term in the day's papers, later runs only the new ones."""
    times = PathTimes()
    chats = [ChatRef(PLATFORM, subscription.subscriber.split(":", 1)[1]) for subscription in subscriptions]
    started = time.perf_counter()
    digests = ChatDigests(chats, select_digests(day, papers, subscriptions, scoring, now=NOW, day_terms=day_terms))
    times.score = time.perf_counter() - started
    with kept_alive():  # as the scheduler serves a day
        return times, _plan_chunks(store, day, chats, digests, times)


def _plan_chunks(store: Store, day: dt.date, chats: Sequence[ChatRef], digests: ChatDigests, times: PathTimes) -> int:
    """Each chunk planned, then its chats' days claimed and digests built one by one as delivery does; returns the
    rows the claims wrote."""
    rows = 0
    for start in range(0, len(chats), PLAN_CHUNK_CHATS):
        started = time.perf_counter()
        refs = chats[start : start + PLAN_CHUNK_CHATS]
        chunk = digests.plans(refs)
        read = time.perf_counter()
        plans = store.outbox.plan_digests(day, chunk)
        planned = time.perf_counter()
        times.entries += read - started
        times.outbox += planned - read
        for ref in refs:  # as the scheduler's delivery does, one chat at a time, each dropped after
            if plans[ref]:
                claiming = time.perf_counter()
                claimed = {row.arxiv_id for row in store.outbox.claim_pending(ref, day)}
                building = time.perf_counter()
                digests.planned(ref, claimed)
                times.claims += building - claiming
                times.digests += time.perf_counter() - building
                rows += len(claimed)
    return rows


def create_chats(store: Store, subscriptions: Sequence[Subscription], defaults: DefaultsSettings) -> None:
    """The subscribers as chats (plan_digests needs them), in one transaction."""
    with store.transaction():
        for subscription in subscriptions:
            store.chats.get_or_create_chat(ChatRef(PLATFORM, subscription.subscriber.split(":", 1)[1]), defaults)


def add_history(store: Store, papers: Sequence[Paper], subscriptions: Sequence[Subscription], scoring: ScoringSettings, days: int) -> None:
    """`days` earlier days of outbox rows: each chat's selection of the benchmark day, under older arXiv ids (they
    sort before the day's, as real ids do), planned and claimed as the scheduler does."""
    if not days:
        return
    chats = [ChatRef(PLATFORM, subscription.subscriber.split(":", 1)[1]) for subscription in subscriptions]
    digests = ChatDigests(chats, select_digests(DAY, papers, subscriptions, scoring, now=NOW))
    for back in range(days, 0, -1):
        day = DAY - dt.timedelta(days=back)
        for start in range(0, len(chats), PLAN_CHUNK_CHATS):
            chunk = {}
            for ref, plan in digests.plans(chats[start : start + PLAN_CHUNK_CHATS]).items():
                older = tuple(f"{2500 + back}.{arxiv_id.split('.', 1)[1]}" for arxiv_id in plan.arxiv_ids)
                chunk[ref] = dataclasses.replace(plan, arxiv_ids=older)
            store.outbox.plan_digests(day, chunk)
            for ref in chunk:
                store.outbox.claim_pending(ref, day)
    print(f"outbox history: {days} earlier days, {store.outbox.delivery_stats().papers_pending} rows before the runs")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _goal(value: float, goal: float | None) -> str:
    return "" if goal is None else f" (goal < {goal:g} s: {'met' if value < goal else 'NOT met'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=200, help="subscribers the original bot is timed on")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the full path: the first is cold")
    parser.add_argument("--history-days", type=int, default=0,
                        help="earlier days of outbox rows the database holds before the runs (a service that ran a while)")
    options = parser.parse_args()

    settings = load_settings()
    papers = benchmark_day(options.papers)
    subscriptions = benchmark_subscriptions(options.subscribers, papers, settings.defaults)
    sample = subscriptions[: min(options.sample, len(subscriptions))]
    print(f"day: {len(papers)} papers (real, replicated with fresh ids); {len(subscriptions)} subscribers, "
          f"{sum(len(s.keywords) for s in subscriptions) / len(subscriptions):.1f} keywords each from "
          f"{distinct_terms(subscriptions)} distinct terms")

    with tempfile.TemporaryDirectory() as folder:
        template = Path(folder) / "chats.db"
        store = Store(template, clock=lambda: NOW)
        create_chats(store, subscriptions, settings.defaults)
        add_history(store, papers, subscriptions, settings.scoring, options.history_days)
        store.close()
        if not options.history_days:
            print("outbox: empty before the runs (--history-days N: a service that delivered N earlier days; each claim's "
                  "rows then land on its chat's pages, which costs more)")
        rss_before = peak_rss_mib()
        day_terms = DayTerms()  # as the scheduler's DigestService holds it

        def fresh_run(chosen: Sequence[Subscription], run: int) -> tuple[PathTimes, int]:
            """A copy of the chats' database, so every run writes all its outbox rows (a paper planned
            before would be left out)."""
            path = Path(folder) / f"run{run}.db"
            shutil.copy(template, path)
            store = Store(path, clock=lambda: NOW)
            try:
                return full_path(store, DAY, papers, chosen, settings.scoring, day_terms)
            finally:
                store.close()
                path.unlink()

        runs = [fresh_run(subscriptions, run) for run in range(options.repeats)]
        sample_times, _ = fresh_run(sample, options.repeats)

    (cold, rows), warm_runs = runs[0], [times for times, _ in runs[1:]] or [runs[0][0]]
    warm = statistics.median(times.total for times in warm_runs)
    pick = min(warm_runs, key=lambda times: abs(times.total - warm))
    warm_goal, cold_goal = GOALS.get(len(subscriptions), (None, None))
    for name, times, total, goal in ((f"warm (median of {len(warm_runs)})", pick, warm, warm_goal),
                                     ("cold (first run)", cold, cold.total, cold_goal)):
        print(f"full path, {name}: {total:.2f} s{_goal(total, goal)}"
              f" = score {times.score:.2f} + entries {times.entries:.2f} + outbox plans {times.outbox:.2f}")
        print(f"  + per chat as delivery reaches it: claim (its outbox rows) {times.claims:.2f} s + digest objects "
              f"{times.digests:.2f} s -> {times.in_all:.2f} s in all")
    rss_goal = RSS_GOAL_MIB.get(len(subscriptions))
    print(f"{rows} outbox rows ({rows / len(subscriptions):.1f} papers per subscriber); peak RSS {peak_rss_mib():.0f} MiB "
          f"(workload and chats loaded: {rss_before:.0f} MiB)" + (f", goal < {rss_goal} MiB" if rss_goal else ""))

    table = lowered(papers)
    started = time.perf_counter()
    for subscription in sample:
        original_bot(table, subscription)
    measured = time.perf_counter() - started
    factor = len(subscriptions) / len(sample)
    print(f"original bot, measured on {len(sample)} subscribers: {measured:.2f} s; ours on the same {len(sample)}: "
          f"{sample_times.total:.2f} s (full path) -> {measured / sample_times.total:.1f}x; "
          f"{sample_times.in_all:.2f} s with every claim and digest object -> {measured / sample_times.in_all:.1f}x")
    print(f"original bot, extrapolated x{factor:g} to {len(subscriptions)} subscribers: {measured * factor:.1f} s "
          f"-> ours (full path, warm) is {measured * factor / warm:.0f}x faster, cold {measured * factor / cold.total:.0f}x")


if __name__ == "__main__":
    main()
