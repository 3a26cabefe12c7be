"""The Telegram adapter end to end: real python-telegram-bot against the loopback fake Bot API."""
from __future__ import annotations

import logging
import asyncio
from collections.abc import AsyncIterator

import bibtexparser
import httpx
import pytest
from starlette.applications import Starlette

from adapters.base import Adapter, ChatEvent, ChatGone, ChatMoved, ChatMovedEvent, DeliveryError, FeedbackEvent, FormattingRejected, SAVE_THANKS, SaveEvent, ignore_events, save_data
from adapters.telegram import SECRET_HEADER, TelegramAdapter, command_text, create_adapter, webhook_secret
from adapters.telegram_transport import CHAT_SPACING_SECONDS, FloodControl, FloodWindow
from adapters.telegram_render import MESSAGE_LIMIT, feedback_data
from core.commands import COMMAND_SPECS, CommandProcessor
from core.config import Settings, TelegramSettings
from core.models import ChatRef, CommandContext, Reply
from core.store import Store
from tests.commands_support import FakeServices
from tests.fakes.telegram import FakeTelegram, parse_telegram_html, sample_digest, telegram_length

USER = 42
GROUP = -1001234


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(long_poll_hold=0.3).serve() as server:
        yield server


class Recorder:
    """The app's event sink, recording what the adapter reported."""

    def __init__(self) -> None:
        self.migrations: list[tuple[ChatRef, ChatRef]] = []
        self.votes: list[tuple[ChatRef, str, str, int]] = []
        self.saves: list[tuple[ChatRef, str, str]] = []
        self.migrated_once = asyncio.Event()

    async def __call__(self, event: ChatEvent) -> None:
        """The adapter's event sink."""
        if isinstance(event, ChatMovedEvent):
            self.migrations.append((event.old, event.new))
            self.migrated_once.set()
        elif isinstance(event, FeedbackEvent):
            self.votes.append((event.chat, event.arxiv_id, event.user_id, event.vote))
        elif isinstance(event, SaveEvent):
            self.saves.append((event.chat, event.arxiv_id, event.user_id))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def make_adapter(fake: FakeTelegram, recorder: Recorder, mode: str = "polling",
                 flood_control: FloodControl | None = None) -> TelegramAdapter:
    """An adapter on the fake; tests that do not check flood control space one chat's messages 10 ms apart."""
    settings = TelegramSettings(api_base_url=fake.api_base_url, mode=mode, public_url="https://bot.example.org")
    return TelegramAdapter(fake.token, settings, events=recorder, flood_control=flood_control or FloodControl(chat_spacing=0.01))


@pytest.fixture
async def running(fake: FakeTelegram, recorder: Recorder, store: Store) -> AsyncIterator[TelegramAdapter]:
    adapter = make_adapter(fake, recorder)
    await adapter.start(CommandProcessor(store, Settings(), FakeServices(digest=sample_digest(12))).handle)
    yield adapter
    await adapter.stop()


def keywords_of(store: Store, chat_id: int) -> list[str]:
    chat = store.chats.get_chat(ChatRef("telegram", str(chat_id)))
    return [] if chat is None else [keyword.term.lower() for keyword in chat.keywords]


async def test_adapter_exists_only_with_a_token_and_follows_the_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert create_adapter(Settings(), ignore_events) is None
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    adapter = create_adapter(Settings(), ignore_events)
    assert isinstance(adapter, Adapter)
    assert adapter.web_routes() == []
    await adapter.stop()


def test_command_text_strips_the_slash_and_our_bot_name_only() -> None:
    assert command_text('/subscribe@Arxiv_Digest_Bot llm, "speculative decoding"', "arxiv_digest_bot") == (
        'subscribe llm, "speculative decoding"', True)
    assert command_text("/keywords", "arxiv_digest_bot") == ("keywords", False)
    assert command_text("/subscribe@other_bot llm", "arxiv_digest_bot") is None


async def test_private_chat_subscribes_and_the_reply_arrives(fake: FakeTelegram, running: TelegramAdapter, store: Store) -> None:
    assert fake.calls[:3] == ["getMe", "setMyCommands", "deleteWebhook"]
    assert [c["command"] for c in fake.commands] == [spec.name for spec in COMMAND_SPECS]
    fake.type_message(USER, USER, '/subscribe llm, "speculative decoding"')
    [reply] = await fake.wait_for(1, USER)
    assert reply.parse_mode == "HTML"
    assert "llm" in reply.visible.lower()
    assert {"llm", "speculative decoding"} <= set(keywords_of(store, USER))


async def test_private_chat_answers_typos_and_plain_text_instead_of_staying_silent(fake: FakeTelegram, running: TelegramAdapter, store: Store) -> None:
    fake.type_message(USER, USER, "/subscribe,transformers")
    [subscribed] = await fake.wait_for(1, USER)
    assert "transformers" in keywords_of(store, USER)
    fake.type_message(USER, USER, "/помощь")  # no bot_command entity: Telegram only marks Latin names
    fake.type_message(USER, USER, "hello there")
    replies = await fake.wait_for(3, USER)
    assert ['Unknown command "помощь"', 'Unknown command "hello"'] == [r.visible.split(".")[0] for r in replies[1:]]
    fake.type_message(GROUP, 7, "just chatting", chat_type="supergroup")  # groups: plain talk is not for us
    fake.type_message(USER, USER, "/keywords")
    await fake.wait_for(4, USER)
    assert fake.messages_to(GROUP) == []


async def test_group_settings_are_for_admins_and_reading_is_for_everyone(fake: FakeTelegram, running: TelegramAdapter, store: Store) -> None:
    fake.set_member(GROUP, 8, "administrator")
    fake.type_message(GROUP, 7, "/subscribe@arxiv_digest_bot quantum", chat_type="supergroup", title="Lab")
    refused = (await fake.wait_for(1, GROUP))[-1]
    assert "quantum" not in keywords_of(store, GROUP)
    assert "admin" in refused.visible.lower()
    fake.type_message(GROUP, 8, "/subscribe quantum", chat_type="supergroup", title="Lab")
    await fake.wait_for(2, GROUP)
    assert "quantum" in keywords_of(store, GROUP)
    fake.type_message(GROUP, 7, "/subscribe@some_other_bot ignored", chat_type="supergroup")
    fake.type_message(GROUP, 7, "/keywords", chat_type="supergroup")
    listed = (await fake.wait_for(3, GROUP))[-1]
    assert "quantum" in listed.visible
    assert "getChatMember" in fake.calls
    assert "ignored" not in keywords_of(store, GROUP)


async def test_digest_arrives_as_valid_messages_without_previews_and_with_buttons(fake: FakeTelegram, running: TelegramAdapter) -> None:
    chat = ChatRef("telegram", str(USER))
    messages = running.render_digest(sample_digest(60, summaries={3: "**Method**: a <b> tag & more. " * 300}))
    for message in messages:
        await running.send(chat, message)
    sent = fake.messages_to(USER)
    assert len(sent) == len(messages) > 3
    for message in sent:
        assert telegram_length(parse_telegram_html(message.text)) <= MESSAGE_LIMIT
        assert message.previews_disabled
    buttons = sent[1].reply_markup["inline_keyboard"][0]
    assert buttons[0]["url"].startswith("https://arxiv.org/pdf/")
    assert buttons[1]["callback_data"].startswith("fb:+1:")


async def test_digest_command_answers_with_the_digest_messages(fake: FakeTelegram, running: TelegramAdapter) -> None:
    expected = running.render_digest(sample_digest(12))
    fake.type_message(USER, USER, "/digest")
    sent = await fake.wait_for(len(expected), USER)
    assert [m.text for m in sent] == [m.payload.html for m in expected]
    assert "arXiv digest" in sent[0].visible
    assert "12 papers" in sent[0].visible
    assert all(message.parse_mode == "HTML" and message.previews_disabled for message in sent)


async def test_send_errors_become_delivery_outcomes(fake: FakeTelegram, running: TelegramAdapter) -> None:
    chat = ChatRef("telegram", str(USER))
    header, first, *_ = running.render_digest(sample_digest(5))
    await running.send(chat, header)
    fake.fail_next(429, "Too Many Requests: retry after 3", retry_after=3)
    with pytest.raises(DeliveryError) as flood:
        await running.send(chat, first)
    assert flood.value.retry_after == 3
    assert not isinstance(flood.value, (ChatGone, FormattingRejected))
    fake.fail_next(400, "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 3")
    with pytest.raises(FormattingRejected):
        await running.send(chat, first)
    await running.send(chat, first, plain=True)
    assert fake.messages_to(USER)[-1].parse_mode is None
    fake.blocked.add(USER)
    with pytest.raises(ChatGone):
        await running.send(chat, first)


async def test_group_migration_is_reported_once_and_sending_follows_the_new_id(fake: FakeTelegram, running: TelegramAdapter, recorder: Recorder) -> None:
    old, new = ChatRef("telegram", "-55"), ChatRef("telegram", "-100555")
    fake.migrate_group(-55, -100555)
    await asyncio.wait_for(recorder.migrated_once.wait(), 5)  # the service message, through long polling
    header = running.render_digest(sample_digest(1))[0]
    with pytest.raises(ChatMoved) as moved:  # the outbox re-sends it under the new id (test_telegram_delivery)
        await running.send(old, header)
    assert moved.value.new_chat == new
    assert recorder.migrations == [(old, new)]
    await running.send(new, header)
    assert [m.chat_id for m in fake.sent] == [-100555]


async def test_feedback_buttons_reach_the_hook_and_are_answered(fake: FakeTelegram, running: TelegramAdapter, recorder: Recorder) -> None:
    fake.press_button(USER, 9, feedback_data("2510.17844", -1))
    fake.press_button(USER, 9, "something else")
    await fake.wait_until(lambda: len(fake.callback_answers) == 2)
    assert fake.callback_answers[0]["text"].startswith("Noted")
    assert recorder.votes == [(ChatRef("telegram", str(USER)), "2510.17844", "9", -1)]


async def test_the_save_button_is_under_every_paper_and_reports_a_save(fake: FakeTelegram, running: TelegramAdapter, recorder: Recorder) -> None:
    messages = running.render_digest(sample_digest(3))[1:]
    rows = [row for message in messages for row in message.payload.keyboard]
    assert [row[-1].callback_data for row in rows] == [save_data(paper_id) for m in messages for paper_id in m.paper_ids]
    assert all(row[-1].text.endswith("🔖") for row in rows)
    fake.press_button(USER, 9, save_data("2510.17844"))
    await fake.wait_until(lambda: len(fake.callback_answers) == 1)
    assert fake.callback_answers[0]["text"] == SAVE_THANKS
    assert recorder.saves == [(ChatRef("telegram", str(USER)), "2510.17844", "9")]
    assert recorder.votes == []


async def test_bibtex_arrives_as_a_document_after_its_reply(fake: FakeTelegram, running: TelegramAdapter, store: Store) -> None:
    papers = [scored.paper for scored in sample_digest(2).papers]
    store.papers.store_announcement(papers[0].announced, papers)
    chat = ChatRef("telegram", str(USER))
    store.chats.get_or_create_chat(chat, Settings().defaults)
    for paper in papers:
        store.saved.save_paper(chat, paper.arxiv_id)
    fake.type_message(USER, USER, "/bibtex")
    await fake.wait_until(lambda: len(fake.documents) == 1)
    [document] = fake.documents
    assert document.chat_id == USER
    assert document.filename == "arxiv-papers.bib"
    library = bibtexparser.parse_string(document.content.decode())
    assert not library.failed_blocks
    assert {entry["eprint"] for entry in library.entries} == {paper.arxiv_id for paper in papers}
    assert fake.messages_to(USER)[-1].visible == "BibTeX of 2 papers (arxiv-papers.bib)."
    assert fake.messages_to(USER)[-1].message_id < document.message_id


async def test_webhook_checks_the_secret_and_feeds_updates_to_the_bot(fake: FakeTelegram, recorder: Recorder, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    adapter = make_adapter(fake, recorder, mode="webhook")
    await adapter.start(CommandProcessor(store, Settings(), FakeServices()).handle)
    try:
        assert fake.webhook is not None
        assert fake.webhook["url"] == "https://bot.example.org/telegram/webhook"
        secret = webhook_secret(fake.token)
        assert fake.webhook["secret_token"] == secret
        assert fake.token not in secret
        update = {"update_id": 1, "message": {
            "message_id": 5, "date": 0, "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "A"}, "text": "/subscribe webhooks",
            "entities": [{"type": "bot_command", "offset": 0, "length": 10}]}}
        web_app = Starlette(routes=adapter.web_routes())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app), base_url="http://test") as client:
            assert (await client.post("/telegram/webhook", json=update)).status_code == 403
            wrong = await client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: "nope"})
            assert wrong.status_code == 403
            assert not fake.sent
            accepted = await client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: secret})
            assert accepted.status_code == 200
        await fake.wait_for(1, USER)
        assert "webhooks" in keywords_of(store, USER)
    finally:
        await adapter.stop()


async def test_the_bot_token_never_reaches_the_logs(fake: FakeTelegram, recorder: Recorder, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make_adapter(fake, recorder)
    await adapter.start(CommandProcessor(store, Settings(), FakeServices()).handle)
    fake.type_message(USER, USER, "/keywords")
    await fake.wait_for(1, USER)
    await adapter.stop()
    await adapter.stop()
    assert any("getUpdates" in record.getMessage() for record in caplog.records)
    assert all(fake.token not in record.getMessage() for record in caplog.records)


async def test_flood_control_spaces_one_chat_so_an_enforcing_server_never_answers_429(recorder: Recorder) -> None:
    async with FakeTelegram(enforce_rate_limits=True).serve() as strict:
        adapter = make_adapter(strict, recorder, flood_control=FloodControl())
        await adapter.application.bot.initialize()
        chat = ChatRef("telegram", str(USER))
        messages = adapter.render_digest(sample_digest(20))[:3]
        for message in messages:
            await adapter.send(chat, message)
        await adapter.application.bot.shutdown()
    gaps = [later.at - earlier.at for earlier, later in zip(strict.sent, strict.sent[1:])]
    assert strict.too_many_requests == 0
    assert len(strict.sent) == 3
    assert min(gaps) >= CHAT_SPACING_SECONDS - 0.02


async def test_a_slow_command_blocks_no_other_chat_and_keeps_its_own_chat_in_order(fake: FakeTelegram, recorder: Recorder) -> None:
    release = asyncio.Event()

    async def handler(context: CommandContext, text: str) -> Reply:
        if text == "slow":
            await release.wait()
        return Reply(f"done {text}")

    adapter = make_adapter(fake, recorder)
    await adapter.start(handler)
    try:
        fake.type_message(1, 1, "/slow")
        fake.type_message(1, 1, "/fast")
        fake.type_message(2, 2, "/other")
        [other] = await fake.wait_for(1, 2)
        assert other.visible == "done other"
        assert fake.messages_to(1) == []
        release.set()
        assert [m.visible for m in await fake.wait_for(2, 1)] == ["done slow", "done fast"]
    finally:
        await adapter.stop()


async def test_flood_window_counts_each_request_until_a_period_after_its_answer() -> None:
    window, starts, ends = FloodWindow(2, 0.2), [], []

    async def request() -> None:
        async with window.slot():
            starts.append(asyncio.get_running_loop().time())
            await asyncio.sleep(0.03)  # the network
            ends.append(asyncio.get_running_loop().time())

    await asyncio.gather(*(request() for _ in range(5)))
    assert all(starts[index + 2] >= ends[index] + 0.2 for index in range(3))
