"""Benchmark: LLM calls and wall time for a day of 1,000 chats whose top-15 digests overlap, cache vs a naive bot.

Run from the repository root: ``python -m benchmarks.summaries [--chats N] [--pool N] [--latency S] [--concurrency N]``.
Each chat's digest draws its top papers from a pool of real papers with Zipf-like popularity (chats share
interests, so popular papers are in many digests); a share of chats reads Chinese. The summarizer runs
against the loopback fake LLM with a fixed latency per call. The naive bot makes one call per (chat, paper);
its wall time is computed from the same latency and concurrency, not run.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import tempfile
import time
from pathlib import Path

from core.config import SummarySettings, load_settings
from core.models import Digest, Paper, ScoredPaper
from core.store import Store
from core.summarize import Summarizer
from tests.fakes.llm import start_fake_llm
from tests.test_summarize import load_papers

DAY = dt.date(2026, 4, 22)
ZIPF_EXPONENT = 1.1


def overlapping_digests(pool: list[Paper], chats: int, top: int, seed: int) -> dict[str, Digest]:
    """`chats` digests of `top` distinct papers each, popular papers picked far more often."""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(pool))]
    digests = {}
    for chat in range(chats):
        chosen: dict[str, Paper] = {}
        while len(chosen) < top:
            paper = rng.choices(pool, weights)[0]
            chosen.setdefault(paper.arxiv_id, paper)
        digests[f"bench:{chat}"] = Digest(
            announcement_day=DAY,
            papers=tuple(ScoredPaper(paper, score=float(top - rank)) for rank, paper in enumerate(chosen.values())),
            categories=("cs.CV",),
            keywords=(),
            considered=len(pool),
            generated_at=dt.datetime(2026, 4, 22, 8, tzinfo=dt.timezone.utc),
        )
    return digests


async def run_day(settings: SummarySettings, store: Store, digests: dict[str, Digest], languages: dict[str, str]) -> float:
    summarizer = Summarizer(settings, store, "sk-benchmark")
    started = time.perf_counter()
    try:
        done = await summarizer.summarize_digests(digests, languages)
    finally:
        await summarizer.aclose()
    assert all(len(digest.summaries) == min(settings.top_n, len(digest.papers)) for digest in done.values())
    return time.perf_counter() - started


def main() -> None:
    configured = load_settings().summaries
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=200, help="papers announced that day (at most 199 real ones)")
    parser.add_argument("--top", type=int, default=configured.top_n, help="summarized papers per digest")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per LLM call at the fake")
    parser.add_argument("--concurrency", type=int, default=configured.concurrency)
    parser.add_argument("--chinese-share", type=float, default=0.2, help="share of chats reading Chinese")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    pool = load_papers(args.pool)
    digests = overlapping_digests(pool, args.chats, args.top, args.seed)
    rng = random.Random(args.seed)
    languages = {name: "zh" if rng.random() < args.chinese_share else "en" for name in digests}
    naive_calls = sum(min(args.top, len(digest.papers)) for digest in digests.values())
    running, server = start_fake_llm(latency_seconds=args.latency)
    with server, tempfile.TemporaryDirectory() as folder:
        settings = SummarySettings(
            base_url=running.base_url, model="fake-model", top_n=args.top, concurrency=args.concurrency, max_retries=0
        )
        store = Store(Path(folder) / "bench.db")
        first_seconds = asyncio.run(run_day(settings, store, digests, languages))
        first_calls = running.fake.total_calls
        rerun_seconds = asyncio.run(run_day(settings, store, digests, languages))
        rerun_calls = running.fake.total_calls - first_calls
        usage = store.summaries.summary_usage()
        store.close()
        server.call(running.fake.stopping.set)

    naive_seconds = naive_calls * args.latency / args.concurrency
    print(f"day: {args.chats} chats x top {args.top} from a pool of {len(pool)} papers, "
          f"{sum(1 for lang in languages.values() if lang == 'zh')} chats in zh, latency {args.latency * 1000:.0f} ms, "
          f"concurrency {args.concurrency}")
    print(f"naive bot (one call per chat and paper): {naive_calls} LLM calls, ~{naive_seconds:.1f} s at best (computed)")
    print(f"cached + coalesced:                       {first_calls} LLM calls, {first_seconds:.2f} s wall")
    print(f"calls ratio naive / ours:                 {naive_calls / max(first_calls, 1):.1f}x")
    print(f"throughput: {naive_calls / first_seconds:.0f} delivered summaries/s, {first_calls / first_seconds:.1f} LLM calls/s "
          f"(ideal {args.concurrency / args.latency:.1f}/s)")
    print(f"rerun of the same day: {rerun_calls} LLM calls, {rerun_seconds:.2f} s")
    print(f"stored: {usage.summaries} summaries, {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens")


if __name__ == "__main__":
    main()
