"""`arxiv-digest fetch` and `backfill` against the loopback fake arXiv and an unreachable one: exit codes and messages."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner

from bot.cli import EXIT_UNAVAILABLE, cli
from core.arxiv.calendar import current_announcement_day
from core.store import Store
from tests.fakes.arxiv import FakeArxiv, Fault, load_paper_list

PAPERS = Path(__file__).parent / "fixtures" / "arxiv" / "dw-dengwei_2025-10-22.jsonl"


def _config(tmp_path: Path, arxiv: dict) -> Path:
    path = tmp_path / "config.json"
    settings = {"database": str(tmp_path / "cli.db"), "arxiv": arxiv, "defaults": {"categories": ["cs.CL", "cs.AI"]}}
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def _invoke(config: Path, *args: str):
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def _today() -> dt.date:
    return current_announcement_day(dt.datetime.now(dt.timezone.utc))


def test_fetch_stores_today_and_then_says_already_stored(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    papers = load_paper_list(PAPERS)
    fake_arxiv.announce(papers, _today())
    config = _config(tmp_path, fake_arxiv.settings().model_dump(mode="json"))
    first = _invoke(config, "fetch")
    assert first.exit_code == 0, first.output
    expected = len([p for p in papers if {"cs.CL", "cs.AI"} & set(p.categories)])
    assert f"{fake_arxiv.day}: stored {expected} papers announced in cs.AI+cs.CL" in first.stdout
    assert "requesting the cs.AI+cs.CL feed" in first.stderr  # progress
    second = _invoke(config, "fetch")
    assert second.exit_code == 0
    assert "already stored" in second.stdout
    assert len(fake_arxiv.requests) == 1
    store = Store(tmp_path / "cli.db")
    assert len(store.papers.papers_announced(fake_arxiv.day)) == expected
    store.close()


def test_fetch_of_an_empty_day_succeeds_and_says_so(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    fake_arxiv.announce([], None)
    result = _invoke(_config(tmp_path, fake_arxiv.settings().model_dump(mode="json")), "fetch", "--category", "cs.LG")
    assert result.exit_code == 0
    assert "arXiv announced nothing new in cs.LG" in result.stdout


def test_fetch_when_arxiv_is_unreachable(tmp_path: Path) -> None:
    offline = FakeArxiv(url="http://127.0.0.1:9").settings(max_retries=1)
    result = _invoke(_config(tmp_path, offline.model_dump(mode="json")), "fetch")
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "error: arXiv is unreachable" in result.stderr
    assert "Nothing was stored" in result.stderr
    assert "Traceback" not in result.output


def test_fetch_when_arxiv_keeps_failing_or_sends_garbage(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    fake_arxiv.announce(load_paper_list(PAPERS), _today())
    config = _config(tmp_path, fake_arxiv.settings(max_retries=1).model_dump(mode="json"))
    Store(tmp_path / "cli.db").close()  # an existing database keeps the failures' log (a new one is removed again)
    fake_arxiv.fail_next(Fault("status", 503), Fault("status", 503))
    busy = _invoke(config, "fetch")
    assert busy.exit_code == EXIT_UNAVAILABLE
    assert "HTTP 503" in busy.stderr
    fake_arxiv.fail_next(Fault("truncate"))
    garbage = _invoke(config, "fetch")
    assert garbage.exit_code == EXIT_UNAVAILABLE
    assert "error: arXiv failed: arXiv's feed is not valid XML" in garbage.stderr
    store = Store(tmp_path / "cli.db")
    assert store.papers.count_papers() == 0
    assert store.papers.last_fetch()["status"] == "failed"
    store.close()


def test_bad_category_is_a_usage_error(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    result = _invoke(_config(tmp_path, fake_arxiv.settings().model_dump(mode="json")), "fetch", "--category", "no such")
    assert result.exit_code == 2
    assert "unknown arXiv category 'no such'" in result.output
    assert fake_arxiv.requests == []


def test_categories_on_the_command_line_are_checked_and_spelled_as_in_config(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    config = _config(tmp_path, fake_arxiv.settings().model_dump(mode="json"))
    unknown = _invoke(config, "fetch", "--category", "cs.XX")
    assert unknown.exit_code == 2
    assert "unknown arXiv category 'cs.XX'" in unknown.output
    assert fake_arxiv.requests == []
    _invoke(config, "fetch", "--category", "cs.cl")
    assert [request.path.rsplit("/", 1)[-1] for request in fake_arxiv.requests][:1] == ["cs.CL"]


def test_backfill_then_today(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    today = _today()
    previous = today - dt.timedelta(days=1 if today.weekday() else 3)
    submitted = previous - dt.timedelta(days=1 if previous.weekday() else 3)
    papers = load_paper_list(PAPERS)
    fake_arxiv.api_papers = [dataclasses.replace(p, published=submitted) for p in papers[:30]]
    fake_arxiv.announce(papers[30:], today)
    config = _config(tmp_path, fake_arxiv.settings().model_dump(mode="json"))
    result = _invoke(config, "backfill", "--since", previous.isoformat())
    assert result.exit_code == 0, result.output
    backfilled = len([p for p in papers[:30] if {"cs.CL", "cs.AI"} & set(p.categories)])
    assert f"backfilled {backfilled} papers in cs.AI+cs.CL since {previous}" in result.stdout
    assert f"{today}: stored" in result.stdout
    assert _invoke(config, "backfill", "--since", "2026-13-01").exit_code == 2
