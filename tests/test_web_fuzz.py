"""The audit's hostile headers and bodies against the real web app with every webhook route mounted: each is a 4xx, none logs a traceback."""
from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from nacl.signing import SigningKey

from adapters.discord import DiscordAdapter
from adapters.slack import EVENTS_PATH, SlackAdapter
from adapters.telegram import SECRET_HEADER, TelegramAdapter, webhook_secret
from bot.app import App
from core.config import DiscordSettings, Settings, SlackSettings, TelegramSettings
from core.store import Store
from tests.fakes.server import LoopbackServer, serve_asgi
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlackState, build_slack_app
from tests.fakes.telegram import FakeTelegram

DISCORD_KEY = SigningKey.generate()
SOME_SIGNATURE = "ab" * 64
HUGE_DATE = "Mon, 01 Jan 999999999999999999 00:00:00 GMT"
ARABIC_DIGITS = "١٧٠٠٠٠٠٠٠٠"


@dataclass(frozen=True)
class Attack:
    """One hostile request; `slack_signed` sends it with Slack's real signature over the body (a sender holding the secret).

    `status_class` is the hundreds digit of the expected answer: 4 for a refusal, 2 where the standard says to
    ignore a malformed header (an unreadable If-Modified-Since is no condition: the feed is served).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    slack_signed: bool = False
    status_class: int = 4


def _slack(timestamp: str, body: bytes = b"command=%2Farxiv&text=help", content_type: str = "application/x-www-form-urlencoded") -> Attack:
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + "0" * 64, "Content-Type": content_type}
    return Attack("POST", EVENTS_PATH, headers, body)


def _slack_body(body: bytes, content_type: str, *, signed: bool) -> Attack:
    attack = _slack(str(int(time.time())), body, content_type)
    return Attack(attack.method, attack.path, attack.headers, body, slack_signed=signed)


def _telegram(body: bytes) -> Attack:
    return Attack("POST", "/telegram/webhook", {"Content-Type": "application/json"}, body)


ATTACKS: dict[str, Attack] = {
    "feed-huge-if-modified-since": Attack("GET", "/feeds/all.xml", {"If-Modified-Since": HUGE_DATE}, status_class=2),
    "discord-400-digit-timestamp": Attack(
        "POST", "/discord/interactions", {"X-Signature-Ed25519": SOME_SIGNATURE, "X-Signature-Timestamp": "9" * 401}, b'{"type": 1}'
    ),
    "discord-5000-digit-timestamp": Attack(
        "POST", "/discord/interactions", {"X-Signature-Ed25519": SOME_SIGNATURE, "X-Signature-Timestamp": "9" * 5000}, b'{"type": 1}'
    ),
    "slack-timestamp-abc": _slack("abc"),
    "slack-timestamp-empty": _slack(""),
    "slack-timestamp-1e9": _slack("1e9"),
    "slack-timestamp-arabic-digits": _slack(ARABIC_DIGITS),
    "slack-timestamp-5000-digits": _slack("9" * 5000),
    "slack-body-not-utf8": _slack_body(b"command=\xff\xfe\xfd", "application/x-www-form-urlencoded", signed=False),
    "slack-body-broken-json": _slack_body(b"{x", "application/json", signed=False),
    "slack-body-broken-payload": _slack_body(b"payload=%7B", "application/x-www-form-urlencoded", signed=False),
    "slack-signed-body-not-utf8": _slack_body(b"command=\xff\xfe\xfd", "application/x-www-form-urlencoded", signed=True),
    "slack-signed-body-broken-json": _slack_body(b"{x", "application/json", signed=True),
    "slack-signed-body-broken-payload": _slack_body(b"payload=%7B", "application/x-www-form-urlencoded", signed=True),
    "telegram-null": _telegram(b"null"),
    "telegram-list": _telegram(b"[]"),
    "telegram-number": _telegram(b"1"),
    "telegram-string": _telegram(b'"update"'),
}


@pytest.fixture(scope="module")
def slack_api() -> LoopbackServer:
    with LoopbackServer(build_slack_app(FakeSlackState())) as server:
        yield server


@pytest.fixture
async def site(store: Store, slack_api: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, str]]:
    """The web app of `serve` with Slack (HTTP), Discord (HTTP interactions) and Telegram (webhook) routes; yields URL and webhook secret."""
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    async with FakeTelegram().serve() as telegram_api:
        settings = Settings(
            slack=SlackSettings(api_base_url=f"{slack_api.url}/api/"),
            discord=DiscordSettings(interactions="http"),
            telegram=TelegramSettings(api_base_url=telegram_api.api_base_url, mode="webhook", public_url="https://bot.example.org"),
        )
        slack = SlackAdapter(settings.slack, BOT_TOKEN, SIGNING_SECRET)
        discord = DiscordAdapter(settings.discord, "discord-token", interactions_key=DISCORD_KEY.verify_key)
        telegram = TelegramAdapter(telegram_api.token, settings.telegram)
        app = App(settings, store, [slack, discord, telegram])
        await slack.start(app.handle_command)
        await telegram.start(app.handle_command)
        try:
            async with serve_asgi(app.web_app()) as url:
                yield url, webhook_secret(telegram_api.token)
        finally:
            await telegram.stop()
            await slack.stop()
            await app.fetcher.aclose()


async def _send(url: str, telegram_secret: str, attack: Attack) -> httpx.Response:
    headers = dict(attack.headers)
    if attack.path == "/telegram/webhook":
        headers[SECRET_HEADER] = telegram_secret
    if attack.slack_signed:
        timestamp = headers["X-Slack-Request-Timestamp"]
        signed = b"v0:" + timestamp.encode() + b":" + attack.body  # Slack's scheme, over raw bytes (the SDK wants text)
        headers["X-Slack-Signature"] = "v0=" + hmac.new(SIGNING_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    async with httpx.AsyncClient() as client:
        # bytes: a header value need not be ASCII on the wire (the Arabic digits are sent as UTF-8)
        raw_headers = {name: value.encode() for name, value in headers.items()}
        return await client.request(attack.method, url + attack.path, headers=raw_headers, content=attack.body)


async def test_every_hostile_request_is_refused_without_a_traceback(site: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    """Before the fix all 18 were 500s, each with a traceback in the log."""
    url, telegram_secret = site
    caplog.set_level(logging.DEBUG)
    answers = {name: (await _send(url, telegram_secret, attack)).status_code for name, attack in ATTACKS.items()}
    unexpected = {name: status for name, status in answers.items() if status // 100 != ATTACKS[name].status_class}
    tracebacks = [record.getMessage() for record in caplog.records if record.exc_info]
    assert unexpected == {}
    assert tracebacks == []
