"""A Telegram user subscribes, sets a time, and the scheduled digest arrives at that local time exactly once."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from adapters.telegram import TelegramAdapter
from adapters.telegram_transport import FloodControl
from bot.app import App
from core.config import TelegramSettings
from core.models import ChatRef
from tests.delivery_support import fixture_papers, store_feed
from tests.fakes.telegram import FakeTelegram
from tests.test_scheduler import TUESDAY, World

UTC = dt.timezone.utc
USER = 777
ABS_LINK = re.compile(r'href="https://arxiv\.org/abs/([^"]+)">arXiv:')


async def test_scheduled_digest_arrives_at_the_users_time_exactly_once(tmp_path) -> None:
    world = World(tmp_path, dt.datetime(2026, 4, 21, 4, 0, tzinfo=UTC))
    store_feed(world.store, TUESDAY, fixture_papers("2026-04-21"))
    async with FakeTelegram(long_poll_hold=0.3).serve() as fake:
        adapter = TelegramAdapter(fake.token, TelegramSettings(api_base_url=fake.api_base_url),
                                  flood_control=FloodControl(chat_spacing=0.01))
        app = App(world.settings, world.store, [adapter], fetcher=world.scheduler.fetcher)
        await adapter.start(app.handle_command)
        try:
            fake.type_message(USER, USER, '/subscribe diffusion, segmentation, "point cloud":2')
            fake.type_message(USER, USER, "/time 08:00 Europe/Berlin")
            replies = await fake.wait_for(2, USER)
            assert "Europe/Berlin" in replies[1].visible
            await app.scheduler.tick(world.clock.set(dt.datetime(2026, 4, 21, 5, 59, tzinfo=UTC)))
            assert len(fake.messages_to(USER)) == 2
            await app.scheduler.tick(world.clock.set(dt.datetime(2026, 4, 21, 6, 0, tzinfo=UTC)))
            digest = fake.messages_to(USER)[2:]
            assert digest
            assert "arXiv digest" in digest[0].visible
            for hour, minute in ((6, 1), (12, 0), (23, 59)):
                await app.scheduler.tick(world.clock.set(dt.datetime(2026, 4, 21, hour, minute, tzinfo=UTC)))
            delivered = world.store.outbox.delivered_ids(ChatRef("telegram", str(USER)))
        finally:
            await adapter.stop()
            await world.close()
    sent = fake.messages_to(USER)[2:]
    papers = [arxiv_id for message in sent for arxiv_id in ABS_LINK.findall(message.text)]
    assert papers
    assert len(papers) == len(set(papers))
    assert [text for text, times in Counter(m.text for m in sent).items() if times > 1] == []
    assert sent == digest
    assert set(papers) == delivered
