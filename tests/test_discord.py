"""The Discord adapter end to end: real discord.py against the loopback fake REST API and gateway."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator

import discord
import bibtexparser
import pytest

import adapters.discord as discord_adapter
from adapters.base import SAVE_THANKS, ChatGone, DeliveryError, FormattingRejected, ignore_events
from adapters.discord import DiscordAdapter, create_adapter
from bot.app import StoreEvents
from bot.delivery import DeliveryOutcome, DigestSender
from core.commands import COMMAND_SPECS, CommandProcessor
from core.commands.registry import NOT_ALLOWED
from core.config import DiscordSettings, Settings
from core.models import ChatRef, ChatSettings, Digest, Paper, Reply
from core.store import Store
from tests.fakes.discord import (
    FakeDiscord,
    missing_access,
    rate_limited,
    running_fake_discord,
    server_error,
    unknown_channel,
)
from tests.fakes.discord_data import fixture_digest
from tests.fakes.discord_limits import message_problem

GUILD = "900000000000000001"
CHANNEL = "900000000000000002"
DM_CHANNEL = "900000000000000003"
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
SEND_MESSAGES = 1 << 11
DAY = dt.date(2026, 9, 24)


class StubServices:
    """bot/app.py's CommandServices, reduced to fixed answers: these tests are about the Discord edge."""

    async def digest_now(self, chat: ChatSettings) -> Digest:
        return fixture_digest(12)

    async def search(self, query: str, limit: int) -> list[Paper]:
        return []

    def next_delivery(self, chat: ChatSettings) -> dt.datetime | None:
        return None

    def feed_url(self, chat: ChatSettings) -> str:
        return "http://127.0.0.1/feeds/token.xml"

    def arxiv_status(self) -> str:
        return "arXiv: fine"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with running_fake_discord() as server:
        yield server


@pytest.fixture
def settings(fake: FakeDiscord) -> Settings:
    return Settings(discord=DiscordSettings(api_base_url=fake.api_url, gateway_url=fake.gateway_url))


@pytest.fixture
async def bot(fake: FakeDiscord, settings: Settings, store: Store) -> AsyncIterator[DiscordAdapter]:
    adapter = DiscordAdapter(settings.discord, fake.token)
    await adapter.start(CommandProcessor(store, settings, StubServices()).handle)
    yield adapter
    await adapter.stop()


async def slash(fake: FakeDiscord, subcommand: str, value: str | None = None, **where: object):
    """Type `/arxiv <subcommand> [args]` in Discord and wait for the bot's first answer."""
    return await fake.slash(subcommand, [{"type": 3, "name": "args", "value": value}] if value is not None else [], **where)


async def test_start_syncs_one_arxiv_group_mirroring_the_registry(bot: DiscordAdapter, fake: FakeDiscord) -> None:
    [group] = fake.synced_commands
    assert group["name"] == "arxiv"
    subcommands = {option["name"]: option for option in group["options"]}
    families = {spec.family for spec in COMMAND_SPECS if spec.family}
    assert set(subcommands) == {spec.name for spec in COMMAND_SPECS if not spec.family} | families
    assert all(option["type"] == (2 if name in families else 1) for name, option in subcommands.items())
    assert subcommands["subscribe"]["options"][0]["name"] == "args"
    assert subcommands["keywords"]["options"] == []
    assert not fake.rejected


async def test_subscribe_from_a_channel_manager_changes_the_store_and_replies(bot, fake, store) -> None:
    callback = await slash(fake, "subscribe", "diffusion, quantum:2", channel_id=CHANNEL, guild_id=GUILD, permissions=MANAGE_CHANNELS)
    chat = store.chats.get_chat(ChatRef("discord", CHANNEL))
    assert {(k.term, k.weight) for k in chat.keywords} >= {("diffusion", 1.0), ("quantum", 2.0)}
    assert chat.kind == "channel"
    assert GUILD in chat.title
    assert "#papers" in chat.title
    assert callback.body["type"] == 4
    assert "diffusion" in callback.body["data"]["content"]
    assert callback.ephemeral


async def test_manage_guild_may_change_settings_too(bot, fake, store) -> None:
    await slash(fake, "subscribe", "topology", channel_id=CHANNEL, guild_id=GUILD, permissions=MANAGE_GUILD | SEND_MESSAGES)
    assert "topology" in {k.term for k in store.chats.get_chat(ChatRef("discord", CHANNEL)).keywords}


async def test_subscribe_from_a_plain_member_is_refused(bot, fake, store) -> None:
    callback = await slash(fake, "subscribe", "diffusion", channel_id=CHANNEL, guild_id=GUILD, permissions=SEND_MESSAGES)
    assert callback.body["data"]["content"] == NOT_ALLOWED
    chat = store.chats.get_chat(ChatRef("discord", CHANNEL))
    assert chat is None or "diffusion" not in {k.term for k in chat.keywords}


async def test_plain_members_may_read(bot, fake) -> None:
    callback = await slash(fake, "keywords", channel_id=CHANNEL, guild_id=GUILD, permissions=SEND_MESSAGES)
    assert NOT_ALLOWED not in callback.body["data"]["content"]
    assert "LLM" in callback.body["data"]["content"] or "keyword" in callback.body["data"]["content"].lower()


async def test_direct_messages_may_change_their_own_settings(bot, fake, store) -> None:
    await slash(fake, "subscribe", "graphene", channel_id=DM_CHANNEL)
    chat = store.chats.get_chat(ChatRef("discord", DM_CHANNEL))
    assert "graphene" in {k.term for k in chat.keywords}
    assert chat.kind == "private"


async def typed(fake: FakeDiscord, subcommand: str, **values: object) -> None:
    kinds = {str: 3, int: 4, float: 10}
    await fake.slash(subcommand, [{"type": kinds[type(v)], "name": name, "value": v} for name, v in values.items()], channel_id=DM_CHANNEL)


async def test_typed_options_become_command_text(bot, fake, store) -> None:
    await typed(fake, "categories", categories="math.CO hep-th")
    await typed(fake, "max", count=7)
    await typed(fake, "minscore", score=3.5)
    await typed(fake, "delivery time", timezone="Europe/Berlin", time="07:45")  # Discord may list options in any order
    await typed(fake, "crosslists", state="off")
    chat = store.chats.get_chat(ChatRef("discord", DM_CHANNEL))
    assert chat.categories == ("math.CO", "hep-th")
    assert chat.max_papers == 7
    assert chat.min_score == 3.5
    assert (chat.delivery_time, chat.timezone, chat.crosslists) == (dt.time(7, 45), "Europe/Berlin", False)
    assert not any(c.body["data"]["content"].startswith("Usage") for c in fake.callbacks)


def synced_subcommands(fake: FakeDiscord) -> dict[str, dict]:
    """Every synced subcommand by name, those inside a family's group (`/arxiv delivery time`) too."""
    shown = {}
    for option in fake.synced_commands[0]["options"]:
        shown.update({member["name"]: member for member in option["options"]} if option["type"] == 2 else {option["name"]: option})
    return shown


async def test_value_commands_without_options_show_the_current_value(bot, fake, store) -> None:
    subcommands = synced_subcommands(fake)
    for name in ("time", "schedule", "max", "minscore", "crosslists", "summaries", "language"):
        assert not any(option["required"] for option in subcommands[name]["options"]), name
    await typed(fake, "max", count=7)
    replies = {name.split()[-1]: (await fake.slash(name, [], channel_id=DM_CHANNEL)).body["data"]["content"]
               for name in ("max", "minscore", "summaries", "language", "delivery time")}
    assert replies["max"] == "A digest shows at most 7 papers."
    assert replies["minscore"].startswith("Papers need a score of at least")
    assert replies["summaries"].startswith("Summaries are ")
    assert replies["language"].startswith("Summaries are written in English.")
    assert replies["time"].startswith("Digests arrive at ")
    assert store.chats.get_chat(ChatRef("discord", DM_CHANNEL)).max_papers == 7


async def test_delivery_commands_are_one_subcommand_group(bot, fake, store) -> None:
    """/arxiv is at Discord's 25 entries: time, schedule, pause and resume are `/arxiv delivery ...`."""
    [delivery] = [option for option in fake.synced_commands[0]["options"] if option["name"] == "delivery"]
    assert delivery["type"] == 2
    assert [member["name"] for member in delivery["options"]] == ["time", "schedule", "pause", "resume"]
    await typed(fake, "delivery schedule", every="weekly", day="monday")
    await typed(fake, "delivery time", time="07:15")
    await fake.slash("delivery pause", [], channel_id=DM_CHANNEL)
    chat = store.chats.get_chat(ChatRef("discord", DM_CHANNEL))
    assert (chat.schedule, chat.weekly_day, chat.delivery_time, chat.paused) == ("weekly", 0, dt.time(7, 15), True)
    answers = [callback.body["data"]["content"] for callback in fake.callbacks]
    assert answers[0].startswith("Digests will arrive weekly on Mondays at 08:00 UTC.")
    assert "Usage" not in "".join(answers)


async def test_replies_echo_keywords_with_their_markdown_escaped(bot, fake) -> None:
    await slash(fake, "subscribe", '```llm, ~~rl~~, "[free](https://e.vil)"', channel_id=DM_CHANNEL)
    content = (await slash(fake, "keywords", channel_id=DM_CHANNEL)).body["data"]["content"]
    assert r"\`\`\`llm" in content
    assert r"\~\~rl\~\~" in content
    assert r"\[free\](https://e.vil)" in content
    assert "```" not in content.replace(r"\`", "")
    assert "~~" not in content.replace(r"\~", "")


async def test_digest_command_answers_with_embeds(bot, fake) -> None:
    first = await slash(fake, "digest", channel_id=CHANNEL, guild_id=GUILD, permissions=SEND_MESSAGES)
    await fake.wait_for(lambda: len(first.body["data"]["embeds"]) + sum(len(f.embeds) for f in fake.followups) == 12)
    assert first.body["data"]["content"].startswith("**arXiv digest for Thu 2026-09-24**")  # one header: the digest's
    assert all(message_problem(f.body) is None for f in fake.followups)
    assert not fake.rejected


async def test_autocomplete_suggests_categories_and_time_zones(bot, fake) -> None:
    for subcommand, option, typed, expected in (
        ("categories", "categories", "cs.AI cs.C", "cs.AI cs.CL"),
        ("delivery time", "timezone", "berl", "Europe/Berlin"),
        ("language", "code", "germ", "de"),
    ):
        options = [{"type": 3, "name": option, "value": typed, "focused": True}]
        callback = await fake.slash(subcommand, options, channel_id=DM_CHANNEL, interaction_type=4)
        assert callback.body["type"] == 8
        assert expected in [choice["value"] for choice in callback.body["data"]["choices"]]


async def test_slow_digest_reply_is_deferred_then_sent_as_embeds(fake, settings, monkeypatch) -> None:
    monkeypatch.setattr(discord_adapter, "DEFER_AFTER_SECONDS", 0.01)

    async def digest_command(context, text):
        # Slow on purpose: it answers only once Discord has been told the bot is thinking.
        await fake.wait_for(lambda: any(c.body["type"] == 5 for c in fake.callbacks))
        return Reply(f"Your digest ({text})", digest=fixture_digest(12), ephemeral=False)

    adapter = DiscordAdapter(settings.discord, fake.token)
    await adapter.start(digest_command)
    try:
        callback = await slash(fake, "help", channel_id=DM_CHANNEL)
        await fake.wait_for(lambda: sum(len(f.embeds) for f in fake.followups) == 12)
    finally:
        await adapter.stop()
    assert callback.body["type"] == 5  # "thinking", answered by the follow-ups
    assert fake.followups[0].content.startswith("**arXiv digest for Thu 2026-09-24**: 12 papers")  # one header: the digest's
    assert all(message_problem(f.body) is None for f in fake.followups)
    assert not fake.rejected


def sent_paper_ids(fake: FakeDiscord, channel: str) -> list[str]:
    """arXiv ids in the order the fake received them (from each embed's footer)."""
    return [embed["footer"]["text"].split()[0].removeprefix("arXiv:").rsplit("v", 1)[0] for message in fake.messages if message.channel_id == channel for embed in message.embeds]


async def test_25_paper_digest_arrives_as_valid_embeds_within_every_limit(bot, fake, store) -> None:
    chat = store.chats.get_or_create_chat(ChatRef("discord", CHANNEL), Settings().defaults)
    digest = fixture_digest(25, summary_text="**Contributions**\n" + "A careful result. " * 200)
    store.outbox.plan_digest(chat.ref, DAY, digest.plan_entries())
    result = await DigestSender(store).deliver(bot, chat, digest)
    assert result.outcome == DeliveryOutcome.DELIVERED
    assert result.papers_sent == 25
    assert sent_paper_ids(fake, CHANNEL) == [s.paper.arxiv_id for s in digest.papers]
    assert not fake.rejected
    for message in fake.messages:
        assert len(message.content) <= 2000
        assert len(message.embeds) <= 10
        assert sum(len(e["title"]) + len(e["description"]) + sum(len(f["name"]) + len(f["value"]) for f in e["fields"]) + len(e["footer"]["text"]) for e in message.embeds) <= 6000
        for embed in message.embeds:
            assert len(embed["title"]) <= 256
            assert len(embed["description"]) <= 4096
            assert len(embed["fields"]) <= 25
            assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in embed["fields"])
            assert embed["url"].startswith("https://arxiv.org/abs/")
    assert store.outbox.delivered_ids(chat.ref) == {s.paper.arxiv_id for s in digest.papers}


async def test_a_429_mid_digest_is_waited_out_and_loses_nothing(bot, fake, store) -> None:
    chat = store.chats.get_or_create_chat(ChatRef("discord", CHANNEL), Settings().defaults)
    digest = fixture_digest(25)
    store.outbox.plan_digest(chat.ref, DAY, digest.plan_entries())
    messages = bot.render_digest(digest)
    fake.inject(CHANNEL, None, rate_limited(0.05), rate_limited(0.05))  # the first message passes, the second waits
    result = await DigestSender(store).deliver(bot, chat, digest)
    assert result.outcome == DeliveryOutcome.DELIVERED
    posts = [path for method, path in fake.requests if path.endswith(f"/channels/{CHANNEL}/messages")]
    assert len(posts) == len(messages) + 2  # two refused by the 429s, retried by discord.py
    assert sent_paper_ids(fake, CHANNEL) == [s.paper.arxiv_id for s in digest.papers]


async def test_a_429_longer_than_the_ceiling_becomes_a_retry_later(bot, fake) -> None:
    message = bot.render_digest(fixture_digest(1))[0]
    fake.inject(CHANNEL, rate_limited(45.0))
    with pytest.raises(DeliveryError) as raised:
        await bot.send(ChatRef("discord", CHANNEL), message)
    assert raised.value.retry_after == 45.0
    assert not isinstance(raised.value, ChatGone)
    assert fake.messages == []


@pytest.mark.parametrize("fault", [missing_access(), unknown_channel()], ids=["403-missing-access", "404-unknown-channel"])
async def test_lost_channel_is_chat_gone_and_deactivated(bot, fake, store, fault) -> None:
    chat = store.chats.get_or_create_chat(ChatRef("discord", CHANNEL), Settings().defaults)
    digest = fixture_digest(3)
    store.outbox.plan_digest(chat.ref, DAY, digest.plan_entries())
    fake.remove_from(CHANNEL, fault)
    result = await DigestSender(store).deliver(bot, chat, digest)
    assert result.outcome == DeliveryOutcome.CHAT_GONE
    assert not store.chats.get_chat(chat.ref).active
    with pytest.raises(ChatGone):
        await bot.send(chat.ref, bot.render_digest(digest)[0])


async def test_server_errors_are_transient(bot, fake) -> None:
    message = bot.render_digest(fixture_digest(1))[0]
    fake.inject(CHANNEL, server_error())
    with pytest.raises(DeliveryError) as raised:
        await bot.send(ChatRef("discord", CHANNEL), message)
    assert type(raised.value) is DeliveryError


async def test_rejected_embeds_fall_back_to_plain_text(bot, fake) -> None:
    chat = ChatRef("discord", CHANNEL)
    message = bot.render_digest(fixture_digest(1))[0]
    broken = dataclass_replace_payload(message, title="x" * 300)
    with pytest.raises(FormattingRejected):
        await bot.send(chat, broken)
    await bot.send(chat, broken, plain=True)
    assert fake.messages[-1].embeds == []
    assert fake.messages[-1].content == message.plain_text


def dataclass_replace_payload(message, **embed_changes):
    embed = {**message.payload.embeds[0], **embed_changes}
    return dataclasses.replace(message, payload=dataclasses.replace(message.payload, embeds=(embed,)))


async def test_channel_messages_never_ping(bot, fake) -> None:
    digest = fixture_digest(1)
    scored = digest.papers[0]
    loud = dataclasses.replace(scored, paper=dataclasses.replace(scored.paper, title="Following @everyone now"))
    await bot.send(ChatRef("discord", CHANNEL), bot.render_digest(dataclasses.replace(digest, papers=(loud,)))[0])
    assert "@everyone" in fake.messages[0].embeds[0]["title"]
    assert fake.messages[0].body["allowed_mentions"] == {"parse": []}


async def test_the_same_message_is_never_posted_twice(bot, fake) -> None:
    chat = ChatRef("discord", CHANNEL)
    message = bot.render_digest(fixture_digest(2))[0]
    first = await bot.send(chat, message)
    again = await bot.send(chat, message)  # e.g. a retry after a lost confirmation
    assert first == again
    assert len(fake.messages) == 1


async def never_called(context, text):
    raise AssertionError("no command was typed")


async def test_stop_restores_discord_py_endpoints(fake, settings) -> None:
    before = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    adapter = DiscordAdapter(settings.discord, fake.token)
    await adapter.start(never_called)  # never called: no interaction is sent
    assert discord.http.Route.BASE == fake.api_url
    await adapter.stop()
    await adapter.stop()
    assert (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == before


async def test_a_wrong_token_fails_start_cleanly(fake, settings) -> None:
    adapter = DiscordAdapter(settings.discord, "not-the-token")
    with pytest.raises(discord.LoginFailure):
        await adapter.start(never_called)
    assert discord.http.Route.BASE != fake.api_url


def test_create_adapter_needs_the_token_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("DISCORD_BOT_TOKEN", raising=False)
    assert create_adapter(Settings(), ignore_events) is None
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "abc")
    assert isinstance(create_adapter(Settings(), ignore_events), DiscordAdapter)


async def test_the_token_is_never_logged(fake, settings, store, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = DiscordAdapter(settings.discord, fake.token)
    await adapter.start(CommandProcessor(store, settings, StubServices()).handle)
    try:
        await slash(fake, "keywords", channel_id=DM_CHANNEL)
        await adapter.send(ChatRef("discord", CHANNEL), adapter.render_digest(fixture_digest(1))[0])
    finally:
        await adapter.stop()
    assert "discord.http" in {record.name for record in caplog.records}  # discord.py did log its requests
    assert fake.token not in caplog.text


async def test_a_rate_limited_channel_does_not_hold_up_another(bot, fake) -> None:
    slow, fast = ChatRef("discord", CHANNEL), ChatRef("discord", DM_CHANNEL)
    fake.inject(CHANNEL, rate_limited(0.3))
    sending = [bot.send(chat, bot.render_digest(fixture_digest(1))[0]) for chat in (slow, fast)]
    await asyncio.gather(*sending)
    assert [message.channel_id for message in fake.messages] == [DM_CHANNEL, CHANNEL]


async def test_feedback_buttons_under_each_paper_reach_the_store_over_the_gateway(fake, settings, store) -> None:
    """Every paper of a posted digest has 👍/👎 buttons; a press arrives as a component interaction and is stored
    through the app's event sink, like Telegram's buttons."""
    adapter = DiscordAdapter(settings.discord, fake.token, events=StoreEvents(store))
    await adapter.start(CommandProcessor(store, settings, StubServices()).handle)
    try:
        chat = store.chats.get_or_create_chat(ChatRef("discord", CHANNEL), settings.defaults).ref
        digest = fixture_digest(12)
        for message in adapter.render_digest(digest):
            await adapter.send(chat, message)
        assert not fake.rejected  # the fake checks rows, buttons and custom_ids as Discord does
        buttons = [b for m in fake.messages for row in m.body["components"] for b in row["components"]]
        assert len(buttons) == 3 * len(digest.papers)
        assert [b["custom_id"] for b in buttons[2::3]] == [f"sv:{scored.paper.arxiv_id}" for scored in digest.papers]
        first, second = digest.papers[0].paper.arxiv_id, digest.papers[1].paper.arxiv_id
        up = await fake.press(fake.messages[0], f"fb:+1:{first}", guild_id=GUILD, user_id="77")
        down = await fake.press(fake.messages[0], f"fb:-1:{second}", guild_id=GUILD, user_id="77")
        await fake.press(fake.messages[0], f"fb:-1:{first}", guild_id=GUILD, user_id="78")
    finally:
        await adapter.stop()
    assert up.ephemeral
    assert up.body["data"]["content"] == "Noted 👍 Thanks!"
    assert down.body["data"]["content"] == "Noted 👎 Thanks!"
    assert store.outbox.feedback_totals(chat) == {first: 0, second: -1}


async def test_the_save_button_over_the_gateway_puts_the_paper_on_the_reading_list(fake, settings, store) -> None:
    adapter = DiscordAdapter(settings.discord, fake.token, events=StoreEvents(store))
    await adapter.start(CommandProcessor(store, settings, StubServices()).handle)
    try:
        chat = store.chats.get_or_create_chat(ChatRef("discord", CHANNEL), settings.defaults).ref
        digest = fixture_digest(7)
        store.papers.store_announcement(DAY, [scored.paper for scored in digest.papers])
        for message in adapter.render_digest(digest):
            await adapter.send(chat, message)
        assert not fake.rejected
        assert len(fake.messages) == 2  # five papers a message: each paper's three buttons on one row
        last = digest.papers[6].paper.arxiv_id
        saved = await fake.press(fake.messages[1], f"sv:{last}", guild_id=GUILD, user_id="77")
    finally:
        await adapter.stop()
    assert saved.ephemeral
    assert saved.body["data"]["content"] == SAVE_THANKS
    assert [entry.paper.arxiv_id for entry in store.saved.saved_papers(chat)] == [last]
    assert store.outbox.feedback_totals(chat) == {last: 1}


async def test_bibtex_follows_its_answer_as_an_attached_file(bot, fake, store) -> None:
    chat = store.chats.get_or_create_chat(ChatRef("discord", DM_CHANNEL), Settings().defaults).ref
    papers = [scored.paper for scored in fixture_digest(3).papers]
    store.papers.store_announcement(DAY, papers)
    for paper in papers:
        store.saved.save_paper(chat, paper.arxiv_id)
    answer = await fake.slash("reading bibtex", channel_id=DM_CHANNEL)
    await fake.wait_for(lambda: any(message.files for message in fake.followups))
    [attached] = fake.followups
    texts = [answer.body["data"].get("content")] + [message.content for message in fake.followups]
    assert "BibTeX of 3 papers (arxiv-papers.bib)." in texts  # the answer, deferred or not
    assert not fake.rejected
    [(filename, content)] = attached.files
    library = bibtexparser.parse_string(content.decode())
    assert filename == "arxiv-papers.bib"
    assert not library.failed_blocks
    assert {entry["eprint"] for entry in library.entries} == {paper.arxiv_id for paper in papers}
