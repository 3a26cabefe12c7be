"""Shared fixtures: real data paths, a temporary store, a fixed clock."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from core.store import Store

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = Store(tmp_path / "test.db", clock=lambda: dt.datetime(2026, 9, 24, 12, 0, tzinfo=dt.timezone.utc))
    yield db
    db.close()


# The loopback fake arXiv (feeds + export API) for every test: `fake_arxiv.settings()` points ArxivSettings at it.
from tests.fakes.arxiv import fake_arxiv  # noqa: E402,F401
