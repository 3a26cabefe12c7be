"""The CLI while it works: a progress bar for the LLM phase that warnings never break into, fetch progress and
warnings in one style, and no HTTP client chatter below -v (subprocesses: logging is configured per process)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.store import Store
from tests.fakes.llm import RunningFakeLlm
from tests.test_summaries_cli import DAY
from tests.test_summarize import load_papers

CLI = str(Path(sys.executable).parent / "arxiv-digest")
TOP_N = 4


@pytest.fixture
def digest_files(tmp_path: Path, fake_llm: RunningFakeLlm) -> tuple[Path, Path]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "defaults": {"categories": ["cs.CV"], "keywords": ["Diffusion", "Video", "3D"], "min_score": 1.0},
        "summaries": {"base_url": fake_llm.base_url, "model": "fake-model", "api_key_env": "TEST_LLM_KEY",
                      "top_n": TOP_N, "max_retries": 1},
    }), encoding="utf-8")
    database = tmp_path / "cli.db"
    store = Store(database)
    store.papers.store_announcement(DAY, load_papers(60))
    store.close()
    return config, database


def _digest(files: tuple[Path, Path], *options: str) -> subprocess.CompletedProcess[str]:
    config, database = files
    env = {**os.environ, "TEST_LLM_KEY": "sk-test"}
    return subprocess.run(
        [CLI, *options, "--config", str(config), "--database", str(database), "digest", "--no-fetch"],
        env=env, capture_output=True, text=True, timeout=120,
    )


def test_digest_shows_a_progress_bar_and_keeps_warnings_and_http_chatter_out_of_it(digest_files, fake_llm) -> None:
    fake_llm.fake.default_fault = "server_error"  # every attempt fails: warnings while the bar runs
    quiet = _digest(digest_files)
    assert quiet.returncode == 0, quiet.stderr
    assert "summaries: 100%" in quiet.stderr
    assert f"{TOP_N}/{TOP_N}" in quiet.stderr
    warning = next(line for line in quiet.stderr.splitlines() if "using the extractive fallback" in line)
    assert warning.startswith("warning: LLM summary of ")  # a line of its own, in the CLI's style, not inside a bar
    assert "HTTP Request" not in quiet.stderr
    assert "Retrying request" not in quiet.stderr
    assert f"{DAY}" in quiet.stdout
    assert "Extractive" in quiet.stdout

    verbose = _digest(digest_files, "-v")
    assert verbose.returncode == 0
    assert "HTTP Request" in verbose.stderr or "Retrying request" in verbose.stderr
