"""The running service with only Discord credentials set: slash commands (gateway or HTTP) change chats, the scheduler posts the digest."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import httpx
from nacl.signing import SigningKey

from adapters.discord import INTERACTIONS_PATH
from bot.app import App, platform_adapters
from core.config import DiscordSettings
from core.models import ChatRef
from tests.delivery_support import fixture_papers, store_feed
from tests.fakes.discord import running_fake_discord
from tests.fakes.discord_data import slash_interaction
from tests.fakes.discord_limits import message_problem
from tests.fakes.server import serve_asgi
from tests.test_scheduler import TUESDAY, World

GUILD, CHANNEL = "910000000000000001", "910000000000000002"
MANAGE_CHANNELS = 1 << 4
OTHER_PLATFORM_TOKENS = ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


async def test_serve_answers_slash_commands_and_posts_the_digest(tmp_path, monkeypatch) -> None:
    async with running_fake_discord() as fake:
        world = World(tmp_path, dt.datetime(2026, 4, 21, 7, 30, tzinfo=dt.timezone.utc))
        store_feed(world.store, TUESDAY, fixture_papers("2026-04-21"))
        discord_settings = DiscordSettings(api_base_url=fake.api_url, gateway_url=fake.gateway_url)
        settings = world.settings.model_copy(update={"discord": discord_settings})
        for name in OTHER_PLATFORM_TOKENS:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DISCORD_BOT_TOKEN", fake.token)
        adapters = platform_adapters(settings, world.store)
        assert [adapter.platform for adapter in adapters] == ["discord"]
        app = App(settings, world.store, adapters, fetcher=world.scheduler.fetcher)
        stop = asyncio.Event()
        running = asyncio.create_task(app.run(stop))
        try:
            await asyncio.wait_for(fake.identified.wait(), 10)
            where = {"channel_id": CHANNEL, "guild_id": GUILD, "permissions": MANAGE_CHANNELS}
            await fake.slash("start", **where)
            await fake.slash("delivery time", [{"type": 3, "name": "time", "value": "07:45"}, {"type": 3, "name": "timezone", "value": "UTC"}], **where)
            # At 07:45 any command wakes the scheduler, which finds the channel's digest due.
            world.clock.set(dt.datetime(2026, 4, 21, 7, 45, tzinfo=dt.timezone.utc))
            await fake.slash("keywords", **where)
            chat = ChatRef("discord", CHANNEL)
            await fake.wait_for(lambda: world.store.outbox.digest_day_status(chat, TUESDAY) == "done", timeout=15)
        finally:
            stop.set()
            await asyncio.wait_for(running, 15)
        digest_messages = [m for m in fake.messages if m.channel_id == CHANNEL]
        sent_ids = {embed["url"].rsplit("/", 1)[1] for m in digest_messages for embed in m.embeds}
        assert digest_messages
        assert all(message_problem(m.body) is None for m in digest_messages)
        assert sent_ids == world.store.outbox.delivered_ids(chat)
        assert sent_ids
        assert digest_messages[0].content.startswith("**arXiv digest for Tue 2026-04-21**")
        await world.close()


async def test_serve_in_http_interactions_mode_answers_signed_posts_without_a_gateway(tmp_path, monkeypatch) -> None:
    signing_key = SigningKey.generate()
    async with running_fake_discord() as fake:
        world = World(tmp_path, dt.datetime(2026, 4, 21, 7, 30, tzinfo=dt.timezone.utc))
        discord_settings = DiscordSettings(api_base_url=fake.api_url, interactions="http")
        settings = world.settings.model_copy(update={"discord": discord_settings})
        for name in OTHER_PLATFORM_TOKENS:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DISCORD_BOT_TOKEN", fake.token)
        monkeypatch.setenv("DISCORD_PUBLIC_KEY", signing_key.verify_key.encode().hex())
        app = App(settings, world.store, platform_adapters(settings, world.store), fetcher=world.scheduler.fetcher)
        stop = asyncio.Event()
        running = asyncio.create_task(app.run(stop))
        try:
            await fake.wait_for(lambda: bool(fake.synced_commands))
            body = json.dumps(slash_interaction(fake, "start", channel_id=CHANNEL, guild_id=GUILD, permissions=MANAGE_CHANNELS)).encode()
            stamp = str(int(time.time()))
            headers = {"X-Signature-Ed25519": signing_key.sign(stamp.encode() + body).signature.hex(), "X-Signature-Timestamp": stamp}
            async with serve_asgi(app.web_app()) as url, httpx.AsyncClient() as client:
                answer = await client.post(url + INTERACTIONS_PATH, content=body, headers=headers)
        finally:
            stop.set()
            await asyncio.wait_for(running, 15)
        assert answer.status_code == 200
        assert answer.json()["type"] == 4
        assert world.store.chats.get_chat(ChatRef("discord", CHANNEL)).active
        assert not fake.identified.is_set()
        await world.close()
