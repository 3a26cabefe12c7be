"""Benchmark: does each day's ranking put the papers a curated list later cited near the top? (recall@K)

Run from the repository root: ``python -m benchmarks.ranking [--data DIR] [--ks 5,15,30]``.
DIR holds profiles.json, positives.json and days/DATE.jsonl.gz (the ranking-dev format, see its
README); default: ../shared/fixtures/ranking-dev. For every profile and every day with positives,
the day's candidates (papers sharing a category with the profile) are ranked by:

* bot: the original bot's scoring (+1 per keyword found as a case-insensitive substring of
  title + abstract, +0.5 more in the title; ties by id; score 0 not retrieved);
* tfidf: cosine of tf-idf vectors of the joined keywords and title + abstract (idf over the day's
  candidates), the dataset's reference baseline;
* classic / relevance: our scorer (core/scoring.py) with `ranking classic` / `ranking relevance`,
  the profile as a chat with minscore 0 and max 30 (the whole day's papers weigh the terms);
* feedback: relevance after the positives of the profile's first third of days were sent as
  `like ID` through the command processor into a real store (core/commands, core/feedback.py);
  measured on the remaining days, next to relevance on those same days.

Printed: R@K per profile and the mean over profiles, and the goals of the ranking issue.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import json
import math
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from core.config import Settings
from core.digest import select_digests
from core.models import ChatRef, CommandContext, Keyword, Paper, Subscription
from core.store import Store

if TYPE_CHECKING:
    from core.commands.registry import CommandServices

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "ranking-dev"
_TOKEN = re.compile(r"[a-z0-9]+")
Ranker = Callable[[dict, list[dict]], list[str]]


def flat(text: str | None) -> str:
    return " ".join((text or "").split())


def load_day(data: Path, day: str) -> list[dict]:
    with gzip.open(data / "days" / f"{day}.jsonl.gz", "rt", encoding="utf-8") as rows:
        return [json.loads(line) for line in rows if line.strip()]


def candidates(profile: dict, papers: list[dict]) -> list[dict]:
    wanted = set(profile["categories"])
    return [paper for paper in papers if wanted & set(paper.get("categories") or [])]


def rank_bot(profile: dict, cands: list[dict]) -> list[str]:
    """The original bot's rule: substring hits, +1 each, +0.5 more in the title."""
    keywords = [keyword.lower() for keyword in profile["keywords"]]
    scored = []
    for paper in cands:
        title = flat(paper["title"]).lower()
        text = f"{title} {flat(paper['summary']).lower()}"
        score = sum(1.5 if keyword in title else 1.0 for keyword in keywords if keyword in text)
        if score > 0:
            scored.append((-score, paper["id"]))
    return [arxiv_id for _, arxiv_id in sorted(scored)]


def rank_tfidf(profile: dict, cands: list[dict]) -> list[str]:
    """Cosine between tf-idf vectors of the joined keywords and of title + abstract (idf over the candidates)."""
    documents = [Counter(_TOKEN.findall(f"{paper['title']} {paper['summary']}".lower())) for paper in cands]
    frequency = Counter(token for document in documents for token in document)
    idf = {token: math.log((1 + len(documents)) / (1 + count)) + 1 for token, count in frequency.items()}
    query = Counter(_TOKEN.findall(" ".join(profile["keywords"]).lower()))
    weights = {token: count * idf[token] for token, count in query.items() if token in idf}
    query_norm = math.sqrt(sum(value * value for value in weights.values()))
    scored = []
    for paper, document in zip(cands, documents):
        dot = sum(weight * document[token] * idf[token] for token, weight in weights.items() if token in document)
        if dot > 0 and query_norm > 0:
            norm = math.sqrt(sum((count * idf[token]) ** 2 for token, count in document.items()))
            scored.append((-dot / (query_norm * norm), paper["id"]))
    return [arxiv_id for _, arxiv_id in sorted(scored)]


def as_paper(row: dict, day: dt.date) -> Paper:
    categories = tuple(row.get("categories") or ())
    return Paper(
        arxiv_id=row["id"], version=1, title=flat(row["title"]), authors=tuple(row.get("authors") or ()),
        abstract=flat(row["summary"]), categories=categories, primary_category=categories[0] if categories else "",
        announced=day, comment=row.get("comment") or "",
    )


def profile_subscription(profile: dict, ranking: str, max_papers: int, learned: tuple[Keyword, ...] = ()) -> Subscription:
    return Subscription(
        subscriber=f"{profile['name']}:{ranking}:{bool(learned)}",
        keywords=tuple(Keyword(term) for term in profile["keywords"]),
        categories=tuple(profile["categories"]),
        min_score=0.0,
        max_papers=max_papers,
        ranking=ranking,
        learned=learned,
    )


def our_rankings(day: dt.date, papers: list[Paper], subscriptions: Sequence[Subscription], settings: Settings) -> dict[str, list[str]]:
    """Every subscription's ranked ids for the day, in one scoring pass (as the scheduler runs it)."""
    digests = select_digests(day, papers, subscriptions, settings.scoring, now=dt.datetime.now(dt.timezone.utc))
    return {subscriber: [scored.paper.arxiv_id for scored in digest.papers] for subscriber, digest in digests.items()}


def recall(ranked: Sequence[str], positives: set[str], k: int) -> float:
    return len(positives & set(ranked[:k])) / len(positives)


class Benchmark:
    """Loads a ranking-dev folder once and measures every method on it."""

    def __init__(self, data: Path, ks: Sequence[int]) -> None:
        self.data = data
        self.ks = tuple(ks)
        self.profiles = json.loads((data / "profiles.json").read_text(encoding="utf-8"))
        self.positives = json.loads((data / "positives.json").read_text(encoding="utf-8"))
        self.settings = Settings()
        self._days: dict[str, list[dict]] = {}

    def day(self, day: str) -> list[dict]:
        if day not in self._days:
            self._days[day] = load_day(self.data, day)
        return self._days[day]

    def days_of(self, profile: dict) -> list[tuple[str, set[str]]]:
        return sorted((day, set(ids)) for day, ids in self.positives.get(profile["name"], {}).items())

    def measure(self, days: Sequence[tuple[str, set[str]]], profile: dict, rank: Callable[[str], list[str]]) -> list[float]:
        sums = [0.0] * len(self.ks)
        for day, positives in days:
            ranked = rank(day)
            for index, k in enumerate(self.ks):
                sums[index] += recall(ranked, positives, k)
        return [total / len(days) for total in sums] if days else [0.0] * len(self.ks)

    def ours(self, day: str, subscriptions: Sequence[Subscription]) -> dict[str, list[str]]:
        date = dt.date.fromisoformat(day)
        return our_rankings(date, [as_paper(row, date) for row in self.day(day)], subscriptions, self.settings)

    def run(self) -> dict[str, dict[str, list[float]]]:
        """{method: {profile: [R@K ...]}}."""
        table: dict[str, dict[str, list[float]]] = {m: {} for m in ("bot", "tfidf", "classic", "relevance", "relevance (test days)", "feedback (test days)")}
        depth = max(self.ks)
        for profile in self.profiles:
            name = profile["name"]
            days = self.days_of(profile)
            subs = [profile_subscription(profile, ranking, depth) for ranking in ("classic", "relevance")]
            ours = {day: self.ours(day, subs) for day, _ in days}
            table["bot"][name] = self.measure(days, profile, lambda day: rank_bot(profile, candidates(profile, self.day(day))))
            table["tfidf"][name] = self.measure(days, profile, lambda day: rank_tfidf(profile, candidates(profile, self.day(day))))
            table["classic"][name] = self.measure(days, profile, lambda day: ours[day][subs[0].subscriber])
            table["relevance"][name] = self.measure(days, profile, lambda day: ours[day][subs[1].subscriber])
            train, test = days[: len(days) // 3], days[len(days) // 3 :]
            learned = asyncio.run(self.learn_from_likes(profile, train))
            taught = profile_subscription(profile, "relevance", depth, learned)
            table["relevance (test days)"][name] = self.measure(test, profile, lambda day: ours[day][subs[1].subscriber])
            table["feedback (test days)"][name] = self.measure(test, profile, lambda day: self.ours(day, [taught])[taught.subscriber])
        return table

    async def learn_from_likes(self, profile: dict, train: Sequence[tuple[str, set[str]]]) -> tuple[Keyword, ...]:
        """Send the training days' positives as `like ID` in a chat set up as the profile; what it learned."""
        from core.commands import CommandProcessor

        with tempfile.TemporaryDirectory() as folder:
            store = Store(Path(folder) / "feedback.db")
            try:
                for day, _ in train:
                    date = dt.date.fromisoformat(day)
                    store.papers.store_announcement(date, [as_paper(row, date) for row in self.day(day)])
                commands = CommandProcessor(store, self.settings, services=cast("CommandServices", None))  # like/dislike need none
                context = CommandContext(ChatRef("console", profile["name"]), "reader", can_change_settings=True)
                for command in ("start", f"categories {' '.join(profile['categories'])}"):
                    await commands.handle(context, command)
                for _, positives in train:
                    for arxiv_id in sorted(positives):
                        await commands.handle(context, f"like {arxiv_id}")
                return store.chats.require_chat(context.chat).learned
            finally:
                store.close()


def print_table(table: dict[str, dict[str, list[float]]], ks: Sequence[int]) -> None:
    profiles = list(next(iter(table.values())))
    print("| method | " + " | ".join(profiles) + " | mean |")
    print("|---" * (len(profiles) + 2) + "|")
    for method, by_profile in table.items():
        cells = ["/".join(f"{value:.3f}" for value in by_profile[name]) for name in profiles]
        mean = [sum(by_profile[name][index] for name in profiles) / len(profiles) for index in range(len(ks))]
        print(f"| {method} | " + " | ".join(cells) + " | " + "/".join(f"{value:.3f}" for value in mean) + " |")


def goals(table: dict[str, dict[str, list[float]]], ks: Sequence[int]) -> list[str]:
    """The ranking issue's goals, each with the measured figure and met / NOT met."""
    def mean(method: str, k: int) -> float:
        values = table[method]
        return sum(v[ks.index(k)] for v in values.values()) / len(values)

    lines = []
    for method, k, goal in (("relevance", 15, 0.90), ("relevance", 30, 0.95), ("feedback (test days)", 15, 0.93)):
        if k in ks:
            value = mean(method, k)
            lines.append(f"{method} mean R@{k} = {value:.3f} (goal >= {goal:.2f}): {'met' if value >= goal else 'NOT met'}")
    below = [
        f"{name} R@{k}" for name, values in table["relevance"].items() for index, k in enumerate(ks)
        if values[index] < table["bot"][name][index] - 1e-9
    ]
    lines.append("relevance never below the original bot: " + ("met" if not below else "NOT met: " + ", ".join(below)))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a folder in the ranking-dev format")
    parser.add_argument("--ks", default="5,15,30", help="cut-offs, comma-separated")
    args = parser.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    started = time.perf_counter()
    benchmark = Benchmark(args.data, ks)
    table = benchmark.run()
    print(f"Recall@{'/'.join(map(str, ks))} on {args.data} (macro over days with positives; feedback: first third of each "
          "profile's days liked, measured on the rest)")
    print_table(table, ks)
    for line in goals(table, ks):
        print(line)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
