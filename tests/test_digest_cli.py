"""`arxiv-digest digest`, the README's main command: fetch, score with config.json's defaults, summarize, render."""
from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from bot.cli import EXIT_CONFIG, EXIT_NOTHING, EXIT_UNAVAILABLE, cli
from core.config import load_settings
from tests.fakes.arxiv import FakeArxiv, load_paper_list
from tests.test_arxiv_cli import PAPERS, _today

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config.json"
PAPER_HEADING = re.compile(r"^### (?:<a name=\"paper-\d+\"></a>)?(\d+)\. \[", re.MULTILINE)


def _config(tmp_path: Path, arxiv: dict) -> Path:
    """The shipped config.json (its 30 keywords and 4 categories), with loopback endpoints and no LLM key."""
    settings = json.loads(REPO_CONFIG.read_text(encoding="utf-8"))
    settings["database"] = str(tmp_path / "digest.db")
    settings["arxiv"] = arxiv
    settings["summaries"].update(api_key_env="ARXIV_DIGEST_TEST_NO_SUCH_KEY", base_url="http://127.0.0.1:9/v1")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def _invoke(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config), "digest", *args])


def test_digest_of_a_real_day_with_the_original_defaults(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    fake_arxiv.announce(load_paper_list(PAPERS), _today())
    config = _config(tmp_path, fake_arxiv.settings().model_dump(mode="json"))
    result = _invoke(config)
    assert result.exit_code == 0, result.output
    page = result.stdout
    numbers = [int(n) for n in PAPER_HEADING.findall(page)]
    settings = load_settings(config)
    assert 0 < len(numbers) <= settings.defaults.max_papers
    assert numbers == list(range(1, len(numbers) + 1))
    assert "**Categories Monitored**: cs.AI, cs.CL, cs.DC, cs.LG" in page
    scores = [float(s) for s in re.findall(r"^\*\*Score\*\*: ([\d.]+)", page, re.MULTILINE)]
    assert scores == sorted(scores, reverse=True)  # min_score counts keyword points: checked on the JSON below
    # No key: the top papers still get a summary, visibly labelled as extractive.
    assert page.count("<details>") == min(len(numbers), settings.summaries.top_n)
    assert "xtractive" in page
    assert "Ã" not in page  # proper UTF-8, unlike the original's mojibake


def test_digest_writes_the_page_and_does_not_fetch_a_stored_day_again(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    fake_arxiv.announce(load_paper_list(PAPERS), _today())
    config = _config(tmp_path, fake_arxiv.settings().model_dump(mode="json"))
    out = tmp_path / "site" / "README.md"
    first = _invoke(config, "--output", str(out))
    assert first.exit_code == 0, first.output
    second = _invoke(config, "--output", str(out))
    assert second.exit_code == 0
    assert "already stored" in second.stderr
    assert len(fake_arxiv.feed_requests()) == 1
    assert out.read_text(encoding="utf-8").startswith("# ")
    assert [p.name for p in out.parent.iterdir()] == ["README.md"]  # no temporary file left behind


def test_digest_offline_says_arxiv_is_unreachable(tmp_path: Path) -> None:
    offline = FakeArxiv(url="http://127.0.0.1:9").settings(max_retries=1)
    result = _invoke(_config(tmp_path, offline.model_dump(mode="json")))
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "arXiv is unreachable" in result.stderr
    assert "Traceback" not in result.output


def test_digest_of_a_day_not_stored_says_what_to_do(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    config = _config(tmp_path, fake_arxiv.settings().model_dump(mode="json"))
    result = _invoke(config, "--no-fetch", "--date", "2026-01-22")
    assert result.exit_code == EXIT_NOTHING
    assert "no papers in cs.AI+cs.CL+cs.DC+cs.LG are stored for 2026-01-22" in result.stderr
    assert fake_arxiv.requests == []


def test_digest_output_keeps_the_file_mode(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    """The page is replaced atomically, yet keeps the old file's mode, or gets the umask's for a new file."""
    fake_arxiv.announce(load_paper_list(PAPERS), _today())
    config = _config(tmp_path, fake_arxiv.settings().model_dump(mode="json"))
    existing = tmp_path / "README.md"
    existing.write_text("old page", encoding="utf-8")
    existing.chmod(0o664)
    created = tmp_path / "site" / "README.md"
    previous_umask = os.umask(0o027)
    try:
        assert _invoke(config, "--output", str(existing)).exit_code == 0
        assert _invoke(config, "--output", str(created)).exit_code == 0
    finally:
        os.umask(previous_umask)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o664
    assert existing.read_text(encoding="utf-8").startswith("# ")
    assert stat.S_IMODE(created.stat().st_mode) == 0o640


def test_digest_output_that_cannot_be_written_says_why(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    fake_arxiv.announce(load_paper_list(PAPERS), _today())
    config = _config(tmp_path, fake_arxiv.settings().model_dump(mode="json"))
    blocker = tmp_path / "site"
    blocker.write_text("a file where the directory should be", encoding="utf-8")
    target = blocker / "README.md"

    result = _invoke(config, "--output", str(target))

    assert result.exit_code == EXIT_CONFIG
    assert isinstance(result.exception, SystemExit)
    assert f"error: cannot write {target}: Not a directory" in result.stderr
    assert "Traceback" not in result.output
    assert blocker.read_text(encoding="utf-8") == "a file where the directory should be"


SCHEMA = Path(__file__).resolve().parent.parent / "core" / "data" / "digest.schema.json"


def test_digest_as_json_for_scripts_follows_the_documented_schema(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    fake_arxiv.announce(load_paper_list(PAPERS), _today())
    config = _config(tmp_path, fake_arxiv.settings().model_dump(mode="json"))
    as_json = _invoke(config, "--format", "json", "--max", "5")
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)  # stdout is the JSON alone; progress went to stderr
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())
    assert document["announcement_day"] == _today().isoformat()
    assert document["max_papers"] == 5
    assert [paper["rank"] for paper in document["papers"]] == [1, 2, 3, 4, 5]
    assert document["matched"] > 5
    assert document["announced"] >= document["matched"]
    scores = [paper["score"] for paper in document["papers"]]
    assert scores == sorted(scores, reverse=True)
    assert document["min_score"] == 2.5
    # The relevance ranking orders; min_score still counts keyword points (weight 1, 3x in a title).
    for paper in document["papers"]:
        assert sum(3 if m["in_title"] else 1 for m in paper["matches"] if m["source"] == "keyword") >= 2.5
    assert all(paper["matches"] or paper["matched_authors"] for paper in document["papers"])
    assert document["papers"][0]["summary"]["is_fallback"] is True  # no LLM key: the extractive summary
    page = _invoke(config, "--max", "5").stdout  # the same day as Markdown: the same papers, the same counts
    assert [int(n) for n in PAPER_HEADING.findall(page)] == [1, 2, 3, 4, 5]
    assert [f"https://arxiv.org/abs/{paper['arxiv_id']}" for paper in document["papers"]] == re.findall(
        r"^### .*\]\((https://arxiv\.org/abs/[^)]+)\)$", page, re.MULTILINE
    )
    assert f"- **Total Papers Found**: 5 of {document['matched']} matching, of {document['announced']} announced" in page
    assert "- **Max Papers**: 5" in page
    assert "- **Exclude Words**: survey, review, tutorial" in page


@pytest.mark.parametrize("bad", ["0", "101", "many"])
def test_digest_max_out_of_range_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    result = _invoke(_config(tmp_path, {}), "--max", bad)
    assert result.exit_code == 2
    assert "Invalid value for '--max'" in result.output
    assert "Traceback" not in result.output


def _property_names(schema: object) -> set[str]:
    if isinstance(schema, list):
        return set().union(*map(_property_names, schema))
    if not isinstance(schema, dict):
        return set()
    own = set(schema.get("properties", {}))
    return own.union(*map(_property_names, schema.values()))


def test_readme_names_every_key_of_the_json_digest() -> None:
    readme = (SCHEMA.parent.parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The digest command", 1)[1].split("\n## ", 1)[0]
    names = _property_names(json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert len(names) > 30
    assert {name for name in names if f"`{name}`" not in section} == set()
