"""score_day: the score formula, filters, thresholds, ordering and what each ScoredPaper records."""
from __future__ import annotations

import pytest

from core.config import ScoringSettings
from core.models import Keyword, KeywordMatch, Subscription
from core.scoring import score_day
from core.scoring_units import MAX_WEIGHT, MIN_WEIGHT, SCORE_UNITS, keyword_units
from core.subscription_terms import MAX_KEYWORDS_PER_SUBSCRIPTION
from tests.scoring_support import make_paper

SCORING = ScoringSettings(title_bonus=2.0, author_points=5.0)


def subscription(*terms: str | Keyword, **options) -> Subscription:
    """The classic ranking (the additive formula these tests pin down); core/relevance.py has its own tests."""
    keywords = tuple(term if isinstance(term, Keyword) else Keyword(term) for term in terms)
    options.setdefault("ranking", "classic")
    return Subscription(options.pop("subscriber", "chat"), keywords, **options)


def picked(papers, sub: Subscription, scoring: ScoringSettings = SCORING) -> list[tuple[str, float]]:
    return [(scored.paper.arxiv_id, scored.score) for scored in score_day(papers, [sub], scoring)[sub.subscriber]]


def test_title_match_is_worth_weight_times_one_plus_bonus_abstract_match_weight() -> None:
    papers = [
        make_paper("1", "Fast LLM inference", "We make it fast."),
        make_paper("2", "A study", "An LLM answers questions."),
        make_paper("3", "Nothing here", "Nor here."),
    ]
    assert picked(papers, subscription("LLM")) == [("1", 3.0), ("2", 1.0)]
    assert picked(papers, subscription(Keyword("LLM", 2.0), "fast")) == [("1", 9.0), ("2", 2.0)]
    assert picked(papers, subscription("LLM"), ScoringSettings(title_bonus=0.5)) == [("1", 1.5), ("2", 1.0)]


def test_matches_record_term_as_typed_place_and_points() -> None:
    papers = [make_paper("1", "Sparse attention kernels", "Attention is sparse; we fuse kernels.")]
    [scored] = score_day(papers, [subscription(Keyword("Attention", 1.5), "kernel", "RL")], SCORING)["chat"]
    assert scored.matches == (
        KeywordMatch("Attention", in_title=True, in_abstract=True, points=4.5),
        KeywordMatch("kernel", in_title=True, in_abstract=True, points=3.0),
    )
    assert scored.matched_terms == ("Attention", "kernel")
    assert scored.score == pytest.approx(sum(match.points for match in scored.matches))


def test_min_score_applies_and_a_match_is_needed() -> None:
    papers = [make_paper("1", "LLM", ""), make_paper("2", "x", "LLM and RL"), make_paper("3", "x", "LLM")]
    sub = subscription("LLM", "RL")
    assert picked(papers, sub) == [("1", 3.0), ("2", 2.0), ("3", 1.0)]
    assert picked(papers, subscription("LLM", "RL", min_score=2.5)) == [("1", 3.0)]
    assert picked(papers, subscription("LLM", "RL", min_score=2.0)) == [("1", 3.0), ("2", 2.0)]
    assert picked(papers, subscription("LLM", "RL", min_score=3.01)) == []
    assert picked(papers, subscription("quantum", min_score=0)) == []
    assert picked(papers, subscription("LLM", min_score=float("inf"))) == []
    assert picked(papers, subscription("LLM", min_score=float("nan"))) == [("1", 3.0), ("2", 1.0), ("3", 1.0)]
    assert picked(papers, subscription("LLM", min_score=-5)) == [("1", 3.0), ("2", 1.0), ("3", 1.0)]


def test_ties_order_by_arxiv_id_and_max_papers_cuts_after_ordering() -> None:
    papers = [make_paper(arxiv_id, "LLM", "") for arxiv_id in ("2601.00003", "2601.00001", "2601.00002")]
    papers.append(make_paper("2601.00009", "LLM RL", ""))
    sub = subscription("LLM", "RL", max_papers=3)
    assert picked(papers, sub) == [("2601.00009", 6.0), ("2601.00001", 3.0), ("2601.00002", 3.0)]
    assert picked(papers, subscription("LLM", max_papers=0)) == []


def test_exclude_words_drop_papers_whole_word_only() -> None:
    papers = [
        make_paper("1", "A survey of LLM serving", ""),
        make_paper("2", "LLM preview", "a preview"),
        make_paper("3", "LLM", "we review prior work"),
        make_paper("4", "LLM reviews", ""),
    ]
    sub = subscription("LLM", excludes=("survey", "review"))
    assert [arxiv_id for arxiv_id, _ in picked(papers, sub)] == ["2"]


def test_exclude_phrase_and_wildcard() -> None:
    papers = [make_paper("1", "LLM systematic review", ""), make_paper("2", "LLM review board", ""), make_paper("3", "LLM overviews", "")]
    assert [a for a, _ in picked(papers, subscription("LLM", excludes=("systematic review",)))] == ["2", "3"]
    assert [a for a, _ in picked(papers, subscription("LLM", excludes=("*view*",)))] == []


def test_exclude_beats_any_score_and_authors() -> None:
    papers = [make_paper("1", "LLM LLM survey", "", authors=("Ada Lovelace",))]
    sub = subscription(Keyword("LLM", 10), excludes=("survey",), authors=("Ada Lovelace",))
    assert picked(papers, sub) == []


def test_category_filter_any_shared_category_case_insensitive() -> None:
    papers = [
        make_paper("1", "LLM", "", categories=("cs.CL", "cs.LG")),
        make_paper("2", "LLM", "", categories=("cs.CV",)),
        make_paper("3", "LLM", "", categories=("stat.ML", "cs.lg")),
    ]
    assert [a for a, _ in picked(papers, subscription("LLM", categories=("cs.LG",)))] == ["1", "3"]
    assert [a for a, _ in picked(papers, subscription("LLM", categories=()))] == ["1", "2", "3"]
    assert picked(papers, subscription("LLM", categories=("math.CO",))) == []


def test_crosslists_and_replacements_follow_the_subscription() -> None:
    types = ("new", "cross", "replace", "replace-cross")
    papers = [make_paper(str(index), "LLM", "", announce_type=kind) for index, kind in enumerate(types)]
    ids = lambda **options: [a for a, _ in picked(papers, subscription("LLM", **options))]  # noqa: E731
    assert ids() == ["0", "1"]
    assert ids(crosslists=False) == ["0"]
    assert ids(replacements=True) == ["0", "1", "2", "3"]
    assert ids(replacements=True, crosslists=False) == ["0", "2"]


def test_a_crosslist_is_judged_against_the_subscriptions_own_categories() -> None:
    """The stored type was decided for everyone's categories at once; what counts is this chat's."""
    papers = [
        make_paper("a", "LLM", "", categories=("cs.CL", "cs.LG"), announce_type="new"),  # primary cs.CL
        make_paper("b", "LLM", "", categories=("cs.LG", "cs.CL"), announce_type="cross"),  # primary cs.LG
    ]
    only = lambda *categories: [a for a, _ in picked(papers, subscription("LLM", categories=categories, crosslists=False))]  # noqa: E731
    assert only("cs.LG") == ["b"]
    assert only("cs.CL") == ["a"]
    assert only("cs.CL", "cs.LG") == ["a", "b"]
    assert [a for a, _ in picked(papers, subscription("LLM", crosslists=False))] == ["a"]  # no categories: the stored type


def test_followed_authors_add_points_accent_and_case_insensitive() -> None:
    papers = [
        make_paper("1", "Unrelated", "", authors=("José García", "Ada Lovelace")),
        make_paper("2", "Unrelated", "", authors=("Jose Garcia-Lopez",)),
        make_paper("3", "LLM", "", authors=("Someone Else",)),
    ]
    sub = subscription("LLM", authors=("jose garcia", "ADA LOVELACE"), min_score=2.5)
    selection = score_day(papers, [sub], SCORING)["chat"]
    assert [(s.paper.arxiv_id, s.score) for s in selection] == [("1", 10.0), ("3", 3.0)]
    assert selection[0].matched_authors == ("José García", "Ada Lovelace")
    assert selection[0].matches == ()


def test_subscription_without_keywords_gets_its_categories() -> None:
    papers = [make_paper("2", "x", "", categories=("cs.CV",)), make_paper("1", "y", ""), make_paper("3", "survey", "")]
    sub = Subscription("chat", (), excludes=("survey",), categories=("cs.CL",))
    assert picked(papers, sub) == [("1", 0.0)]
    assert picked(papers, Subscription("chat", (), min_score=1.0)) == []


def test_invalid_and_duplicate_terms_are_ignored_not_fatal() -> None:
    papers = [make_paper("1", "LLMs", "")]
    sub = subscription("LLM", "llm", "LLM's", " L.L.M ", "", "*", "+++", excludes=("", "**"))
    [scored] = score_day(papers, [sub], SCORING)["chat"]
    assert scored.score == 3.0
    assert scored.matched_terms == ("LLM",)


def test_weights_are_clamped_and_counted_in_hundredths() -> None:
    papers = [make_paper("1", "", "LLM")]
    assert picked(papers, subscription(Keyword("LLM", 1000))) == [("1", MAX_WEIGHT)]
    assert picked(papers, subscription(Keyword("LLM", -3))) == [("1", MIN_WEIGHT)]
    assert picked(papers, subscription(Keyword("LLM", float("nan")))) == [("1", 1.0)]
    assert picked(papers, subscription(Keyword("LLM", 0.333))) == [("1", 0.33)]
    assert keyword_units(1.0, True, SCORING) == 3 * SCORE_UNITS


def test_scores_are_exact_so_ties_do_not_depend_on_addition_order() -> None:
    terms = [Keyword(t, w) for t, w in (("alpha", 0.1), ("beta", 0.2), ("gamma", 0.3))]
    papers = [make_paper("2", "", "alpha beta gamma"), make_paper("1", "", "gamma beta alpha")]
    forward, backward = subscription(*terms, subscriber="a"), subscription(*reversed(terms), subscriber="b")
    selection = score_day(papers, [forward, backward], SCORING)
    for sub in (forward, backward):
        assert [(s.paper.arxiv_id, s.score) for s in selection[sub.subscriber]] == [("1", 0.6), ("2", 0.6)]


def test_one_call_serves_many_subscribers_independently() -> None:
    papers = [make_paper("1", "LLM", ""), make_paper("2", "RL", "", categories=("cs.LG",))]
    subs = [
        subscription("LLM", subscriber="a", categories=("cs.CL", "cs.LG")),
        subscription("RL", subscriber="b", categories=("cs.LG",)),
        subscription(subscriber="c", categories=("math.CO",)),
    ]
    selection = score_day(papers, subs, SCORING)
    assert list(selection) == ["a", "b", "c"]
    assert len(selection) == 3
    assert selection.selected_ids("a") == ["1"]
    assert selection.selected_ids("b") == ["2"]
    assert selection["c"] == []
    assert (selection.considered("a"), selection.considered("b"), selection.considered("c")) == (2, 1, 0)
    with pytest.raises(KeyError):
        selection["nobody"]


def test_a_subscriber_listed_twice_keeps_its_last_subscription() -> None:
    papers = [make_paper("1", "LLM", ""), make_paper("2", "RL", "")]
    selection = score_day(papers, [subscription("LLM"), subscription("RL")], SCORING)
    assert selection.selected_ids("chat") == ["2"]


def test_duplicate_paper_ids_keep_the_latest_version() -> None:
    papers = [make_paper("1", "LLM", "", version=1), make_paper("1", "Other", "", version=2)]
    assert picked(papers, subscription("LLM")) == []
    assert score_day(papers, [subscription("Other")], SCORING)["chat"][0].paper.version == 2


def test_skip_leaves_out_papers_before_the_cut() -> None:
    papers = [make_paper(str(index), "LLM", "") for index in range(5)]
    selection = score_day(papers, [subscription("LLM", max_papers=2)], SCORING, skip={"chat": {"0", "1", "unknown"}})
    assert selection.selected_ids("chat") == ["2", "3"]


def test_outbox_entries_are_the_selected_papers_in_order() -> None:
    papers = [make_paper("1", "LLM", "", version=3), make_paper("2", "LLM agents", "LLM"), make_paper("3", "RL", "")]
    selection = score_day(papers, [subscription("LLM"), subscription("agents", subscriber="b")], SCORING)
    for subscribers in (["chat", "b"], ["b", "chat"], ["b"], []):  # any chunk of subscribers, in any order
        plans = selection.plans(subscribers)
        assert len(plans) == len(subscribers)
        for subscriber, plan in zip(subscribers, plans):
            expected = [(scored.paper.arxiv_id, scored.paper.version, scored.score) for scored in selection[subscriber]]
            assert list(zip(plan.arxiv_ids, plan.versions, plan.scores)) == expected
    (plan,) = selection.plans(["chat"])
    assert dict(zip(plan.arxiv_ids, plan.versions))["1"] == 3


def test_empty_inputs() -> None:
    assert dict(score_day([], [subscription("LLM")], SCORING)) == {"chat": []}
    assert len(score_day([make_paper("1", "LLM", "")], [], SCORING)) == 0


def test_keyword_cap_keeps_scores_in_range() -> None:
    many = [Keyword(f"w{index}", MAX_WEIGHT) for index in range(MAX_KEYWORDS_PER_SUBSCRIPTION + 50)]
    title = " ".join(keyword.term for keyword in many)
    [scored] = score_day([make_paper("1", title, title)], [subscription(*many)], ScoringSettings(title_bonus=10))["chat"]
    assert scored.score == MAX_KEYWORDS_PER_SUBSCRIPTION * MAX_WEIGHT * 11
    assert len(scored.matches) == MAX_KEYWORDS_PER_SUBSCRIPTION


def test_many_subscribers_and_papers_in_one_pass() -> None:
    papers = [make_paper(f"2601.{index:05d}", f"LLM paper {index}", "RL" if index % 2 else "", categories=("cs.CL",)) for index in range(600)]
    subs = [subscription("LLM", "RL", subscriber=f"s{index}", max_papers=index % 40, min_score=(index % 5)) for index in range(3000)]
    selection = score_day(papers, subs, SCORING)
    for index in (0, 7, 1234, 2999):
        sub = subs[index]
        expected = sorted(
            ((p.arxiv_id, 4.0 if int(p.arxiv_id[-5:]) % 2 else 3.0) for p in papers),
            key=lambda item: (-item[1], item[0]),
        )
        expected = [item for item in expected if item[1] >= sub.min_score][: sub.max_papers]
        assert [(s.paper.arxiv_id, s.score) for s in selection[sub.subscriber]] == expected


def test_iteration_follows_the_order_subscriptions_came_in() -> None:
    papers = [make_paper("1", "LLM", "", categories=("cs.CL",)), make_paper("2", "LLM", "", categories=("cs.CV",))]
    names_and_categories = [("z", ("cs.CL",)), ("y", ("cs.CV",)), ("x", ("cs.CL",)), ("w", ())]
    subs = [subscription("LLM", subscriber=name, categories=categories) for name, categories in names_and_categories]
    selection = score_day(papers, subs, SCORING)
    assert list(selection) == ["z", "y", "x", "w"]
    assert [selection.selected_ids(name) for name in selection] == [["1"], ["2"], ["1"], ["1", "2"]]
