"""No secret reaches a log line: message, arguments, exception text, traceback and stack, from any logger."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import httpx
from starlette.testclient import TestClient

from adapters.telegram import SECRET_HEADER
from bot.web import create_app
from core.redaction import REDACTED, install_redaction, remember_secret
from tests.delivery_support import new_chat
from tests.fakes.telegram import FakeTelegram
from tests.fixtures.web.site import site_settings
from tests.test_telegram_serve import _free_port

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {
    "TELEGRAM_BOT_TOKEN": "987654:AAH-telegram-secret-token",
    "SLACK_SIGNING_SECRET": "slack-signing-secret-0123456789",
    "OPENAI_API_KEY": "sk-openai-key-abcdef0123456789",
    "DASHSCOPE_API_KEY": "sk-dashscope-key-9876543210",
    "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-abcdef",
}


@pytest.fixture
def captured(monkeypatch) -> Iterator[io.StringIO]:
    """The root logger's output through a handler carrying the redaction, as the command line sets it up."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    install_redaction()
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def _leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def test_secrets_are_blanked_in_message_args_exception_and_stack(captured) -> None:
    log = logging.getLogger("some.library")
    token = SECRETS["TELEGRAM_BOT_TOKEN"]
    log.warning("calling https://api.telegram.org/bot%s/getMe with key %s", token, SECRETS["OPENAI_API_KEY"])
    try:
        raise RuntimeError(f"Invalid token {token} (signing secret {SECRETS['SLACK_SIGNING_SECRET']})")
    except RuntimeError:
        log.exception("start failed for %s", SECRETS["DASHSCOPE_API_KEY"])
    log.warning("setWebhook data: %s", {"secret_token": SECRETS["TELEGRAM_WEBHOOK_SECRET"]}, stack_info=True)
    remember_secret("derived-secret-value-42")
    log.error("derived: derived-secret-value-42")
    text = captured.getvalue()
    assert _leaks(text) == []
    assert "derived-secret-value-42" not in text
    assert "Traceback" in text
    assert "RuntimeError: Invalid token [redacted]" in text
    assert text.count(REDACTED) >= 7


def test_a_failing_personal_feed_is_logged_without_its_token(captured, store) -> None:
    chat = new_chat(store, "1")
    app = create_app(store, site_settings())
    store.close()  # every read now fails: the 500 path logs the request path
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get(f"/feeds/chat/{chat.feed_token}.xml").status_code == 500
    text = captured.getvalue()
    assert "error serving /feeds/chat/[redacted]" in text
    assert chat.feed_token not in text


async def test_serve_with_a_rejected_telegram_token_logs_no_secret(tmp_path: Path) -> None:
    """The audit's repro: a 401 from getMe, whose InvalidToken text holds the token, logged with its traceback."""
    async with FakeTelegram(token="111:the-token-the-fake-knows").serve() as fake:
        config = tmp_path / "config.json"
        config.write_text(json.dumps({
            "arxiv": {"feed_url": "http://127.0.0.1:9/rss/", "api_url": "http://127.0.0.1:9/api/query"},
            "telegram": {"api_base_url": fake.api_base_url, "mode": "polling"},
        }))
        env = {key: value for key, value in os.environ.items() if not key.endswith(("_TOKEN", "_SECRET", "_KEY"))}
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "arxiv-digest"), "-v", "--config", str(config),
            "--database", str(tmp_path / "serve.db"), "serve", "--console",
            cwd=ROOT, env=env | SECRETS, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        await fake.wait_until(lambda: fake.rejected_tokens > 0, 60)
        output, _ = await asyncio.wait_for(process.communicate(b"quit\n"), 60)
    text = output.decode()
    assert "telegram adapter did not start" in text
    assert "Traceback" in text
    assert _leaks(text) == []


async def test_serve_logs_neither_the_derived_webhook_secret_nor_a_feed_token(tmp_path: Path) -> None:
    """Real paths at -v: PTB's setWebhook debug line, the `feed` reply sent through the Bot API, the feed fetched over HTTP."""
    user = 4242
    async with FakeTelegram().serve() as fake:
        config = tmp_path / "config.json"
        config.write_text(json.dumps({
            "arxiv": {"feed_url": "http://127.0.0.1:9/rss/", "api_url": "http://127.0.0.1:9/api/query"},
            "telegram": {"api_base_url": fake.api_base_url, "mode": "webhook", "public_url": "https://bot.example.org"},
        }))
        port = _free_port()
        env = {key: value for key, value in os.environ.items() if not key.endswith(("_TOKEN", "_SECRET", "_KEY"))}
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "arxiv-digest"), "-v", "--config", str(config),
            "--database", str(tmp_path / "serve.db"), "serve", "--web", "--port", str(port),
            cwd=ROOT, env=env | {"TELEGRAM_BOT_TOKEN": fake.token},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await fake.wait_until(lambda: fake.webhook is not None, 60)
            derived_secret = fake.webhook["secret_token"]
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(timeout=10) as client:
                for number, command in enumerate(("/start", "/feed"), 1):
                    update = {"update_id": number, "message": {
                        "message_id": number, "date": 0, "chat": {"id": user, "type": "private"},
                        "from": {"id": user, "is_bot": False, "first_name": "A"}, "text": command,
                        "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]}}
                    await _post_when_listening(client, f"{base}/telegram/webhook", update, {SECRET_HEADER: derived_secret})
                    *_, reply = await fake.wait_for(number, user, timeout=30)
                token = re.search(r"/feeds/chat/([A-Za-z0-9_-]+)\.xml", reply.text).group(1)
                assert (await client.get(f"{base}/feeds/chat/{token}.xml")).status_code == 200
                assert (await client.get(f"{base}/feeds/chat/{token}.atom/")).status_code == 404
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 30)
    text = output.decode()
    # the lines that carried them were logged
    assert "setWebhook" in text
    assert "sendMessage" in text
    assert derived_secret not in text
    assert token not in text
    assert fake.token not in text


async def _post_when_listening(client: httpx.AsyncClient, url: str, update: dict, headers: dict[str, str]) -> None:
    """The web server may come up a moment after setWebhook: retry the connection until a deadline."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        try:
            answer = await client.post(url, json=update, headers=headers)
            assert answer.status_code == 200
            return
        except httpx.TransportError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
