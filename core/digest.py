"""Per-subscriber digests of one announcement day (or of a week's days): one scoring pass, minus what each already received."""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping, Sequence
from types import MappingProxyType

from core.aliases import CURATED, AliasTable
from core.config import ScoringSettings, Settings
from core.models import Digest, DigestPlan, Keyword, Paper, Subscription
from core.day_selection import DaySelection
from core.day_terms import DayTerms
from core.scoring import day_papers, score_day

DEFAULT_SUBSCRIBER = "config:defaults"
_NOTHING_DELIVERED: Mapping[str, Collection[str]] = MappingProxyType({})


def default_subscription(settings: Settings) -> Subscription:
    """config.json's defaults as a subscription (the static README digest, and what new chats start from)."""
    defaults = settings.defaults
    return Subscription(
        subscriber=DEFAULT_SUBSCRIBER,
        keywords=tuple(Keyword(keyword.term, keyword.weight) for keyword in defaults.keywords),
        excludes=tuple(defaults.exclude),
        categories=tuple(defaults.categories),
        authors=tuple(defaults.authors),
        crosslists=defaults.crosslists,
        min_score=defaults.min_score,
        max_papers=defaults.max_papers,
        ranking=defaults.ranking,
    )


def select_digests(
    day: dt.date,
    papers: Sequence[Paper],
    subscriptions: Sequence[Subscription],
    scoring: ScoringSettings,
    delivered: Mapping[str, Collection[str]] = _NOTHING_DELIVERED,
    *,
    now: dt.datetime,
    aliases: AliasTable = CURATED,
    week: Sequence[dt.date] = (),
    day_terms: DayTerms | None = None,
) -> DayDigests:
    """Each subscriber's Digest for `day`, keyed by Subscription.subscriber (built when read: see DayDigests).

    `papers` are the day's announcements (papers stamped with another announcement day are
    ignored). With `week` (announcement days, oldest first, ending with `day`) they are the
    announcements of those days, scored as one set: a paper listed on several of them counts once,
    as first announced that week (see week_papers), and max_papers applies to the whole week. `delivered[subscriber]` holds arXiv ids the subscriber already got: those are left
    out before the cut to max_papers, except a paper announced again as a replacement when the
    subscription wants replacements. A versioned id ("2601.00001v2") blocks exactly that version.
    The relevance ranking weighs terms over all of `papers`: pass the whole day for the same order everywhere.
    `day_terms` keeps where terms occur in these papers for the next call (core/day_terms.py).
    """
    if week:
        todays = day_papers(week_papers([paper for paper in papers if paper.announced is None or paper.announced in week]))
    else:
        todays = day_papers([paper for paper in papers if paper.announced in (None, day)])
    latest = {subscription.subscriber: subscription for subscription in subscriptions}
    by_id = {key: paper for paper in todays for key in (paper.arxiv_id, paper.versioned_id)}
    skip = {
        subscriber: blocked
        for subscriber, subscription in latest.items()
        if (blocked := already_delivered(by_id, subscription, delivered.get(subscriber, ())))
    }
    selection = score_day(todays, list(latest.values()), scoring, skip=skip, aliases=aliases, day_terms=day_terms)
    return DayDigests(day, latest, selection, now, by_id, week[0] if week else None)


def week_papers(papers: Sequence[Paper]) -> list[Paper]:
    """One entry per arXiv id: its earliest announcement among `papers` (a week's). A paper new on Monday
    and replaced on Wednesday is Monday's new paper, not a replacement the reader may have filtered out."""
    first: dict[str, Paper] = {}
    for paper in sorted(papers, key=lambda paper: paper.announced or dt.date.min):
        first.setdefault(paper.arxiv_id, paper)
    return list(first.values())


class DayDigests(Mapping[str, Digest]):
    """The day's digests by subscriber; each Digest (and its ScoredPaper objects) is built when it is read
    and not kept, so a caller that walks 100,000 chats in chunks holds one chunk's digests at a time."""

    def __init__(
        self,
        day: dt.date,
        subscriptions: Mapping[str, Subscription],
        selection: DaySelection,
        now: dt.datetime,
        papers: Mapping[str, Paper],
        week_from: dt.date | None = None,
    ) -> None:
        self._day = day
        self._papers = papers  # the scored papers by arXiv id (and by versioned id)
        self._week_from = week_from
        self._subscriptions = subscriptions
        self._selection = selection
        self._now = now

    def __getitem__(self, subscriber: str) -> Digest:
        subscription = self._subscriptions[subscriber]
        return Digest(
            announcement_day=self._day,
            papers=tuple(self._selection[subscriber]),
            categories=subscription.categories,
            keywords=subscription.keywords,
            considered=self._selection.considered(subscriber),
            generated_at=self._now,
            excludes=subscription.excludes,
            min_score=subscription.min_score,
            max_papers=subscription.max_papers,
            matched=self._selection.matched_count(subscriber),
            week_from=self._week_from,
        )

    def plans(self, subscribers: Sequence[str]) -> list[DigestPlan]:
        """These digests' papers as the outbox plans them, without building a Digest (see DaySelection.plans)."""
        return self._selection.plans(subscribers)

    def paper(self, arxiv_id: str) -> Paper | None:
        """The scored paper with this arXiv id (what a digest shows and its summary is made of); None if not the day's."""
        return self._papers.get(arxiv_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._subscriptions)

    def __len__(self) -> int:
        return len(self._subscriptions)


def already_delivered(by_id: Mapping[str, Paper], subscription: Subscription, delivered: Collection[str]) -> set[str]:
    """The arXiv ids of the day's papers (`by_id`: by plain and versioned id) not to send again."""
    blocked = set()
    for delivered_id in delivered:
        paper = by_id.get(delivered_id)
        if paper is None:
            continue
        exact_version = delivered_id == paper.versioned_id
        if exact_version or not (paper.is_replacement and subscription.replacements):
            blocked.add(paper.arxiv_id)
    return blocked
