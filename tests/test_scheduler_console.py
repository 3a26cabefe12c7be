"""End to end through the console adapter: subscribe, set a time zone, the clock passes 08:00 local, the digest arrives once."""
from __future__ import annotations

import datetime as dt
import re


from bot.app import App
from bot.digests import DigestService
from bot.web_views import DigestViews
from tests.delivery_support import fixture_papers, store_feed
from tests.test_scheduler import TUESDAY, WEDNESDAY, World

UTC = dt.timezone.utc
ABS_ID = re.compile(r"arxiv\.org/abs/(\S+)")


async def _tick(app: App, world: World, *parts: int) -> None:
    await app.scheduler.tick(world.clock.set(dt.datetime(*parts, tzinfo=UTC)))


async def test_console_user_gets_each_digest_once_and_only_new_papers(console_world, fake_arxiv):
    world, terminal, app = console_world
    await terminal.type('/subscribe diffusion, segmentation, "point cloud":2', "point cloud")
    await terminal.type("/time 08:00 Europe/Berlin", "Europe/Berlin")
    await _tick(app, world, 2026, 4, 21, 5, 59)
    assert terminal.digests() == []
    await _tick(app, world, 2026, 4, 21, 6, 0)
    assert terminal.digests() == ["arXiv digest for Tue 2026-04-21"]
    tuesday_ids = ABS_ID.findall(terminal.output.getvalue())
    assert tuesday_ids
    assert len(tuesday_ids) == len(set(tuesday_ids))
    await _tick(app, world, 2026, 4, 21, 6, 1)
    await _tick(app, world, 2026, 4, 21, 20, 0)
    assert len(terminal.digests()) == 1
    assert len(fake_arxiv.feed_requests()) == 1  # fetched once, for the first due chat
    fake_arxiv.announce(fixture_papers("2026-04-22"), WEDNESDAY)
    before = len(terminal.output.getvalue())
    await _tick(app, world, 2026, 4, 22, 6, 0)
    assert terminal.digests() == ["arXiv digest for Tue 2026-04-21", "arXiv digest for Wed 2026-04-22"]
    wednesday_ids = ABS_ID.findall(terminal.output.getvalue()[before:])
    assert wednesday_ids
    assert not set(wednesday_ids) & set(tuesday_ids)
    preview = await terminal.type("/digest", "arXiv digest for Wed 2026-04-22")
    assert set(ABS_ID.findall(preview)) == set(wednesday_ids)  # a preview shows delivered papers again
    assert len(terminal.digests()) == 3
    status = await terminal.type("/status", "arXiv:")
    assert "Europe/Berlin" in status
    assert "Thu 2026-04-23" in status


async def test_digest_day_is_the_latest_announcement_in_chats_pages_and_cli(console_world, fake_arxiv):
    """Wednesday is due but arXiv still serves Tuesday's mailing: every surface shows Tuesday, none says "nothing stored"."""
    world, terminal, app = console_world
    await terminal.type("/subscribe diffusion", "diffusion")
    await _tick(app, world, 2026, 4, 21, 6, 0)
    world.clock.set(dt.datetime(2026, 4, 22, 6, 0, tzinfo=UTC))
    assert app.scheduler.current_day(world.clock()) == WEDNESDAY
    preview = await terminal.type("/digest", "\n")
    assert preview.startswith("arXiv digest for Tue 2026-04-21")
    assert preview.count("arXiv digest for") == 1
    assert DigestViews(world.store, world.settings).latest_day() == TUESDAY
    assert DigestService(world.store, world.settings).latest_day(world.settings.defaults.categories) == TUESDAY


async def test_a_weekly_chats_digest_previews_its_week_so_far_and_plans_nothing(console_world, fake_arxiv):
    """Each /digest fetches the new day (loopback arXiv) and shows the days of the coming weekly digest out so far,
    scored as one week; the weekly digest that then goes out is that preview."""
    world, terminal, app = console_world
    await terminal.type("/subscribe diffusion, segmentation, video", "video")
    await terminal.type("/time 08:00 UTC", "UTC")
    await terminal.type("/schedule weekly wed", "eekly")
    for day in (dt.date(2026, 4, 16), dt.date(2026, 4, 17), dt.date(2026, 4, 20)):
        store_feed(world.store, day, [])  # no cs.CV papers those days: what their fetches would have left
    world.clock.set(dt.datetime(2026, 4, 21, 6, 0, tzinfo=UTC))
    await terminal.type("/digest", "arXiv weekly digest: Thu 2026-04-16 to Tue 2026-04-21")
    fake_arxiv.announce(fixture_papers("2026-04-22"), WEDNESDAY)
    world.clock.set(dt.datetime(2026, 4, 22, 6, 0, tzinfo=UTC))
    preview = await terminal.type("/digest", "arXiv weekly digest: Thu 2026-04-16 to Wed 2026-04-22")
    assert len(fake_arxiv.feed_requests()) == 2, "each preview fetched its new day"
    preview_ids = ABS_ID.findall(preview)
    assert set(preview_ids) & {paper.arxiv_id for paper in fixture_papers("2026-04-21")} - {
        paper.arxiv_id for paper in fixture_papers("2026-04-22")}, "papers of Tuesday"
    assert set(preview_ids) & {paper.arxiv_id for paper in fixture_papers("2026-04-22") if not paper.is_replacement}, "and of Wednesday"
    assert world.store.outbox.latest_digest_days() == {}, "a preview plans nothing"

    before = len(terminal.output.getvalue())
    await _tick(app, world, 2026, 4, 22, 8, 0)
    delivered = terminal.output.getvalue()[before:]
    assert "arXiv weekly digest: Thu 2026-04-16 to Wed 2026-04-22" in delivered
    assert ABS_ID.findall(delivered) == preview_ids, "the weekly digest that goes out is the one previewed"


async def test_a_daily_chats_digest_still_previews_the_latest_day_beside_a_weekly_one(console_world, fake_arxiv):
    world, terminal, app = console_world
    await terminal.type("/subscribe diffusion", "diffusion")
    store_feed(world.store, dt.date(2026, 4, 20), fixture_papers("2026-04-22")[:5])
    world.clock.set(dt.datetime(2026, 4, 21, 6, 0, tzinfo=UTC))
    preview = await terminal.type("/digest", "\n")
    assert preview.startswith("arXiv digest for Tue 2026-04-21")
    assert "weekly" not in preview.lower()
    await terminal.type("/schedule weekly wed", "eekly")
    weekly = await terminal.type("/digest", "arXiv weekly digest: ")
    assert "to Tue 2026-04-21" in weekly
    assert world.store.outbox.latest_digest_days() == {}
