"""The day engine selects exactly what the obvious per-subscriber loop selects, on real arXiv days."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import score_matrix
from core import scoring as scoring_module
from core.config import ScoringSettings
from core.models import Keyword, Subscription
from core.scoring import score_day
from tests.scoring_support import CV_DAY, load_papers, real_papers, reference_select

PAPERS = real_papers()
# Terms seen in these papers (and some that are not), including phrases, plurals and wildcards.
VOCABULARY = (
    "LLM", "RL", "Training", "Attention", "Efficient", "Framework", "Network", "Inference", "Sparse", "Kernel",
    "diffusion", "transformer", "large language models", "vision-language", "point cloud", "Gaussian splatting",
    "pre-training", "fine-tuning", "zero-shot", "benchmark", "agents", "reasoning", "segmentation", "3D",
    "*training", "quantiz*", "*former*", "chain-of-thought", "in-context learning", "state-of-the-art",
    "multimodal", "dataset", "robustness", "real-world", "medical imaging", "Schrödinger", "FP8", "MoE",
    "image", "video generation", "language model", "reinforcement learning", "survey",
)
EXCLUDES = ("survey", "review", "tutorial", "benchmark", "medical", "*video*", "state-of-the-art")
CATEGORIES = ((), ("cs.CV",), ("cs.CL",), ("cs.AI", "cs.CL", "cs.DC", "cs.LG"), ("cs.LG",), ("eess.IV", "cs.GR"))


def random_subscriptions(count: int, seed: int) -> list[Subscription]:
    rng = random.Random(seed)
    authors = sorted({name for paper in PAPERS for name in paper.authors})
    subscriptions = []
    for number in range(count):
        terms = rng.sample(VOCABULARY, rng.randint(0, 12))
        subscriptions.append(
            Subscription(
                subscriber=f"s{number}",
                keywords=tuple(Keyword(term, rng.choice((1.0, 1.0, 0.5, 1.5, 2.0, 3.25))) for term in terms),
                excludes=tuple(rng.sample(EXCLUDES, rng.randint(0, 3))),
                categories=rng.choice(CATEGORIES),
                authors=tuple(rng.sample(authors, rng.randint(0, 2))) if rng.random() < 0.3 else (),
                crosslists=rng.random() < 0.7,
                replacements=rng.random() < 0.3,
                min_score=rng.choice((0.0, 1.0, 2.5, 3.0, 4.5, 10.0)),
                max_papers=rng.choice((0, 1, 5, 30, 200)),
                ranking=rng.choice(("relevance", "classic")),
                learned=tuple(Keyword(term, 0.3) for term in rng.sample(VOCABULARY, rng.randint(0, 2))),
            )
        )
    return subscriptions


def test_engine_equals_reference_for_200_random_subscriptions() -> None:
    subscriptions = random_subscriptions(200, seed=2026)
    scoring = ScoringSettings(title_bonus=2.0, author_points=5.0)
    selection = score_day(PAPERS, subscriptions, scoring)
    selected = 0
    for subscription in subscriptions:
        expected = reference_select(PAPERS, subscription, scoring)
        assert selection[subscription.subscriber] == expected, subscription
        selected += len(expected)
    assert selected > 800  # the comparison is not vacuous


@pytest.mark.parametrize(
    ("cells_per_block", "small_posting", "rows_per_pass"), [(1 << 12, 48, 8192), (1 << 19, 0, 8192), (1 << 19, 1 << 20, 8192), (1 << 15, 48, 37)]
)
def test_blocks_passes_and_both_scatter_paths_select_the_same(
    monkeypatch: pytest.MonkeyPatch, cells_per_block: int, small_posting: int, rows_per_pass: int
) -> None:
    """Many small blocks (rows of several filter profiles in one block), rows scored in several passes, and every
    posting scattered one by one or all together: the same selection as the defaults."""
    subscriptions = random_subscriptions(120, seed=7)
    scoring = ScoringSettings(title_bonus=2.0, author_points=5.0)
    skip = {subscription.subscriber: {paper.arxiv_id for paper in PAPERS[number % 40 :: 9]} for number, subscription in enumerate(subscriptions[::3])}
    expected = score_day(PAPERS, subscriptions, scoring, skip=skip)
    assert expected != score_day(PAPERS, subscriptions, scoring)  # the skips matter
    monkeypatch.setattr(score_matrix, "CELLS_PER_BLOCK", cells_per_block)
    monkeypatch.setattr(score_matrix, "SMALL_POSTING", small_posting)
    monkeypatch.setattr(scoring_module, "ROWS_PER_PASS", rows_per_pass)
    selection = score_day(PAPERS, subscriptions, scoring, skip=skip)
    assert {s: selection[s] for s in selection} == {s: expected[s] for s in expected}
    assert sum(selection.matched_count(s.subscriber) for s in subscriptions) > 1000


def test_real_cv_day_has_all_announce_types_and_filters_them() -> None:
    papers = load_papers(CV_DAY)
    assert {paper.announce_type for paper in papers} == {"new", "cross", "replace", "replace-cross"}
    everything = Subscription("all", (), replacements=True, max_papers=1000)
    fresh_only = Subscription("new", (), crosslists=False, max_papers=1000)
    selection = score_day(papers, [everything, fresh_only], ScoringSettings())
    assert len(selection["all"]) == 501
    assert {s.paper.announce_type for s in selection["new"]} == {"new"}
    assert len(selection["new"]) == 276


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    terms=st.lists(st.text(alphabet="abcdeLMRS -*'é", min_size=1, max_size=8), max_size=6),
    excludes=st.lists(st.sampled_from(EXCLUDES), max_size=2),
    title_bonus=st.sampled_from((0.0, 0.5, 2.0, 10.0)),
    min_score=st.sampled_from((0.0, 0.5, 1.0, 3.0)),
)
def test_engine_equals_reference_for_arbitrary_terms(terms, excludes, title_bonus, min_score) -> None:
    subscription = Subscription("x", tuple(Keyword(term) for term in terms), excludes=tuple(excludes), min_score=min_score, max_papers=50)
    scoring = ScoringSettings(title_bonus=title_bonus)
    papers = PAPERS[:60]
    assert score_day(papers, [subscription], scoring)["x"] == reference_select(papers, subscription, scoring)
