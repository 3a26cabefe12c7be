"""Term postings kept between scoring passes give exactly what a fresh pass gives."""
from __future__ import annotations

import dataclasses

from core.config import ScoringSettings
from core.day_terms import PAPER_SETS_KEPT, DayTerms
from core.scoring import score_day
from tests.scoring_support import real_papers
from tests.test_scoring_reference import random_subscriptions

PAPERS = real_papers()
SCORING = ScoringSettings(title_bonus=2.0, author_points=5.0)


def as_lists(selection) -> dict[str, list]:
    return {subscriber: selection[subscriber] for subscriber in selection}


def test_a_second_pass_with_new_terms_equals_a_fresh_pass() -> None:
    day_terms = DayTerms()
    first, second = random_subscriptions(60, seed=1), random_subscriptions(60, seed=2)
    score_day(PAPERS, first, SCORING, day_terms=day_terms)
    kept = as_lists(score_day(PAPERS, second, SCORING, day_terms=day_terms))
    assert kept == as_lists(score_day(PAPERS, second, SCORING))
    assert sum(map(len, kept.values())) > 200  # not vacuous


def test_another_paper_set_is_weighed_over_its_own_papers() -> None:
    """Relevance weighs a term over the papers scored (idf): a changed set must not reuse the old weights."""
    day_terms = DayTerms()
    subscriptions = random_subscriptions(40, seed=3)
    score_day(PAPERS, subscriptions, SCORING, day_terms=day_terms)
    fewer = PAPERS[: len(PAPERS) // 3]
    assert as_lists(score_day(fewer, subscriptions, SCORING, day_terms=day_terms)) == as_lists(score_day(fewer, subscriptions, SCORING))
    # The same ids with a new version are another set too (a replaced paper's text changed).
    replaced = [dataclasses.replace(paper, version=paper.version + 1, title=f"{paper.title} survey") for paper in fewer]
    assert as_lists(score_day(replaced, subscriptions, SCORING, day_terms=day_terms)) == as_lists(score_day(replaced, subscriptions, SCORING))


def test_only_the_latest_paper_sets_are_kept() -> None:
    day_terms = DayTerms()
    subscriptions = random_subscriptions(5, seed=4)
    for size in range(PAPER_SETS_KEPT + 3):
        score_day(PAPERS[: 50 + size], subscriptions, SCORING, day_terms=day_terms)
    assert len(day_terms) == PAPER_SETS_KEPT
