"""`serve --web` without any chat: pages and feeds fetch each announcement day themselves, catch up after
downtime, and /healthz turns unhealthy when the latest announcement day is overdue (loopback arXiv fake)."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time

import httpx

from bot.app import App
from bot.web_cache import RENDER_CACHE_SECONDS
from tests.delivery_support import fixture_papers
from tests.test_scheduler import TUESDAY, World
from tests.test_serve import _free_port

UTC = dt.timezone.utc
WEDNESDAY, THURSDAY, FRIDAY = (dt.date(2026, 4, day) for day in (22, 23, 24))
DEADLINE_SECONDS = 20.0


def _renamed(day: dt.date, suffix: str, published: dt.date) -> list:
    """Tuesday's real papers as another day's mailing (new ids, submitted the day before it)."""
    return [
        dataclasses.replace(paper, arxiv_id=paper.arxiv_id + suffix, published=published, announced=None)
        for paper in fixture_papers("2026-04-21")
    ]


class Running:
    """One `serve --web` (no adapters) on a free loopback port, started and stopped by the test."""

    def __init__(self, world: World) -> None:
        self.app = App(world.settings, world.store, [], fetcher=world.new_scheduler().fetcher)
        self.port = _free_port()
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> httpx.AsyncClient:
        self.task = asyncio.create_task(self.app.run(self.stop, web_port=self.port))
        self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=5)
        return self.client

    async def __aexit__(self, *exc_info: object) -> None:
        await self.client.aclose()
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)
        await self.app.fetcher.aclose()


async def _eventually(condition, what: str):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        try:
            found = await condition()
        except httpx.TransportError:
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)


async def _page_shows(world: World, client: httpx.AsyncClient, day: dt.date) -> bool:
    if not world.store.papers.has_announcement_day(day):
        return False
    world.clock.set(world.clock() + dt.timedelta(seconds=RENDER_CACHE_SECONDS))  # an earlier rendering has expired
    page = await client.get("/")
    return f"{day:%Y-%m-%d}" in page.text and "No announcements stored yet" not in page.text


async def test_pages_fetch_each_day_themselves_catch_up_and_report_an_overdue_day(tmp_path, fake_arxiv):
    world = World(tmp_path, dt.datetime(2026, 4, 21, 9, 0, tzinfo=UTC), fake_arxiv.settings())
    fake_arxiv.announce(fixture_papers("2026-04-21"), TUESDAY)
    assert world.store.chats.active_chats(include_paused=True) == []  # feeds only: no chat will ever be due

    async with Running(world) as client:
        await _eventually(lambda: _page_shows(world, client, TUESDAY), "Tuesday's digest on the page")
        health = (await client.get("/healthz")).json()
        assert health["status"] == "ok"
        assert health["announcements"]["latest_stored_day"] == TUESDAY.isoformat()
    assert len(fake_arxiv.feed_requests()) == 1
    assert fake_arxiv.api_requests() == []

    # Down from Tuesday until Friday: Wednesday and Thursday come from the export API, Friday from the feed.
    fake_arxiv.api_papers = _renamed(WEDNESDAY, "1", TUESDAY) + _renamed(THURSDAY, "2", WEDNESDAY)
    fake_arxiv.announce(_renamed(FRIDAY, "3", THURSDAY), FRIDAY)
    world.clock.set(dt.datetime(2026, 4, 24, 9, 0, tzinfo=UTC))
    async with Running(world) as client:
        await _eventually(lambda: _page_shows(world, client, FRIDAY), "Friday's digest on the page")
        for day in (WEDNESDAY, THURSDAY):
            assert world.store.papers.papers_announced(day), f"{day} was not caught up"
            assert (await client.get(f"/day/{day}")).status_code == 200
        assert (await client.get("/healthz")).json()["status"] == "ok"
    assert fake_arxiv.api_requests(), "the missed days were never asked of the export API"

    # Monday: arXiv's feed is stuck on Friday; six hours after Monday's feed was due, /healthz says so.
    world.clock.set(dt.datetime(2026, 4, 27, 10, 30, tzinfo=UTC))
    async with Running(world) as client:
        answer = await _eventually(
            lambda: _status(client, 503), "an unhealthy /healthz while Monday is overdue"
        )
        assert answer["status"] == "failing: announcements"
        assert answer["announcements"]["expected_day"] == "2026-04-27"
        assert answer["announcements"]["latest_stored_day"] == FRIDAY.isoformat()
        assert answer["scheduler"] == "alive"
    await world.close()


async def _status(client: httpx.AsyncClient, status: int) -> dict | None:
    answer = await client.get("/healthz")
    return answer.json() if answer.status_code == status else None


async def test_a_first_serve_on_saturday_shows_fridays_papers_from_the_export_api(tmp_path, fake_arxiv):
    saturday = dt.datetime(2026, 4, 25, 9, 0, tzinfo=UTC)
    world = World(tmp_path, saturday, fake_arxiv.settings())  # a brand-new install: nothing stored
    fake_arxiv.announce([], None)  # the weekend feed carries nothing
    fake_arxiv.api_papers = _renamed(FRIDAY, "3", THURSDAY)
    async with Running(world) as client:
        await _eventually(lambda: _page_shows(world, client, FRIDAY), "Friday's digest on the page")
        assert (await client.get("/healthz")).json()["status"] == "ok"
    assert len(world.store.papers.papers_announced(FRIDAY)) == len(fake_arxiv.api_papers)
    await world.close()
