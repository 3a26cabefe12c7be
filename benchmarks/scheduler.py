"""Benchmark: N chats due at the same minute, served end to end by one scheduler tick through the outbox.

Run from the repository root:
``python -m benchmarks.scheduler [--chats N] [--papers N] [--weekly-share 0.1] [--email-share 0.05] [--runs 3] [--serve]``.

Each run is its own process (peak RSS is per process): it copies a prepared database (N chats with the
keywords and filters of benchmarks/workload.py, a share of them weekly chats whose week is due at the
same minute; the day's real papers and, for the weeks, four earlier announcement days of as many; built
once and cached under .cache/), then runs one tick: due chats, one scoring pass, then per chunk the outbox rows
(from the selection's entries), and per chat its Digest built as delivery reaches it ("build", a part of
"deliver"), rendering and sending to a recording adapter that confirms at once (tests/recording_adapter.py's
rendering: header, one message per 2 papers, footer), with the outbox bookkeeping of every message.
It prints the tick's wall time and phases, messages/s of bookkeeping, peak RSS, the database's size
and its bytes per chat; with --runs > 1 the median of the runs. ``--serve`` builds the service the
way `arxiv-digest serve --web` does (bot.app.App with its imports, summarizer and web app) and runs
its scheduler's tick: serve's footprint through a full tick.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from email.message import EmailMessage

from adapters.base import Adapter, OutgoingMessage
from benchmarks.workload import CATEGORY_CHOICES, benchmark_day, benchmark_subscriptions, distinct_terms
from bot.schedule_times import week_days
from core.config import ArxivSettings, DefaultsSettings, EmailSettings, Settings
from core.models import WEEKLY, ChatRef, Digest, Paper
from core.store import Store
from tests.recording_adapter import PLATFORM, RecordingAdapter

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
DAY = dt.date(2026, 4, 21)
DUE_AT = dt.datetime(2026, 4, 21, 12, 0, tzinfo=dt.timezone.utc)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Pacific/Honolulu", "Pacific/Kiritimati",
         "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo", "Africa/Nairobi")
RSS_GOALS_MIB = {(10_000, True): 200, (100_000, True): 600, (100_000, False): 600}  # (chats, serve) -> goal
TICK_GOALS_SECONDS = {100_000: 10.0}  # the selection with everything delivery needs (issue 17); sending is extra
SETTINGS = Settings(
    # Nothing listens on port 9, and nothing is fetched: the day is stored for every category chats read.
    arxiv=ArxivSettings(feed_url="http://127.0.0.1:9/rss/", api_url="http://127.0.0.1:9/api/query", max_retries=0),
    defaults=DefaultsSettings(categories=("cs.AI", "cs.CL", "cs.LG", "cs.CV"), summaries=False),
)


class CountingAdapter(RecordingAdapter):
    """RecordingAdapter's rendering and sending, counting what it confirmed instead of keeping every message:
    keeping 100,000 chats' messages would measure the test double's memory, not ours."""

    messages: int = 0
    papers: int = 0

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        messages = super().render_digest(digest)
        self.rendered.clear()
        return messages

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        message_id = await super().send(chat, message, plain=plain)
        self.sent.clear()
        self.messages += 1
        self.papers += len(message.paper_ids)
        return message_id


class CountingSmtp:
    """An SMTP sender that serializes each mail (what sending costs us) and counts it instead of sending it."""

    def __init__(self) -> None:
        self.mails = 0
        self.bytes = 0

    async def send(self, mail: EmailMessage) -> None:
        self.mails += 1
        self.bytes += len(mail.as_bytes())


def email_adapter(smtp: CountingSmtp) -> Adapter:
    """The real email adapter (rendering, links, composing) in front of a counting sender."""
    from adapters.email import EmailAdapter
    from adapters.email_links import LinkSigner, SiteLinks

    settings = EmailSettings(sender="digest@example.org")
    return EmailAdapter(settings, smtp, SiteLinks("https://digest.example.org", LinkSigner("b" * 32, lambda: DUE_AT)))  # type: ignore[arg-type]


def earlier_day(papers: list[Paper], days_before: int) -> list[Paper]:
    """The day's papers again under other ids: an earlier announcement day of the same size for the weeks."""
    return [dataclasses.replace(paper, arxiv_id=f"{2611 - days_before}.{paper.arxiv_id[5:]}") for paper in papers]


def prepared_database(chats: int, papers: int, weekly_share: float, email_share: float) -> Path:
    """The cached database for this size: the week's papers and `chats` chats due at DUE_AT (a `weekly_share` of
    them weekly ones whose week is due then, an `email_share` of them email addresses), written in one transaction."""
    path = CACHE / f"bench-scheduler-{chats}-{papers}-weekly{weekly_share:g}-email{email_share:g}.db"
    if path.exists():
        return path
    CACHE.mkdir(exist_ok=True)
    building = path.with_suffix(".building")
    building.unlink(missing_ok=True)
    # Chats owed this day's digest (and this week's), no earlier one.
    store = Store(building, clock=lambda: DUE_AT - dt.timedelta(hours=1))
    day = benchmark_day(papers)
    read = sorted({*SETTINGS.defaults.categories, *(category for _, choice in CATEGORY_CHOICES for category in choice)})
    week = week_days(DUE_AT, None)
    for days_before, announced in enumerate(reversed(week)):
        stored = earlier_day(day, days_before) if days_before else day
        store.papers.store_announcement(announced, stored)
        store.papers.record_fetch("feed", read, announced, "ok", len(stored))
    rng = random.Random(20260421)
    weekly_rng = random.Random(20260422)  # its own draws: the daily chats' zones stay those of earlier runs
    email_rng = random.Random(20260423)
    with store.transaction():
        for subscription in benchmark_subscriptions(chats, day, SETTINGS.defaults):
            number = subscription.subscriber.split(":", 1)[1]
            ref = ChatRef("email", f"reader{number}@example.org") if email_rng.random() < email_share else ChatRef(PLATFORM, number)
            store.chats.get_or_create_chat(ref, SETTINGS.defaults)
            zone = rng.choice(ZONES)
            local = DUE_AT.astimezone(ZoneInfo(zone))
            store.chats.update_chat(
                ref, timezone=zone, delivery_time=dt.time(local.hour, local.minute), max_papers=subscription.max_papers,
                min_score=subscription.min_score, summaries=False, crosslists=subscription.crosslists,
            )
            if weekly_rng.random() < weekly_share:
                store.chats.update_chat(ref, schedule=WEEKLY, weekly_day=local.weekday())
            store.chats.replace_terms(ref, "keyword", [(keyword.term, keyword.weight) for keyword in subscription.keywords])
            store.chats.replace_terms(ref, "exclude", [(word, 1.0) for word in subscription.excludes])
            store.chats.replace_terms(ref, "category", [(category, 1.0) for category in subscription.categories])
            store.chats.replace_terms(ref, "author", [(name, 1.0) for name in subscription.authors])
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    building.rename(path)
    return path


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def database_bytes(path: Path) -> int:
    """The file with its WAL and shared-memory files."""
    return sum(part.stat().st_size for part in path.parent.glob(path.name + "*"))


@dataclass(frozen=True)
class RunResult:
    chats: int
    weekly: int
    due: int
    planned: int
    messages: int
    papers: int
    tick_seconds: float
    phases: dict[str, float]
    rss_before_mib: float
    peak_rss_mib: float
    db_bytes_before: int
    db_bytes_after: int


async def one_tick(template: Path, folder: Path, serve: bool) -> RunResult:
    """Copy the prepared database and run one tick over it; everything measured in this process."""
    db_path = folder / "bench.db"
    shutil.copy(template, db_path)
    store = Store(db_path, clock=lambda: DUE_AT)
    adapter = CountingAdapter()
    smtp = CountingSmtp()
    mail = email_adapter(smtp)
    if serve:
        from bot.app import App  # serve's imports, summarizer and web app count in its footprint

        app = App(SETTINGS, store, [adapter, mail])
        app.web_app()
        scheduler = app.scheduler
    else:
        from bot.scheduler import Scheduler
        from core.arxiv.fetcher import Fetcher

        scheduler = Scheduler(store, SETTINGS, Fetcher(SETTINGS.arxiv, store), {PLATFORM: adapter, "email": mail})
    rss_before, db_before = peak_rss_mib(), database_bytes(db_path)
    started = time.perf_counter()
    report = await scheduler.tick(DUE_AT)
    tick = time.perf_counter() - started
    await scheduler.fetcher.aclose()
    chats = store.db.execute("SELECT COUNT(*) FROM chats").fetchone()[0]
    weekly = store.db.execute("SELECT COUNT(*) FROM chats WHERE schedule = ?", [WEEKLY]).fetchone()[0]
    print(f"email chats: {smtp.mails} digest mails composed ({smtp.bytes / max(smtp.mails, 1) / 1024:.0f} KiB each)", file=sys.stderr)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return RunResult(
        chats, weekly, report.due, report.planned, adapter.messages + smtp.mails, adapter.papers, tick, dict(report.seconds),
        rss_before, peak_rss_mib(), db_before, database_bytes(db_path),
    )


def run_in_child(options: argparse.Namespace) -> RunResult:
    command = [sys.executable, "-m", "benchmarks.scheduler", "--chats", str(options.chats), "--papers", str(options.papers),
               "--weekly-share", str(options.weekly_share), "--email-share", str(options.email_share), "--one-run"] + (["--serve"] if options.serve else [])
    finished = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    print(finished.stderr.strip().splitlines()[-1])  # the child's email line
    output = finished.stdout
    return RunResult(**json.loads(output.splitlines()[-1]))


def _goal(value: float, goal: float | None, unit: str) -> str:
    return "" if goal is None else f" (goal < {goal:g} {unit}: {'met' if value < goal else 'NOT met'})"


def report(results: list[RunResult], options: argparse.Namespace) -> None:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    first = results[0]
    tick = median([r.tick_seconds for r in results])
    phases = {phase: median([r.phases.get(phase, 0.0) for r in results]) for phase in first.phases}
    build = phases.get("build", 0.0)  # timed inside "deliver": a chat's digest is built when delivery reaches it
    deliver = phases.get("deliver", 0.0) - build
    rss = median([r.peak_rss_mib for r in results])
    before_tick = phases.get("due", 0) + phases.get("score", 0) + build + phases.get("plan", 0)
    runs = f"median of {len(results)} runs" if len(results) > 1 else "1 run"
    print(f"{first.chats} chats ({first.weekly} weekly), {first.due} due at {DUE_AT:%H:%M} UTC, {options.papers} papers that day"
          f" (and each of the weeks' {len(week_days(DUE_AT, None)) - 1} earlier days)"
          f"{' (serve: bot.app.App, web app built)' if options.serve else ''}; {runs}, each in its own process")
    print(f"tick: {tick:.2f} s = " + ", ".join(f"{phase} {seconds:.2f}" for phase, seconds in phases.items() if phase != "build")
          + f" (of which building each chat's digest as delivery reaches it: {build:.2f})")
    print(f"  selection with everything delivery needs (due + score + plan, + build): {before_tick:.2f} s"
          + _goal(before_tick, TICK_GOALS_SECONDS.get(first.chats), "s"))
    print(f"  {first.planned} digests planned, {first.messages} messages and {first.papers} papers confirmed; "
          f"bookkeeping {first.messages / deliver if deliver else 0:.0f} messages/s "
          f"({deliver / max(first.messages, 1) * 1000:.2f} ms each; Telegram allows one per ~33 ms per bot)")
    print(f"peak RSS: {rss:.0f} MiB{_goal(rss, RSS_GOALS_MIB.get((first.chats, options.serve)), 'MiB')} "
          f"(before the tick: {median([r.rss_before_mib for r in results]):.0f} MiB)")
    after, before = first.db_bytes_after, first.db_bytes_before
    print(f"database: {before / 2**20:.1f} MiB before the tick ({before / first.chats:.0f} bytes per chat with its "
          f"settings, and the day's papers), {after / 2**20:.1f} MiB after ({(after - before) / first.chats:.0f} bytes "
          f"per chat for one day's outbox rows)")
    print("runs: " + ", ".join(f"{r.tick_seconds:.2f} s / {r.peak_rss_mib:.0f} MiB" for r in results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--weekly-share", type=float, default=0.1, help="share of chats with a weekly digest due too")
    parser.add_argument("--email-share", type=float, default=0.05, help="share of chats that are email addresses")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", action="store_true", help="the tick of a service built as `serve` builds it")
    parser.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)  # a child: print one RunResult as JSON
    options = parser.parse_args()
    if not (0.0 <= options.weekly_share <= 1.0 and 0.0 <= options.email_share <= 1.0):
        parser.error("--weekly-share and --email-share are shares: 0 to 1")
    template = prepared_database(options.chats, options.papers, options.weekly_share, options.email_share)
    if options.one_run:
        with tempfile.TemporaryDirectory() as folder:
            result = asyncio.run(one_tick(template, Path(folder), options.serve))
        print(json.dumps(result.__dict__))
        return
    subscriptions = benchmark_subscriptions(min(options.chats, 10_000), benchmark_day(options.papers), SETTINGS.defaults)
    print(f"workload: keywords from {distinct_terms(subscriptions)} distinct terms (first 10,000 chats)")
    report([run_in_child(options) for _ in range(options.runs)], options)


if __name__ == "__main__":
    main()
