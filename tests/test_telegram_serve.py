"""`arxiv-digest serve` with TELEGRAM_BOT_TOKEN set and the API base URL on the fake: it answers commands (polling and webhook)."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from adapters.telegram import SECRET_HEADER
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
USER = 31337
WEBHOOK_SECRET = "test-webhook-secret"
START_SECONDS = 60  # importing every SDK takes a while on a loaded machine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def serving(tmp_path: Path, fake: FakeTelegram, telegram: dict, port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """The service in a child process, with only the Telegram token among platform secrets; SIGTERM at the end."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "arxiv": {"feed_url": "http://127.0.0.1:9/rss/", "api_url": "http://127.0.0.1:9/api/query"},
        "telegram": {"api_base_url": fake.api_base_url, **telegram},
    }))
    env = {key: value for key, value in os.environ.items() if not key.endswith(("_TOKEN", "_SECRET"))}
    env |= {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "arxiv-digest"), "--config", str(config), "--database", str(tmp_path / "serve.db"),
        "serve", "--web", "--port", str(port), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, output.decode()
        assert fake.token not in output.decode()


async def test_serve_answers_commands_over_long_polling(tmp_path: Path) -> None:
    async with FakeTelegram(long_poll_hold=0.3).serve() as fake:
        async with serving(tmp_path, fake, {"mode": "polling"}, _free_port()):
            await fake.wait_until(lambda: "getUpdates" in fake.calls, START_SECONDS)
            assert fake.commands, "the command menu was published"
            fake.type_message(USER, USER, '/subscribe "speculative decoding"')
            [reply] = await fake.wait_for(1, USER, timeout=20)
            assert "speculative decoding" in reply.visible.lower()


async def test_serve_takes_webhook_updates_only_with_the_secret(tmp_path: Path) -> None:
    port = _free_port()
    telegram = {"mode": "webhook", "public_url": "https://bot.example.org"}
    update = {"update_id": 7, "message": {
        "message_id": 1, "date": 0, "chat": {"id": USER, "type": "private"},
        "from": {"id": USER, "is_bot": False, "first_name": "A"}, "text": "/keywords",
        "entities": [{"type": "bot_command", "offset": 0, "length": 9}]}}
    async with FakeTelegram().serve() as fake:
        async with serving(tmp_path, fake, telegram, port):
            await fake.wait_until(lambda: fake.webhook is not None, START_SECONDS)
            assert fake.webhook["url"] == "https://bot.example.org/telegram/webhook"
            assert fake.webhook["secret_token"] == WEBHOOK_SECRET
            url = f"http://127.0.0.1:{port}/telegram/webhook"
            async with httpx.AsyncClient(timeout=5) as client:
                for _ in range(START_SECONDS * 10):  # the web server may come up a moment after setWebhook
                    try:
                        refused = await client.post(url, json=update)
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                assert refused.status_code == 403
                accepted = await client.post(url, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET})
                assert accepted.status_code == 200
            [reply] = await fake.wait_for(1, USER, timeout=20)
            assert reply.parse_mode == "HTML"
            assert "getUpdates" not in fake.calls
