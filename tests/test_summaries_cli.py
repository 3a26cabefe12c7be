"""`arxiv-digest summarize`: the top papers of a day's default digest, or given ids, against the fake LLM."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import EXIT_CONFIG, cli
from core.config import load_settings
from core.store import Store
from core.summarize import Summarizer
from tests.fakes.llm import RunningFakeLlm
from tests.test_summarize import load_papers

DAY = dt.date(2026, 4, 22)


@pytest.fixture
def cli_files(tmp_path: Path, fake_llm: RunningFakeLlm, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "defaults": {"categories": ["cs.CV"], "keywords": ["Diffusion", "Video", "3D"], "min_score": 1.0},
                "summaries": {"base_url": fake_llm.base_url, "model": "fake-model", "api_key_env": "TEST_LLM_KEY", "top_n": 4},
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    database = tmp_path / "cli.db"
    store = Store(database)
    store.papers.store_announcement(DAY, load_papers(60))
    store.close()
    return config, database


def run(cli_files: tuple[Path, Path], *args: str) -> str:
    config, database = cli_files
    result = CliRunner().invoke(cli, ["--config", str(config), "--database", str(database), "summarize", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_summarize_given_ids_then_rerun_uses_the_cache(cli_files: tuple[Path, Path], fake_llm: RunningFakeLlm) -> None:
    ids = [paper.arxiv_id for paper in load_papers(3)]

    first = run(cli_files, "--ids", ",".join(ids[:2]), "--ids", ids[2], "--show")
    second = run(cli_files, "--ids", ",".join(ids))

    assert "3 summaries (0 extractive fallback) in en" in first
    assert "**1. Main contributions and novelty**" in first
    assert "3 summaries" in second
    assert fake_llm.fake.total_calls == 3


def test_unknown_ids_are_named(cli_files: tuple[Path, Path], fake_llm: RunningFakeLlm) -> None:
    output = run(cli_files, "--ids", "9999.99999")
    assert "not in the store" in output
    assert "9999.99999" in output
    assert "nothing to summarize" in output
    assert fake_llm.fake.total_calls == 0


def test_summarize_a_day_summarizes_only_the_top_n_of_the_default_digest(
    cli_files: tuple[Path, Path], fake_llm: RunningFakeLlm
) -> None:
    output = run(cli_files, "--date", DAY.isoformat(), "--language", "zh")

    assert "4 summaries (0 extractive fallback) in zh" in output
    assert fake_llm.fake.total_calls == 4


def _with_prices(config: Path) -> None:
    raw = json.loads(config.read_text(encoding="utf-8"))
    raw["summaries"].update(price_per_million_prompt_tokens=1000.0, price_per_million_completion_tokens=1000.0)
    config.write_text(json.dumps(raw), encoding="utf-8")


def test_tokens_and_cost_count_only_this_runs_calls(cli_files: tuple[Path, Path], fake_llm: RunningFakeLlm) -> None:
    """Summaries taken from the cache were paid for by an earlier run; they are counted apart."""
    config, database = cli_files
    _with_prices(config)
    first_paper, second_paper = load_papers(2)
    run(cli_files, "--ids", first_paper.arxiv_id)

    output = run(cli_files, "--ids", f"{first_paper.arxiv_id},{second_paper.arxiv_id}")
    again = run(cli_files, "--ids", f"{first_paper.arxiv_id},{second_paper.arxiv_id}")

    store = Store(database)
    key = Summarizer(load_settings(config).summaries, store, None).key_for(second_paper, "en")
    new = store.summaries.cached_summary(key)
    store.close()
    cost = (new.prompt_tokens + new.completion_tokens) * 1000.0 / 1_000_000
    assert f"1 new ({new.prompt_tokens} prompt + {new.completion_tokens} completion tokens, cost {cost:.4f}), 1 from cache" in output
    assert "0 new (0 prompt + 0 completion tokens, cost 0.0000), 2 from cache" in again
    assert fake_llm.fake.total_calls == 2


def test_summarize_when_summaries_are_disabled_says_so(cli_files: tuple[Path, Path], fake_llm: RunningFakeLlm) -> None:
    config, database = cli_files
    raw = json.loads(config.read_text(encoding="utf-8"))
    raw["summaries"]["enabled"] = False
    config.write_text(json.dumps(raw), encoding="utf-8")

    result = CliRunner().invoke(
        cli, ["--config", str(config), "--database", str(database), "summarize", "--date", DAY.isoformat(), "--show"]
    )

    assert result.exit_code == EXIT_CONFIG, result.output
    assert isinstance(result.exception, SystemExit)
    assert "summaries are disabled in config.json" in result.stderr
    assert fake_llm.fake.total_calls == 0
