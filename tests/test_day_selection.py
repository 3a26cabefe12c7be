"""DaySelection: lists built a run at a time are the same whatever order they are read in; equal matches are shared."""
from __future__ import annotations

import gc
import random

import pytest

import core.day_selection as day_selection
from core.collector import collector_paused
from core.config import ScoringSettings
from core.models import Keyword, Subscription
from core.scoring import score_day
from tests.scoring_support import make_paper, real_papers, reference_select

SCORING = ScoringSettings(title_bonus=2.0, author_points=5.0)
PAPERS = real_papers()
TERMS = ("LLM", "diffusion", "reinforcement learning", "3D", "agents", "benchmark", "*training", "vision-language", "survey")
AUTHORS = sorted({name for paper in PAPERS for name in paper.authors})


def mixed_subscriptions(count: int) -> list[Subscription]:
    """Both rankings, learned words, followed authors, some without keywords (every paper of the category)."""
    rng = random.Random(17)
    return [
        Subscription(
            f"s{number}",
            tuple(Keyword(term, rng.choice((1.0, 1.5, 2.0))) for term in rng.sample(TERMS, rng.randint(0, 5))),
            categories=rng.choice(((), ("cs.CV",), ("cs.CL", "cs.LG"))),
            authors=tuple(rng.sample(AUTHORS, 2)) if rng.random() < 0.3 else (),
            max_papers=rng.choice((5, 30)),
            ranking=rng.choice(("relevance", "classic")),
            learned=(Keyword("model", 0.3),) if rng.random() < 0.3 else (),
        )
        for number in range(count)
    ]


def test_lists_equal_the_reference_in_any_reading_order() -> None:
    subscriptions = mixed_subscriptions(60)
    expected = {subscription.subscriber: reference_select(PAPERS, subscription, SCORING) for subscription in subscriptions}
    assert any(expected.values())
    in_order = score_day(PAPERS, subscriptions, SCORING)
    assert {subscriber: in_order[subscriber] for subscriber in in_order} == expected
    shuffled = score_day(PAPERS, subscriptions, SCORING)
    order = list(expected)
    random.Random(3).shuffle(order)
    assert {subscriber: shuffled[subscriber] for subscriber in order} == expected
    # Read again (out of the read-ahead), and a caller changing its list does not change the next one.
    again = shuffled[order[0]]
    again.clear()
    assert shuffled[order[0]] == expected[order[0]]


def test_equal_matches_are_one_object_across_chats_and_papers() -> None:
    papers = [
        make_paper("1", "Diffusion models", "We study diffusion."),
        make_paper("2", "Diffusion policies", "Diffusion for robots."),
        make_paper("3", "Agents", "LLM agents plan with diffusion."),
    ]
    chats = [
        Subscription("a", (Keyword("diffusion"), Keyword("LLM")), ranking="classic"),
        Subscription("b", (Keyword("diffusion"), Keyword("graph")), ranking="classic"),
        Subscription("c", (Keyword("LLM"), Keyword("diffusion")), ranking="classic"),
    ]
    selection = score_day(papers, chats, SCORING)
    a, b, c = selection["a"], selection["b"], selection["c"]
    diffusion = a[0].matches[0]
    assert [scored.paper.arxiv_id for scored in a] == ["1", "2", "3"]
    # Same term, place and points: one KeywordMatch, whichever paper or chat it explains.
    assert a[1].matches[0] is diffusion and b[0].matches[0] is diffusion and c[1].matches[0] is diffusion
    # Same matches in the same order: one tuple.
    assert a[0].matches is a[1].matches is b[0].matches is b[1].matches
    # The chat's own order: LLM first.
    assert [match.term for match in a[2].matches] == ["diffusion", "LLM"]
    assert [match.term for match in c[2].matches] == ["LLM", "diffusion"]
    assert c[2].matches[1] is a[2].matches[0]
    again = selection["b"]  # a new read: a new list, from the shared objects
    assert again == b and again is not b and again[0].matches is b[0].matches


def test_shared_matches_are_let_go_every_result_cache_papers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(day_selection, "RESULT_CACHE_PAPERS", 3)
    papers = [make_paper(str(number), "Diffusion models", "Diffusion.") for number in range(2)]
    chats = [Subscription(f"chat{number}", (Keyword("diffusion"),), ranking="classic") for number in range(4)]
    selection = score_day(papers, chats, SCORING)
    first = selection["chat0"]  # read in order: built in one run with chat1 (4 results)
    assert selection["chat1"][0].matches is first[0].matches is first[1].matches
    later = selection["chat2"]  # the next run (chat2, chat3): 8 results in all, the caches started again
    assert later == first
    assert later[0].matches is not first[0].matches


def test_no_terms_at_all_gives_papers_without_matches() -> None:
    papers = [make_paper("1", "Anything", "at all", authors=("Ada Lovelace",)), make_paper("2", "More", "text")]
    chats = [Subscription("all", ()), Subscription("ada", (), authors=("ada lovelace",))]
    selection = score_day(papers, chats, SCORING)
    assert [(scored.paper.arxiv_id, scored.matches, scored.related) for scored in selection["all"]] == [
        ("1", (), True),
        ("2", (), True),
    ]
    [scored] = selection["ada"]
    assert (scored.paper.arxiv_id, scored.matched_authors, scored.related) == ("1", ("Ada Lovelace",), False)


def test_the_collector_is_paused_for_a_large_run_only_and_always_restored() -> None:
    """core/collector.py: scoring and result lists pause it around their bulk work."""
    assert gc.isenabled()
    with collector_paused(gc.get_threshold()[0]):
        assert not gc.isenabled()
    assert gc.isenabled()
    with collector_paused(1):
        assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused(10**6):
        raise RuntimeError("the build failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused(10**6):
            pass
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()


def test_scoring_a_day_runs_no_collection_and_leaves_the_collector_on() -> None:
    subscriptions = mixed_subscriptions(600)
    collections: list[int] = []

    def seen(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        selection = score_day(PAPERS, subscriptions, SCORING)
    finally:
        gc.callbacks.remove(seen)
    assert len(collections) <= 1  # at most the pass as the collector comes back (unpaused: one every 700 objects)
    assert gc.isenabled()
    assert sum(selection.matched_count(s.subscriber) for s in subscriptions) > 0


def test_reading_many_lists_in_order_leaves_the_collector_on() -> None:
    subscriptions = mixed_subscriptions(300)
    selection = score_day(PAPERS, subscriptions, SCORING)
    assert sum(len(selection[subscriber]) for subscriber in selection) > gc.get_threshold()[0]
    assert gc.isenabled()
