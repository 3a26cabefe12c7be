"""Benchmark: 10,000 chats with random settings due at the same minute, served by one scheduler tick.

Prints the time to find the due chats, to build every digest in one scoring pass (and, as the
baseline measured in the same run, one `select_digests` call per chat on a sample), to plan them
in the outbox and to deliver them through a null adapter; plus the SQLite file's peak size and
the process's peak RSS. Run: `python benchmarks/scheduler.py [--chats N]`.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.base import OutgoingMessage  # noqa: E402
from bot.scheduler import Scheduler  # noqa: E402
from core.arxiv.fetcher import Fetcher  # noqa: E402
from core.config import ArxivSettings, DefaultsSettings, Settings  # noqa: E402
from core.digest import select_digests  # noqa: E402
from core.models import ChatRef, Digest, Paper  # noqa: E402
from core.store import Store  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "scheduler"
DAY = dt.date(2026, 4, 21)
DUE_AT = dt.datetime(2026, 4, 21, 12, 0, tzinfo=dt.timezone.utc)
COPIES = 4  # the fixture days hold 190 real papers; 4 renamed copies make a realistic ~760-paper day
BASELINE_SAMPLE = 20  # per-chat scoring is slow enough that a sample, extrapolated, is the baseline
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Pacific/Honolulu", "Pacific/Kiritimati",
         "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo", "Africa/Nairobi")
PLATFORM = "bench"


class NullAdapter:
    """Confirms every message at once: what remains is our own cost per message."""

    platform = PLATFORM

    async def start(self, handle_command: object) -> None:
        return None

    async def stop(self) -> None:
        return None

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        ids = [scored.paper.arxiv_id for scored in digest.papers]
        chunks = [tuple(ids[start : start + 5]) for start in range(0, len(ids), 5)]
        return [OutgoingMessage((), "header", "header"), *(OutgoingMessage(c, " ".join(c), " ".join(c)) for c in chunks)]

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        return "ok"

    def web_routes(self) -> list:
        return []


def day_papers() -> list[Paper]:
    rows = [row for name in ("2026-04-21", "2026-04-22")
            for row in json.loads((FIXTURES / f"cs-cv-{name}.json").read_text(encoding="utf-8"))["papers"]]
    unique = {row["arxiv_id"]: row for row in rows}.values()
    papers = []
    for copy in range(COPIES):
        for row in unique:
            papers.append(Paper(
                arxiv_id=f"{row['arxiv_id']}{copy or ''}", version=1, title=row["title"], authors=tuple(row["authors"]),
                abstract=row["abstract"], categories=tuple(row["categories"]), primary_category=row["primary_category"],
                announce_type="new" if copy or row["announce_type"] == "new" else row["announce_type"],
            ))
    return papers


def vocabulary(papers: list[Paper]) -> list[str]:
    words = [w.strip(".,:;()").lower() for p in papers for w in p.title.split()]
    return sorted({w for w in words if len(w) > 4 and w.isalpha()})


def create_chats(store: Store, settings: Settings, count: int, words: list[str], rng: random.Random) -> None:
    for index in range(count):
        zone = rng.choice(ZONES)
        ref = ChatRef(PLATFORM, str(index))
        store.get_or_create_chat(ref, settings.defaults)
        local = DUE_AT.astimezone(ZoneInfo(zone))
        store.update_chat(
            ref, timezone=zone, delivery_time=dt.time(local.hour, local.minute), max_papers=rng.randint(5, 30),
            min_score=rng.choice((0.5, 1.0, 2.0, 3.0)), summaries=False, crosslists=rng.random() < 0.8,
        )
        store.replace_terms(ref, "keyword", [(word, rng.choice((1.0, 1.0, 2.0))) for word in rng.sample(words, rng.randint(2, 12))])


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def file_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20


async def run(chats: int) -> None:
    rng = random.Random(20260421)
    with tempfile.TemporaryDirectory() as folder:
        db_path = Path(folder) / "bench.db"
        store = Store(db_path, clock=lambda: DUE_AT)
        settings = Settings(
            arxiv=ArxivSettings(feed_url="http://127.0.0.1:9/rss/", api_url="http://127.0.0.1:9/api/query"),
            defaults=DefaultsSettings(categories=("cs.CV", "cs.LG", "cs.AI"), summaries=False),
        )
        papers = day_papers()
        store.store_announcement(DAY, papers)
        store.record_fetch("feed", settings.defaults.categories, DAY, "ok", len(papers))
        started = time.perf_counter()
        create_chats(store, settings, chats, vocabulary(papers), rng)
        setup = time.perf_counter() - started
        scheduler = Scheduler(store, settings, Fetcher(settings.arxiv, store), {PLATFORM: NullAdapter()})

        started = time.perf_counter()
        due = [chat for chat in store.active_chats()]
        load = time.perf_counter() - started

        started = time.perf_counter()
        digests = scheduler.digests.build_digests(DAY, due, DUE_AT)
        one_pass = time.perf_counter() - started
        shown = sum(len(digest.papers) for digest in digests.values())

        sample = due[:BASELINE_SAMPLE]
        announced = store.papers_announced(DAY, settings.defaults.categories)
        started = time.perf_counter()
        for chat in sample:
            select_digests(DAY, announced, [scheduler.digests.subscription_for(chat)], settings.scoring, {}, now=DUE_AT)
        per_chat = (time.perf_counter() - started) / len(sample) * len(due)

        started = time.perf_counter()
        report = await scheduler.tick(DUE_AT)
        tick = time.perf_counter() - started
        size = file_mib(db_path)
        store.close()

    print(f"chats: {chats}  papers that day: {len(papers)}  due at {DUE_AT:%H:%M} UTC: {len(due)}  (setup {setup:.1f} s)")
    print(f"load due chats' settings: {load:.2f} s")
    print(f"build all digests, one scoring pass: {one_pass:.2f} s  ({shown} papers shown, {shown / len(due):.1f} per chat)")
    print(f"baseline, one select_digests call per chat (sample of {len(sample)}, extrapolated): {per_chat:.2f} s"
          f"  -> one pass is {per_chat / one_pass:.1f}x faster")
    delivered = sum(r.papers_sent for r in report.deliveries)
    messages = sum(r.messages_sent for r in report.deliveries)
    phases = ", ".join(f"{phase} {seconds:.2f} s" for phase, seconds in report.seconds.items())
    print(f"full tick: {tick:.2f} s ({phases}); {report.planned} digests planned, "
          f"{messages} messages and {delivered} papers confirmed")
    print(f"outbox bookkeeping per confirmed message: {report.seconds['deliver'] / max(messages, 1) * 1000:.2f} ms "
          "(Telegram allows about 33 ms per message per bot)")
    print(f"store peak size: {size:.1f} MiB   process peak RSS: {peak_rss_mib():.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    asyncio.run(run(parser.parse_args().chats))


if __name__ == "__main__":
    main()
