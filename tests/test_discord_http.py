"""Discord's HTTP interactions endpoint: signed requests over loopback to the real web app, answers and follow-ups at the fake REST API."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from nacl.signing import SigningKey

import adapters.discord as discord_adapter
from adapters.base import SAVE_THANKS, ignore_events
from adapters.discord import INTERACTIONS_PATH, DiscordAdapter, create_adapter
from adapters.discord_interactions import EPHEMERAL_FLAG, slash_command
from adapters.discord_render import render_digest
from adapters.signed_requests import SIGNATURE_WINDOW_SECONDS
from bot.app import App, StoreEvents
from core.commands import COMMAND_SPECS, CommandProcessor
from core.commands.registry import NOT_ALLOWED
from core.config import ConfigError, DiscordSettings, Settings
from core.models import ChatRef, ChatSettings, CommandContext, Digest, Reply
from core.store import Store
from tests.fakes.discord import FakeDiscord, running_fake_discord
from tests.fakes.discord_data import button_interaction, fixture_digest, slash_interaction
from tests.fakes.discord_limits import message_problem
from tests.fakes.server import serve_asgi
from tests.test_discord import CHANNEL, GUILD, MANAGE_CHANNELS, SEND_MESSAGES, StubServices

NOW = dt.datetime(2026, 9, 24, 12, 0, tzinfo=dt.timezone.utc)
SIGNING_KEY = SigningKey.generate()
SPECS = {spec.name: spec for spec in COMMAND_SPECS}
NOW_STAMP = str(int(NOW.timestamp()))


class SlowDigestServices(StubServices):
    """`digest` takes as long as the test wants: until `released` is set."""

    def __init__(self) -> None:
        self.released = asyncio.Event()

    async def digest_now(self, chat: ChatSettings) -> Digest:
        await self.released.wait()
        return await super().digest_now(chat)


@dataclass
class Endpoint:
    """The running endpoint: where to POST, what the fake Discord received, which commands reached the processor."""

    url: str
    fake: FakeDiscord
    services: SlowDigestServices
    handled: list[str] = field(default_factory=list)

    async def post(self, interaction: dict, *, timestamp: int | None = None, key: SigningKey = SIGNING_KEY, signed_body: bytes | None = None) -> httpx.Response:
        """POST the interaction as Discord does (or, given `key`, `timestamp` or `signed_body`, as a forger might)."""
        body = json.dumps(interaction).encode()
        stamp = NOW_STAMP if timestamp is None else str(timestamp)
        return await self.post_raw(body, signature_headers(body if signed_body is None else signed_body, stamp, key))

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        async with httpx.AsyncClient() as client:
            return await client.post(self.url + INTERACTIONS_PATH, content=body, headers={"Content-Type": "application/json", **headers})


def signature_headers(signed: bytes, stamp: str = NOW_STAMP, key: SigningKey = SIGNING_KEY) -> dict[str, str]:
    """Discord's signature: Ed25519 over timestamp + raw body, hex in the headers."""
    return {"X-Signature-Ed25519": key.sign(stamp.encode() + signed).signature.hex(), "X-Signature-Timestamp": stamp}


def http_settings(fake: FakeDiscord) -> Settings:
    return Settings(discord=DiscordSettings(api_base_url=fake.api_url, interactions="http"))


@pytest.fixture
async def endpoint(store: Store) -> AsyncIterator[Endpoint]:
    async with running_fake_discord() as fake:
        settings = http_settings(fake)
        adapter = DiscordAdapter(settings.discord, fake.token, interactions_key=SIGNING_KEY.verify_key, clock=lambda: NOW,
                                 events=StoreEvents(store))
        app = App(settings, store, [adapter])  # its web_app() collects the adapter's route, as in `serve`
        services = SlowDigestServices()
        processor = CommandProcessor(store, settings, services)
        handled: list[str] = []

        async def handle(context: CommandContext, text: str) -> Reply:
            handled.append(text)
            return await processor.handle(context, text)

        await adapter.start(handle)
        try:
            async with serve_asgi(app.web_app()) as url:
                yield Endpoint(url, fake, services, handled)
        finally:
            services.released.set()
            await adapter.stop()
            await app.fetcher.aclose()


def subscribe(fake: FakeDiscord, permissions: int) -> dict:
    options = [{"type": 3, "name": "args", "value": "diffusion"}]
    return slash_interaction(fake, "subscribe", options, channel_id=CHANNEL, guild_id=GUILD, permissions=permissions)


def keywords_of(store: Store) -> set[str]:
    chat = store.chats.get_chat(ChatRef("discord", CHANNEL))
    return set() if chat is None else {k.term for k in chat.keywords}


async def test_ping_is_answered_with_pong(endpoint: Endpoint) -> None:
    answer = await endpoint.post({"id": "1", "application_id": endpoint.fake.application_id, "type": 1, "token": "t", "version": 1})
    assert answer.status_code == 200
    assert answer.json() == {"type": 1}


@pytest.mark.parametrize(
    "forgery",
    [
        {"key": SigningKey.generate()},
        {"signed_body": b'{"type": 1}'},
        {"timestamp": int(NOW.timestamp()) - SIGNATURE_WINDOW_SECONDS - 1},
        {"timestamp": int(NOW.timestamp()) + SIGNATURE_WINDOW_SECONDS + 1},
    ],
    ids=["other-key", "other-body", "stale", "future"],
)
async def test_badly_signed_requests_are_refused_and_change_nothing(endpoint: Endpoint, store: Store, forgery: dict) -> None:
    answer = await endpoint.post(subscribe(endpoint.fake, MANAGE_CHANNELS), **forgery)
    assert answer.status_code == 401
    assert endpoint.handled == []
    assert keywords_of(store) == set()


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Signature-Timestamp": NOW_STAMP}, {"X-Signature-Ed25519": "zz", "X-Signature-Timestamp": NOW_STAMP}],
    ids=["none", "no-signature", "not-hex"],
)
async def test_missing_or_garbled_signature_headers_are_refused(endpoint: Endpoint, headers: dict) -> None:
    answer = await endpoint.post_raw(b'{"type": 1}', headers)
    assert answer.status_code == 401
    assert endpoint.handled == []


async def test_signed_requests_that_are_no_arxiv_interaction_get_400(endpoint: Endpoint) -> None:
    other_command = slash_interaction(endpoint.fake, "subscribe", channel_id=CHANNEL)
    other_command["data"]["name"] = "weather"
    for body in (b"not json", b"[]", json.dumps(other_command).encode()):
        answer = await endpoint.post_raw(body, signature_headers(body))
        assert answer.status_code == 400, body
    assert endpoint.handled == []


async def test_subscribe_from_a_channel_manager_changes_the_store(endpoint: Endpoint, store: Store) -> None:
    answer = await endpoint.post(subscribe(endpoint.fake, MANAGE_CHANNELS))
    assert answer.status_code == 200
    response = answer.json()
    assert response["type"] == 4
    assert "diffusion" in response["data"]["content"]
    assert response["data"]["flags"] & EPHEMERAL_FLAG
    assert response["data"]["allowed_mentions"] == {"parse": []}
    assert message_problem(response["data"]) is None
    assert keywords_of(store) >= {"diffusion"}
    chat = store.chats.get_chat(ChatRef("discord", CHANNEL))
    assert chat.kind == "channel"
    assert GUILD in chat.title
    assert "#papers" in chat.title


async def test_a_replayed_signed_interaction_is_refused_and_runs_once(endpoint: Endpoint) -> None:
    """The same signed request again within the window (a captured `feed reset`, say) must not run twice."""
    body = json.dumps(subscribe(endpoint.fake, MANAGE_CHANNELS)).encode()
    first = await endpoint.post_raw(body, signature_headers(body))
    replayed = await endpoint.post_raw(body, signature_headers(body))
    assert first.status_code == 200
    assert replayed.status_code == 401
    assert endpoint.handled == ["subscribe diffusion"]


async def test_subscribe_without_manage_channels_is_refused(endpoint: Endpoint, store: Store) -> None:
    answer = await endpoint.post(subscribe(endpoint.fake, SEND_MESSAGES))
    assert answer.json()["type"] == 4
    assert answer.json()["data"]["content"] == NOT_ALLOWED
    assert endpoint.handled == ["subscribe diffusion"]
    assert keywords_of(store) == set()


async def test_slow_digest_is_deferred_then_followed_up_over_rest(endpoint: Endpoint, monkeypatch) -> None:
    monkeypatch.setattr(discord_adapter, "DEFER_AFTER_SECONDS", 0.05)
    fake = endpoint.fake
    interaction = slash_interaction(fake, "digest", channel_id=CHANNEL, guild_id=GUILD, permissions=SEND_MESSAGES)
    answer = await endpoint.post(interaction)
    assert answer.json() == {"type": 5, "data": {"flags": EPHEMERAL_FLAG}}
    assert fake.followups == []  # nothing follows before the digest is ready
    endpoint.services.released.set()
    await fake.wait_for(lambda: sum(len(f.embeds) for f in fake.followups) == 12)
    webhook = f"/api/v10/webhooks/{fake.application_id}/{interaction['token']}"
    calls = [(method, path) for method, path in fake.requests if path.startswith(webhook)]
    assert calls[0] == ("PATCH", webhook + "/messages/@original")
    assert calls[1:]
    assert all(call == ("POST", webhook) for call in calls[1:])
    assert fake.followups[0].content.startswith("**arXiv digest for Thu 2026-09-24**: 12 papers")
    assert all(message_problem(f.body) is None for f in fake.followups)
    assert not fake.rejected
    assert fake.callbacks == []  # the first answer went back as the HTTP response, not as a callback


async def test_autocomplete_answers_with_choices(endpoint: Endpoint) -> None:
    options = [{"type": 3, "name": "timezone", "value": "berl", "focused": True}]
    interaction = slash_interaction(endpoint.fake, "delivery time", options, channel_id=CHANNEL, interaction_type=4)
    response = (await endpoint.post(interaction)).json()
    assert response["type"] == 8
    assert "Europe/Berlin" in [choice["value"] for choice in response["data"]["choices"]]
    assert endpoint.handled == []


async def test_http_mode_needs_no_gateway_and_still_posts_digests(endpoint: Endpoint, store: Store) -> None:
    fake = endpoint.fake
    assert fake.synced_commands
    assert not fake.identified.is_set()
    adapter = DiscordAdapter(http_settings(fake).discord, fake.token, interactions_key=SIGNING_KEY.verify_key)
    await adapter.start(CommandProcessor(store, Settings(), StubServices()).handle)
    try:
        chat = ChatRef("discord", CHANNEL)
        await adapter.send(chat, adapter.render_digest(fixture_digest(1))[0])
    finally:
        await adapter.stop()
    assert [message.channel_id for message in fake.messages] == [CHANNEL]
    assert not fake.identified.is_set()


def test_create_adapter_in_http_mode_needs_the_public_key(monkeypatch) -> None:
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "abc")
    settings = Settings(discord=DiscordSettings(interactions="http"))
    monkeypatch.delenv("DISCORD_PUBLIC_KEY", raising=False)
    with pytest.raises(ConfigError, match="DISCORD_PUBLIC_KEY"):
        create_adapter(settings, ignore_events)
    monkeypatch.setenv("DISCORD_PUBLIC_KEY", "not-hex")
    with pytest.raises(ConfigError, match="DISCORD_PUBLIC_KEY"):
        create_adapter(settings, ignore_events)
    monkeypatch.setenv("DISCORD_PUBLIC_KEY", SIGNING_KEY.verify_key.encode().hex())
    adapter = create_adapter(settings, ignore_events)
    assert [route.path for route in adapter.web_routes()] == [INTERACTIONS_PATH]
    monkeypatch.delenv("DISCORD_PUBLIC_KEY")
    assert create_adapter(Settings(), ignore_events).web_routes() == []  # gateway mode mounts nothing


def guild_interaction(permissions: object) -> dict:
    return {"guild_id": GUILD, "channel_id": CHANNEL, "member": {"user": {"id": "7"}, "permissions": permissions}, "data": {}}


@pytest.mark.parametrize(
    ("permissions", "may_change"),
    [("8", True), ("16", True), ("32", True), ("2048", False), ("not a number", False), (None, False)],
)
def test_permission_bitfield_decides_who_may_change_settings(permissions: object, may_change: bool) -> None:
    context = slash_command(guild_interaction(permissions), SPECS).context
    assert context.can_change_settings is may_change
    assert context.chat == ChatRef("discord", CHANNEL)


async def test_a_feedback_button_pressed_over_http_is_stored_and_answered_in_the_response(endpoint: Endpoint, store: Store) -> None:
    chat = store.chats.get_or_create_chat(ChatRef("discord", CHANNEL), Settings().defaults).ref
    body = render_digest(fixture_digest(2))[0].payload
    posted = {"id": endpoint.fake.new_id(), "channel_id": CHANNEL, "content": body.content,
              "embeds": list(body.embeds), "components": list(body.components)}
    paper_id = fixture_digest(1).papers[0].paper.arxiv_id
    answer = await endpoint.post(button_interaction(endpoint.fake, posted, f"fb:-1:{paper_id}", guild_id=GUILD, user_id="99"))
    assert answer.status_code == 200
    assert answer.json()["type"] == 4
    assert answer.json()["data"]["content"] == "Noted 👎 Thanks!"
    assert answer.json()["data"]["flags"] == EPHEMERAL_FLAG
    assert store.outbox.feedback_totals(chat) == {paper_id: -1}
    assert endpoint.handled == []  # a button press is no command


async def test_a_save_button_pressed_over_http_saves_the_paper_and_answers_in_the_response(endpoint: Endpoint, store: Store) -> None:
    chat = store.chats.get_or_create_chat(ChatRef("discord", CHANNEL), Settings().defaults).ref
    digest = fixture_digest(2)
    store.papers.store_announcement(digest.announcement_day, [scored.paper for scored in digest.papers])
    body = render_digest(digest)[0].payload
    posted = {"id": endpoint.fake.new_id(), "channel_id": CHANNEL, "content": body.content,
              "embeds": list(body.embeds), "components": list(body.components)}
    paper_id = digest.papers[1].paper.arxiv_id
    assert f"sv:{paper_id}" in [button["custom_id"] for row in body.components for button in row["components"]]
    answer = await endpoint.post(button_interaction(endpoint.fake, posted, f"sv:{paper_id}", guild_id=GUILD, user_id="99"))
    assert answer.status_code == 200
    assert answer.json()["data"]["content"] == SAVE_THANKS
    assert answer.json()["data"]["flags"] == EPHEMERAL_FLAG
    assert [entry.paper.arxiv_id for entry in store.saved.saved_papers(chat)] == [paper_id]
    assert endpoint.handled == []
