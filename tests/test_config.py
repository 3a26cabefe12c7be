"""config.json: the shipped defaults, the embedded ones, and readable errors for bad values."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import ConfigError, Settings, load_settings, parse_settings
from core.limits import MAX_CATEGORIES_PER_CHAT, MAX_KEYWORD_LENGTH, MAX_KEYWORDS_PER_CHAT, MAX_PAPERS

SHIPPED = Path(__file__).resolve().parent.parent / "config.json"


def test_embedded_defaults_match_the_shipped_config_json():
    """Run outside the repository (no config.json), the digest still uses the original bot's defaults."""
    shipped = parse_settings(json.loads(SHIPPED.read_text(encoding="utf-8")))
    assert Settings().defaults == shipped.defaults
    assert len(shipped.defaults.keywords) == 30
    assert shipped.defaults.categories == ("cs.AI", "cs.CL", "cs.DC", "cs.LG")
    assert (shipped.defaults.max_papers, shipped.defaults.min_score) == (30, 2.5)


@pytest.mark.parametrize(
    "raw,named",
    [
        ({"defaults": {"max_papers": 0}}, "defaults.max_papers = 0"),
        ({"defaults": {"timezone": "Mars/Base"}}, "defaults.timezone"),
        ({"arxiv": {"announcement_timezone": "Mars/Olympus"}}, 'arxiv.announcement_timezone = "Mars/Olympus"'),
        ({"arxiv": {"timeout_seconds": "soon"}}, 'arxiv.timeout_seconds = "soon"'),
        ({"no_such_section": {}}, "no_such_section"),
        ({"defaults": {"max_papers": MAX_PAPERS + 1}}, f"defaults.max_papers = {MAX_PAPERS + 1}"),
        ({"defaults": {"keywords": ["k" * (MAX_KEYWORD_LENGTH + 1)]}}, "defaults.keywords.0.term"),
        ({"defaults": {"keywords": [f"kw{n}" for n in range(MAX_KEYWORDS_PER_CHAT + 1)]}}, "defaults.keywords"),
        ({"defaults": {"categories": ["cs.AI"] * (MAX_CATEGORIES_PER_CHAT + 1)}}, "defaults.categories"),
        ({"defaults": {"categories": ["csAI"]}}, "did you mean cs.AI"),
        ({"defaults": {"keywords": ["pre*training"]}}, "defaults.keywords.0.term"),
        ({"defaults": {"exclude": ["***"]}}, "defaults.exclude"),
    ],
)
def test_bad_values_are_named_in_one_readable_message(raw, named):
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    assert named in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_default_categories_are_spelled_as_arxiv_does():
    """A new chat must start with settings a command could have produced: canonical category codes."""
    assert parse_settings({"defaults": {"categories": ["CS.ai", "cs.LG", "cs.ai"]}}).defaults.categories == ("cs.AI", "cs.LG")


def test_unreadable_config_files_say_what_is_wrong(tmp_path):
    broken = tmp_path / "config.json"
    broken.write_text("{ not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not valid JSON: line 1"):
        load_settings(broken)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.json")
    broken.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match="must hold a JSON object"):
        load_settings(broken)
