"""Without a network: the README's first command fails fast, says the machine seems offline, leaves no empty database,
and points to `--no-fetch` when papers are stored. Name resolution is refused by the resolver function itself, so no
test here can reach a DNS server."""
from __future__ import annotations

import datetime as dt
import json
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import EXIT_UNAVAILABLE, cli
from core.store import Store
from tests.fakes.arxiv import load_paper_list
from tests.test_arxiv_cli import PAPERS
from tests.test_digest_cli import _config

UNRESOLVABLE = "rss.arxiv.test"
OFFLINE_SECONDS = 5.0  # the verdict's budget with the tests' short backoff (31.7 s before, with arXiv's real one)


@pytest.fixture
def no_name_resolution(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """getaddrinfo as on a machine without network: every name but loopback fails; counts lookups per host."""
    lookups: Counter[str] = Counter()
    real = socket.getaddrinfo

    def offline(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        name = host.decode() if isinstance(host, bytes) else str(host)  # asyncio passes the IDNA-encoded bytes
        if name in ("127.0.0.1", "localhost", "::1"):
            return real(host, *args, **kwargs)
        lookups[name] += 1
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    yield lookups


def _offline_config(tmp_path: Path) -> Path:
    arxiv = {"feed_url": f"http://{UNRESOLVABLE}/rss/", "api_url": f"http://{UNRESOLVABLE}/api/query",
             "min_interval_seconds": 0, "retry_backoff_seconds": 0.01, "max_retries": 4}
    return _config(tmp_path, arxiv)


def test_the_first_digest_offline_fails_fast_and_leaves_no_database(tmp_path: Path, no_name_resolution: Counter[str]) -> None:
    config = _offline_config(tmp_path)
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["--config", str(config), "digest"])
    elapsed = time.monotonic() - started
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    assert "seems to be offline" in result.output, result.output
    assert "--no-fetch" not in result.output  # nothing is stored to go on with
    assert no_name_resolution[UNRESOLVABLE] == 2
    assert elapsed < OFFLINE_SECONDS
    assert not list(tmp_path.glob("digest.db*"))


def test_offline_with_a_stored_day_suggests_no_fetch_and_keeps_the_database(tmp_path: Path, no_name_resolution: Counter[str]) -> None:
    config = _offline_config(tmp_path)
    stored_day = dt.date(2025, 10, 22)
    store = Store(json.loads(config.read_text())["database"])
    store.papers.store_announcement(stored_day, load_paper_list(PAPERS, announced=stored_day))
    store.close()
    result = CliRunner().invoke(cli, ["--config", str(config), "digest"])
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "seems to be offline" in result.output
    assert f"The papers of {stored_day} are stored: `arxiv-digest digest --no-fetch`" in result.output
    assert (tmp_path / "digest.db").exists()
    offline_page = CliRunner().invoke(cli, ["--config", str(config), "digest", "--no-fetch"])
    assert offline_page.exit_code == 0
    assert no_name_resolution[UNRESOLVABLE] == 2
