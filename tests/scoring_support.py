"""Real paper lists as Papers, and a per-subscriber reference scorer the day engine must agree with."""
from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from pathlib import Path

from core.config import ScoringSettings
from core.matching import FieldWords, InvalidTerm, TermPattern, normalize_author, parse_term
from core.models import KeywordMatch, Paper, ScoredPaper, Subscription
from core.scoring import SCORE_UNITS, author_units, day_papers, keyword_units, min_score_units, passes_filters

PAPERS_DIR = Path(__file__).parent / "fixtures" / "papers"
CS_DAY = PAPERS_DIR / "dw-dengwei_2025-10-22.jsonl"  # cs.CL / cs.AI / cs.CV with cs.LG cross-lists
CV_DAY = PAPERS_DIR / "wanzhouliu_2026-04-21.json"  # 501 cs.CV papers with announce types


def _fixture_paper(record: dict, day: dt.date) -> Paper:
    """A row of either list format: arXiv listing (id, summary) or feed mirror (arxiv_id, abstract, announce_type)."""
    categories = tuple(record["categories"])
    return Paper(
        arxiv_id=record.get("arxiv_id") or record["id"],
        version=1,
        title=record["title"],
        authors=tuple(record["authors"]),
        abstract=record.get("abstract") or record.get("summary") or "",
        categories=categories,
        primary_category=record.get("primary_category") or categories[0],
        announce_type=record.get("announce_type", "new"),
        announced=day,
        comment=record.get("comment") or "",
    )


def load_papers(path: Path) -> list[Paper]:
    """A fixture paper list (arXiv listing JSON Lines or the feed mirror's JSON) as Papers, one per id."""
    if path.suffix == ".jsonl":
        day = dt.date.fromisoformat(path.stem.rsplit("_", 1)[1])
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return day_papers([_fixture_paper(row, day) for row in rows])
    document = json.loads(path.read_text(encoding="utf-8"))
    day = dt.date.fromisoformat(document["date"])
    return day_papers([_fixture_paper(row, day) for row in document["papers"]])


def real_papers() -> list[Paper]:
    return day_papers(load_papers(CS_DAY) + load_papers(CV_DAY))


@functools.lru_cache(maxsize=None)
def _words(text: str) -> FieldWords:
    return FieldWords.of(text)


@functools.lru_cache(maxsize=None)
def _occurs(pattern: TermPattern, text: str) -> bool:
    """Memoized only so that hundreds of reference subscriptions stay fast; the check itself is occurs_in."""
    return pattern.occurs_in(_words(text))


def reference_select(papers: Sequence[Paper], subscription: Subscription, scoring: ScoringSettings) -> list[ScoredPaper]:
    """The same rules as core.scoring, written as the obvious loop over papers and keywords."""
    keywords = {}
    for keyword in subscription.keywords:
        try:
            pattern = parse_term(keyword.term)
        except InvalidTerm:
            continue
        keywords.setdefault(pattern, keyword)
    excludes = []
    for term in subscription.excludes:
        try:
            excludes.append(parse_term(term))
        except InvalidTerm:
            continue
    followed = {normalize_author(name) for name in subscription.authors} - {""}
    selected = []
    for paper in day_papers(papers):
        if not passes_filters(paper, subscription):
            continue
        if any(_occurs(pattern, paper.title) or _occurs(pattern, paper.abstract) for pattern in excludes):
            continue
        units, matches = 0, []
        for pattern, keyword in keywords.items():
            in_title, in_abstract = _occurs(pattern, paper.title), _occurs(pattern, paper.abstract)
            if in_title or in_abstract:
                points = keyword_units(keyword.weight, in_title, scoring)
                units += points
                matches.append(KeywordMatch(keyword.term, in_title, in_abstract, points / SCORE_UNITS))
        authors = tuple(name for name in paper.authors if normalize_author(name) in followed)
        units += author_units(scoring) * len({normalize_author(name) for name in authors})
        if units >= min_score_units(subscription):
            selected.append((units, paper, matches, authors))
    selected.sort(key=lambda item: (-item[0], item[1].arxiv_id))
    return [
        ScoredPaper(paper, units / SCORE_UNITS, tuple(matches), authors)
        for units, paper, matches, authors in selected[: max(0, subscription.max_papers)]
    ]


def make_paper(
    arxiv_id: str,
    title: str,
    abstract: str = "",
    *,
    categories: tuple[str, ...] = ("cs.CL",),
    announce_type: str = "new",
    authors: tuple[str, ...] = ("A. Author",),
    version: int = 1,
) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        authors=authors,
        abstract=abstract,
        categories=categories,
        primary_category=categories[0] if categories else "",
        announce_type=announce_type,
        announced=dt.date(2026, 9, 24),
    )
