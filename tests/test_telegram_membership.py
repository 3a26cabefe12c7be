"""The bot removed from or blocked in a Telegram chat (a my_chat_member update) deactivates the chat at once."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.app import App, platform_adapters
from core.config import TelegramSettings
from core.models import ChatRef
from tests.fakes.telegram import FakeTelegram
from tests.test_scheduler import World

UTC = dt.timezone.utc
USER = 4242
GROUP = -100555


def is_active(world: World, chat_id: int) -> bool | None:
    chat = world.store.chats.get_chat(ChatRef("telegram", str(chat_id)))
    return None if chat is None else chat.active


@asynccontextmanager
async def telegram_app(tmp_path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[World, FakeTelegram]]:
    """The application wired as `serve` wires it (the real hooks), with only Telegram's token set."""
    world = World(tmp_path, dt.datetime(2026, 4, 21, 4, 0, tzinfo=UTC))
    async with FakeTelegram(long_poll_hold=0.3).serve() as fake:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
        monkeypatch.delenv("DISCORD_BOT_TOKEN", raising=False)
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
        settings = world.settings.model_copy(update={"telegram": TelegramSettings(api_base_url=fake.api_base_url)})
        adapters = platform_adapters(settings, world.store)
        assert [adapter.platform for adapter in adapters] == ["telegram"]
        app = App(settings, world.store, adapters, fetcher=world.scheduler.fetcher)
        await adapters[0].start(app.handle_command)
        try:
            yield world, fake
        finally:
            await adapters[0].stop()
            await world.close()


@pytest.mark.parametrize(("chat_id", "chat_type", "status"), [(USER, "private", "kicked"), (GROUP, "supergroup", "left")])
async def test_bot_removed_deactivates_and_start_reactivates(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                             chat_id: int, chat_type: str, status: str) -> None:
    async with telegram_app(tmp_path, monkeypatch) as (world, fake):
        fake.set_member(chat_id, USER, "administrator")
        fake.type_message(chat_id, USER, "/subscribe diffusion", chat_type=chat_type)
        await fake.wait_for(1, chat_id)
        assert is_active(world, chat_id) is True
        fake.bot_membership(chat_id, USER, "member", chat_type=chat_type)  # not a removal: nothing changes
        fake.bot_membership(chat_id, USER, status, chat_type=chat_type)
        await fake.wait_until(lambda: is_active(world, chat_id) is False)
        assert len(fake.messages_to(chat_id)) == 1  # nothing was sent to find out
        fake.bot_membership(USER + 1, USER, status)  # a chat that never used the bot: ignored, no crash
        fake.type_message(chat_id, USER, "/start", chat_type=chat_type)
        await fake.wait_until(lambda: is_active(world, chat_id) is True)


async def test_a_group_that_never_used_the_bot_can_become_a_supergroup(tmp_path, monkeypatch: pytest.MonkeyPatch,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    async with telegram_app(tmp_path, monkeypatch) as (_, fake):
        fake.migrate_group(-55, GROUP)
        fake.type_message(GROUP, USER, "/keywords", chat_type="supergroup")
        [reply] = await fake.wait_for(1, GROUP)
        assert "diffusion" in reply.visible
    ours = [r for r in caplog.records if r.name.startswith(("adapters", "bot", "core"))]
    assert [r.getMessage() for r in ours if r.levelno >= logging.ERROR] == []
