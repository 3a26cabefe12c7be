"""select_digests and default_subscription: per-subscriber Digests, already-delivered papers, replacements."""
from __future__ import annotations

import dataclasses
import datetime as dt

from core.config import Settings, load_settings
from core.digest import DEFAULT_SUBSCRIBER, default_subscription, select_digests
from core.models import KEYWORD, Keyword, Subscription
from tests.scoring_support import CS_DAY, load_papers, make_paper

DAY = dt.date(2026, 9, 24)
NOW = dt.datetime(2026, 9, 24, 12, 0, tzinfo=dt.timezone.utc)
SETTINGS = Settings()


def sub(name: str = "chat", *terms: str, **options) -> Subscription:
    return Subscription(name, tuple(Keyword(term) for term in terms or ("LLM",)), **options)


def ids(digest) -> list[str]:
    return [scored.paper.arxiv_id for scored in digest.papers]


def test_default_subscription_is_config_json() -> None:
    settings = load_settings("config.json")
    default = default_subscription(settings)
    assert default.subscriber == DEFAULT_SUBSCRIBER
    assert len(default.keywords) == 30
    assert default.keywords[0] == Keyword("LLM", 1.0)
    assert default.excludes == ("survey", "review", "tutorial")
    assert default.categories == ("cs.AI", "cs.CL", "cs.DC", "cs.LG")
    assert (default.min_score, default.max_papers, default.crosslists, default.replacements) == (2.5, 30, True, False)


def test_digest_carries_day_subscription_and_counts() -> None:
    papers = [make_paper("1", "LLM", ""), make_paper("2", "x", ""), make_paper("3", "LLM", "", categories=("cs.CV",))]
    subscription = sub("chat", "LLM", categories=("cs.CL",))
    digest = select_digests(DAY, papers, [subscription], SETTINGS.scoring, now=NOW)["chat"]
    assert ids(digest) == ["1"]
    assert digest.announcement_day == DAY
    assert digest.generated_at == NOW
    assert digest.categories == ("cs.CL",)
    assert digest.keywords == subscription.keywords
    assert digest.considered == 2
    assert digest.papers[0].matched_terms == ("LLM",)


def test_delivered_papers_are_dropped_before_the_cut() -> None:
    papers = [make_paper(str(index), "LLM", "") for index in range(5)]
    digests = select_digests(
        DAY, papers, [sub("a", max_papers=2), sub("b", max_papers=2)], SETTINGS.scoring, {"a": {"0", "1", "9"}}, now=NOW
    )
    assert ids(digests["a"]) == ["2", "3"]
    assert ids(digests["b"]) == ["0", "1"]


def test_a_replacement_comes_back_only_to_subscriptions_that_want_replacements() -> None:
    papers = [make_paper("1", "LLM", "", announce_type="replace", version=2), make_paper("2", "LLM", "")]
    delivered = {"wants": {"1", "2"}, "plain": {"1", "2"}, "exact": {"1v2"}}
    subscriptions = [sub("wants", replacements=True), sub("plain"), sub("exact", replacements=True)]
    digests = select_digests(DAY, papers, subscriptions, SETTINGS.scoring, delivered, now=NOW)
    assert ids(digests["wants"]) == ["1"]
    assert ids(digests["plain"]) == []
    assert ids(digests["exact"]) == ["2"]


def test_papers_of_other_days_are_ignored() -> None:
    other = dataclasses.replace(make_paper("1", "LLM", ""), announced=DAY - dt.timedelta(days=1))
    undated = dataclasses.replace(make_paper("2", "LLM", ""), announced=None)
    digest = select_digests(DAY, [other, undated], [sub()], SETTINGS.scoring, now=NOW)["chat"]
    assert ids(digest) == ["2"]
    assert digest.considered == 1


def test_every_subscription_gets_a_digest_even_an_empty_one() -> None:
    digests = select_digests(DAY, [], [sub("a"), sub("b", "RL")], SETTINGS.scoring, now=NOW)
    assert set(digests) == {"a", "b"}
    assert digests["a"].papers == ()
    assert digests["a"].considered == 0


def test_default_digest_of_a_real_day() -> None:
    papers = load_papers(CS_DAY)
    default = default_subscription(load_settings("config.json"))
    digest = select_digests(papers[0].announced, papers, [default], SETTINGS.scoring, now=NOW)[DEFAULT_SUBSCRIBER]
    assert 0 < len(digest.papers) <= 30
    scores = [scored.score for scored in digest.papers]
    assert scores == sorted(scores, reverse=True)
    # min_score counts keyword points (weight, x3 in the title) whatever orders the papers.
    keyword_points = [sum(3 if m.in_title else 1 for m in scored.matches if m.source == KEYWORD) for scored in digest.papers]
    assert min(keyword_points) >= 2.5
    for scored in digest.papers:
        text = f"{scored.paper.title} {scored.paper.abstract}".lower()
        assert not any(word in text.split() for word in ("survey", "review", "tutorial"))
        assert set(scored.paper.categories) & set(default.categories)
        assert scored.matches


def test_matched_counts_what_passed_every_rule_before_the_cut() -> None:
    papers = load_papers(CS_DAY)
    day = papers[0].announced
    rules = [
        dict(categories=("cs.CL",), min_score=1.0),
        dict(categories=("cs.CL", "cs.CV"), excludes=("survey", "benchmark"), crosslists=False),
        dict(min_score=2.5),
        dict(authors=("Yann LeCun",), min_score=0.0),
    ]
    terms = ("LLM", "language model", "segmentation", "reasoning", "agent")
    capped = [sub(f"s{n}", *terms, max_papers=3, **options) for n, options in enumerate(rules)]
    uncapped = [dataclasses.replace(subscription, max_papers=10**6) for subscription in capped]
    delivered = {"s0": {paper.arxiv_id for paper in papers[:40]}}
    counted = select_digests(day, papers, capped, SETTINGS.scoring, delivered, now=NOW)
    every = select_digests(day, papers, uncapped, SETTINGS.scoring, delivered, now=NOW)
    for subscription, options in zip(capped, rules):
        digest = counted[subscription.subscriber]
        assert digest.matched == len(every[subscription.subscriber].papers) > 3, subscription.subscriber
        assert len(digest.papers) == 3
        assert digest.max_papers == 3
        assert (digest.excludes, digest.min_score) == (options.get("excludes", ()), options.get("min_score", 0.0))
