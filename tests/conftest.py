"""Shared fixtures: real data paths, a temporary store, a fixed clock, the loopback fakes, the web site, the console."""
from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.web import create_app
from core.store import Store
from tests.console_support import Terminal
from tests.delivery_support import fixture_papers
from tests.fakes.arxiv import FakeArxiv
from tests.fakes.llm import RunningFakeLlm, start_fake_llm
from tests.fakes.server import LoopbackServer
from tests.fixtures.web.site import Site, build_site
from tests.test_scheduler import TUESDAY, World

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = Store(tmp_path / "test.db", clock=lambda: dt.datetime(2026, 9, 24, 12, 0, tzinfo=dt.timezone.utc))
    yield db
    db.close()


@pytest.fixture
def fake_arxiv() -> Iterator[FakeArxiv]:
    """A running fake arXiv (feeds + export API) on loopback; `fake_arxiv.settings()` gives ArxivSettings pointing at it."""
    fake = FakeArxiv()
    with LoopbackServer(fake.app()) as server:
        fake.url = server.url
        yield fake
        server.call(fake.release_hangs)


@pytest.fixture
def fake_llm() -> Iterator[RunningFakeLlm]:
    """A running fake OpenAI-compatible LLM on loopback."""
    running, server = start_fake_llm()
    with server:
        yield running
        server.call(running.fake.stopping.set)


@pytest.fixture
def site(store: Store) -> Site:
    """The web fixture: a store with real papers, chats and digests, and the settings to serve it."""
    return build_site(store)


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(create_app(site.store, site.settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
async def console_world(tmp_path: Path, fake_arxiv: FakeArxiv) -> AsyncIterator[tuple[World, Terminal, App]]:
    """The console chat, the app, and a loopback arXiv announcing Tuesday's real cs.CV mailing."""
    world = World(tmp_path, dt.datetime(2026, 4, 21, 4, 0, tzinfo=dt.timezone.utc), fake_arxiv.settings())
    fake_arxiv.announce(fixture_papers("2026-04-21"), TUESDAY)
    terminal = Terminal()
    console = ConsoleAdapter(terminal.input, terminal.output)
    app = App(world.settings, world.store, [console], fetcher=world.scheduler.fetcher)
    await console.start(app.handle_command)
    yield world, terminal, app
    await console.stop()
    terminal.close()
    await world.close()
