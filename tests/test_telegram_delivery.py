"""Digests through the outbox to the fake Bot API: flood limits delay but lose nothing, nothing is sent twice."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from adapters.telegram import TelegramAdapter
from bot.app import StoreEvents
from adapters.telegram_transport import FloodControl
from bot.delivery import DeliveryOutcome, DigestSender
from core.config import DefaultsSettings, TelegramSettings
from core.models import ChatRef, ChatSettings, Digest
from core.store import Store
from core.store.outbox import DayStatus
from tests.fakes.telegram import FakeTelegram, SentMessage, sample_digest

CHAT_ID = 4242
ABS_LINK = re.compile(r'href="https://arxiv\.org/abs/([^"]+)">arXiv:')


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram().serve() as server:
        yield server


@pytest.fixture
async def adapter(fake: FakeTelegram, store: Store) -> AsyncIterator[TelegramAdapter]:
    telegram = TelegramAdapter(fake.token, TelegramSettings(api_base_url=fake.api_base_url), events=StoreEvents(store),
                               flood_control=FloodControl(chat_spacing=0.01))
    await telegram.application.bot.initialize()
    yield telegram
    await telegram.application.bot.shutdown()


def planned(store: Store, count: int) -> tuple[ChatSettings, Digest]:
    chat = store.chats.get_or_create_chat(ChatRef("telegram", str(CHAT_ID)), DefaultsSettings())
    digest = sample_digest(count)
    store.outbox.plan_digest(chat.ref, digest.announcement_day, digest.plan_entries())
    return chat, digest


def papers_in(messages: list[SentMessage]) -> list[str]:
    return [arxiv_id for message in messages for arxiv_id in ABS_LINK.findall(message.text)]


def assert_sent_once(fake: FakeTelegram, digest: Digest) -> None:
    """Every paper arrived exactly once, and no message text arrived twice."""
    sent = fake.messages_to(CHAT_ID)
    assert papers_in(sent) == [scored.paper.arxiv_id for scored in digest.papers]
    assert [text for text, times in Counter(m.text for m in sent).items() if times > 1] == []


async def test_flood_limit_mid_digest_delays_but_loses_and_repeats_nothing(fake: FakeTelegram, adapter: TelegramAdapter, store: Store) -> None:
    chat, digest = planned(store, 30)
    fake.fail_next(429, "Too Many Requests: retry after 1", after=2, retry_after=1)
    result = await DigestSender(store).deliver(adapter, chat, digest)
    assert result.outcome == DeliveryOutcome.DELIVERED
    assert fake.too_many_requests == 1
    assert_sent_once(fake, digest)
    assert store.outbox.delivered_ids(chat.ref) == {scored.paper.arxiv_id for scored in digest.papers}


async def test_long_flood_wait_defers_and_the_resumed_digest_sends_only_the_rest(fake: FakeTelegram, adapter: TelegramAdapter, store: Store) -> None:
    chat, digest = planned(store, 30)
    fake.fail_next(429, "Too Many Requests: retry after 40", after=2, retry_after=40)
    sender = DigestSender(store)
    first = await sender.deliver(adapter, chat, digest)
    assert first.outcome == DeliveryOutcome.DEFERRED
    assert first.retry_at is not None
    assert first.messages_sent == 2
    second = await sender.deliver(adapter, chat, digest)
    assert second.outcome == DeliveryOutcome.DELIVERED
    assert_sent_once(fake, digest)
    assert len([m for m in fake.messages_to(CHAT_ID) if "arXiv digest" in m.visible]) == 1


async def test_formatting_rejection_is_resent_once_as_plain_text(fake: FakeTelegram, adapter: TelegramAdapter, store: Store) -> None:
    chat, digest = planned(store, 4)
    fake.fail_next(400, "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0", after=1)
    result = await DigestSender(store).deliver(adapter, chat, digest)
    assert result.outcome == DeliveryOutcome.DELIVERED
    sent = fake.messages_to(CHAT_ID)
    assert [m.parse_mode for m in sent] == ["HTML", None]
    assert all(scored.paper.title in sent[1].text for scored in digest.papers)


async def test_blocked_bot_deactivates_the_chat(fake: FakeTelegram, adapter: TelegramAdapter, store: Store) -> None:
    chat, digest = planned(store, 3)
    fake.blocked.add(CHAT_ID)
    result = await DigestSender(store).deliver(adapter, chat, digest)
    assert result.outcome == DeliveryOutcome.CHAT_GONE
    stored = store.chats.get_chat(chat.ref)
    assert stored is not None
    assert not stored.active
    assert fake.messages_to(CHAT_ID) == []


async def test_group_becoming_a_supergroup_mid_digest_gets_the_rest_there_once(fake: FakeTelegram, adapter: TelegramAdapter, store: Store) -> None:
    supergroup = -1000000004242
    chat, digest = planned(store, 30)
    fake.fail_next(400, "Bad Request: group chat was upgraded to a supergroup chat", chat_id=CHAT_ID, after=2,
                   migrate_to_chat_id=supergroup)
    result = await DigestSender(store).deliver(adapter, chat, digest)
    moved = ChatRef("telegram", str(supergroup))
    assert result.outcome == DeliveryOutcome.DELIVERED
    assert result.chat == moved
    before, after = fake.messages_to(CHAT_ID), fake.messages_to(supergroup)
    assert len(before) == 2
    assert after
    assert papers_in(before) + papers_in(after) == [scored.paper.arxiv_id for scored in digest.papers]
    assert len([m for m in before + after if "arXiv digest" in m.visible]) == 1
    assert store.chats.get_chat(chat.ref) is None
    assert store.outbox.delivered_ids(moved) == {scored.paper.arxiv_id for scored in digest.papers}
    assert store.outbox.pending_papers(moved, digest.announcement_day) == []
    assert store.outbox.digest_day_status(moved, digest.announcement_day) == DayStatus.DONE
