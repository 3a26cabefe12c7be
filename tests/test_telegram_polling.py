"""Long polling survives a revoked token: after 401s it restarts with back-off, and /healthz tells meanwhile."""
from __future__ import annotations

import asyncio

from starlette.testclient import TestClient

from adapters.telegram import TelegramAdapter
from adapters.telegram_transport import FloodControl
from bot.app import App
from core.config import ArxivSettings, Settings, TelegramSettings
from tests.fakes.telegram import FakeTelegram

USER = 4242
UNREACHABLE_ARXIV = ArxivSettings(feed_url="http://127.0.0.1:9/rss/", api_url="http://127.0.0.1:9/api/query",
                                  min_interval_seconds=0, max_retries=0, timeout_seconds=2)


async def test_polling_restarts_after_a_401_and_healthz_reports_it_meanwhile(store) -> None:
    async with FakeTelegram(long_poll_hold=0.05).serve() as fake:
        telegram = TelegramSettings(api_base_url=fake.api_base_url, poll_restart_seconds=0.05, poll_restart_max_seconds=0.2)
        settings = Settings(arxiv=UNREACHABLE_ARXIV, telegram=telegram)
        adapter = TelegramAdapter(fake.token, telegram, flood_control=FloodControl(chat_spacing=0.01))
        app = App(settings, store, [adapter])
        stop = asyncio.Event()
        running = asyncio.create_task(app.run(stop))
        try:
            await fake.wait_until(lambda: "getUpdates" in fake.calls, 20)
            good_token, fake.token = fake.token, "999:revoked"  # the bot's token stops working (revoked in BotFather)
            await fake.wait_until(lambda: adapter.health_problem() is not None and fake.rejected_tokens >= 3, 10)
            with TestClient(app.web_app()) as client:
                health = client.get("/healthz")
            assert health.status_code == 503
            assert "adapters telegram" in health.json()["status"]
            assert health.json()["adapters"]["telegram"].startswith("polling stopped (InvalidToken)")
            fake.token = good_token  # and works again
            await fake.wait_until(lambda: adapter.health_problem() is None, 10)
            fake.type_message(USER, USER, "/keywords")
            [reply] = await fake.wait_for(1, USER, timeout=10)
            assert reply.visible
            assert app.adapter_health()[0].value == {"telegram": "running"}
        finally:
            stop.set()
            await asyncio.wait_for(running, 30)
