"""Per-subscriber digests of one announcement day: one scoring pass, minus what each already received."""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from types import MappingProxyType

from core.aliases import CURATED, AliasTable
from core.config import ScoringSettings, Settings
from core.models import Digest, Keyword, Paper, Subscription
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
) -> dict[str, Digest]:
    """Each subscriber's Digest for `day`, keyed by Subscription.subscriber.

    `papers` are the day's announcements (papers stamped with another announcement day are
    ignored). `delivered[subscriber]` holds arXiv ids the subscriber already got: those are left
    out before the cut to max_papers, except a paper announced again as a replacement when the
    subscription wants replacements. A versioned id ("2601.00001v2") blocks exactly that version.
    The relevance ranking weighs terms over all of `papers`: pass the whole day for the same order everywhere.
    """
    todays = day_papers([paper for paper in papers if paper.announced in (None, day)])
    latest = {subscription.subscriber: subscription for subscription in subscriptions}
    by_id = {key: paper for paper in todays for key in (paper.arxiv_id, paper.versioned_id)}
    skip = {
        subscriber: blocked
        for subscriber, subscription in latest.items()
        if (blocked := already_delivered(by_id, subscription, delivered.get(subscriber, ())))
    }
    selection = score_day(todays, list(latest.values()), scoring, skip=skip, aliases=aliases)
    return {
        subscriber: Digest(
            announcement_day=day,
            papers=tuple(selection[subscriber]),
            categories=subscription.categories,
            keywords=subscription.keywords,
            considered=selection.considered(subscriber),
            generated_at=now,
            excludes=subscription.excludes,
            min_score=subscription.min_score,
            max_papers=subscription.max_papers,
            matched=selection.matched_count(subscriber),
        )
        for subscriber, subscription in latest.items()
    }


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
