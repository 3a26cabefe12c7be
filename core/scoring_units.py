"""Score units: weights in hundredths and points as whole 1/10,000ths, so every sum is an exact integer."""
from __future__ import annotations

import functools
import math

from core.config import ScoringSettings

WEIGHT_STEPS = 100  # weights and the title bonus are honoured to 0.01
SCORE_UNITS = WEIGHT_STEPS * WEIGHT_STEPS  # a point is 10,000 units: every sum is an exact integer
MIN_WEIGHT = 0.01
MAX_WEIGHT = 10.0
# With weights <= 10, title_bonus <= 10, relevance factors <= 10 (core/relevance.py), author_points <= 100
# and the per-subscription caps of core/subscription_terms.py, every score stays below 2**30 units, so the
# threshold and order scores each fit one half of a packed int64 cell (core/score_matrix.py); entries beyond
# the caps are ignored.


@functools.lru_cache(maxsize=1024)
def weight_steps(weight: float) -> int:
    """A keyword weight in hundredths, clamped to [MIN_WEIGHT, MAX_WEIGHT] (non-numbers count as 1)."""
    if not math.isfinite(weight):
        weight = 1.0
    return round(min(max(weight, MIN_WEIGHT), MAX_WEIGHT) * WEIGHT_STEPS)


def keyword_units(weight: float, in_title: bool, scoring: ScoringSettings) -> int:
    """What one matching keyword adds, in score units."""
    factor = round((1 + scoring.title_bonus) * WEIGHT_STEPS) if in_title else WEIGHT_STEPS
    return weight_steps(weight) * factor


def author_units(scoring: ScoringSettings) -> int:
    return round(scoring.author_points * SCORE_UNITS)
