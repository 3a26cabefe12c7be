"""The summary cache: one row per (paper version, model, language, prompt version, source kind)."""
from __future__ import annotations


class SummaryQueries:
    """Mixin of Store."""
