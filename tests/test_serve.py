"""`serve`: adapters start, the scheduler delivers, and a stop (SIGTERM) ends everything without losing the outbox."""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from adapters.base import OutgoingMessage
from bot.app import App
from core.models import ChatRef, CommandContext
from tests.delivery_support import fixture_papers, store_feed
from tests.fakes.arxiv import Fault
from tests.recording_adapter import RecordingAdapter
from tests.test_scheduler import TUESDAY, World

ROOT = Path(__file__).resolve().parents[1]


class GatedAdapter(RecordingAdapter):
    """Holds its second send until released, so a test can stop the service mid-digest."""

    def __init__(self) -> None:
        super().__init__(papers_per_message=2)
        self.in_flight = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        if len(self.sent) == 1:
            self.in_flight.set()
            await self.release.wait()
        return await super().send(chat, message, plain=plain)


async def _wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never came true"
        await asyncio.sleep(0.01)


async def test_stop_mid_digest_finishes_the_message_in_flight_and_keeps_the_rest_pending(tmp_path):
    world = World(tmp_path, dt.datetime(2026, 4, 21, 7, 0, tzinfo=dt.timezone.utc))
    store_feed(world.store, TUESDAY, fixture_papers("2026-04-21"))
    chat = world.chat("utc")
    world.clock.set(dt.datetime(2026, 4, 21, 9, 0, tzinfo=dt.timezone.utc))  # its 08:00 digest is due
    adapter = GatedAdapter()
    app = App(world.settings, world.store, [adapter], fetcher=world.scheduler.fetcher)
    stop = asyncio.Event()
    running = asyncio.create_task(app.run(stop))
    await asyncio.wait_for(adapter.in_flight.wait(), 10)
    assert adapter.handler is not None  # started with the command handler
    reply = await adapter.handler(CommandContext(chat.ref, "u1", True), "help")
    assert reply.text
    stop.set()
    await _wait_until(lambda: app.scheduler.stopping)
    adapter.release.set()
    await asyncio.wait_for(running, 10)
    assert adapter.handler is None  # stopped
    assert len(adapter.sent) == 2  # header + the message in flight; nothing after the stop
    pending = world.store.outbox.pending_papers(chat.ref, TUESDAY)
    assert pending
    assert world.store.outbox.delivery_stats(chat.ref).papers_failed == 0
    # the next run resumes exactly where this one stopped
    again = RecordingAdapter(papers_per_message=2)
    await App(world.settings, world.store, [again], fetcher=app.fetcher).scheduler.tick()
    assert again.papers_sent_to("utc") == [row.arxiv_id for row in pending]
    assert not any("header" in m.text for m in again.sent)
    await world.close()


async def test_services_report_arxiv_trouble_and_the_feed_link(tmp_path):
    world = World(tmp_path, dt.datetime(2026, 4, 21, 9, 0, tzinfo=dt.timezone.utc))
    chat = world.chat("utc")
    services = App(world.settings, world.store, [], fetcher=world.scheduler.fetcher).services
    assert services.arxiv_status() == "not contacted yet."
    world.store.papers.record_fetch("feed", ["cs.CV"], None, "failed", error="HTTP 503 Service Unavailable")
    assert "failed" in services.arxiv_status()
    assert "503" in services.arxiv_status()
    assert services.feed_url(chat).endswith(chat.feed_token + ".xml")
    assert chat.feed_token
    # created after today's 08:00 UTC: the first digest is tomorrow's, not a stale one now
    assert services.next_delivery(chat) == dt.datetime(2026, 4, 22, 8, 0, tzinfo=dt.timezone.utc)
    await world.close()


def _serve_process(tmp_path: Path, *args: str) -> subprocess.Popen:
    config = tmp_path / "config.json"
    config.write_text('{"arxiv": {"feed_url": "http://127.0.0.1:9/rss/", "api_url": "http://127.0.0.1:9/api/query"}}')
    env = {key: value for key, value in os.environ.items() if not key.endswith(("_TOKEN", "_SECRET"))}
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "arxiv-digest"), "--config", str(config), "--database", str(tmp_path / "serve.db"),
         "serve", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _healthz_of(process: subprocess.Popen, port: int) -> httpx.Response:
    deadline = time.monotonic() + 60  # generous for a loaded machine; it takes about a second
    while True:
        assert process.poll() is None, process.stdout.read()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "web server never answered"
        time.sleep(0.05)


def test_serve_process_says_where_it_listens_refuses_a_second_serve_and_exits_cleanly_on_sigterm(tmp_path):
    port, replica_port = _free_port(), _free_port()
    process = _serve_process(tmp_path, "--web", "--port", str(port))
    replica = None
    try:
        health = _healthz_of(process, port)
        second = _serve_process(tmp_path, "--web", "--port", str(_free_port()))
        refused, _ = second.communicate(timeout=60)
        replica = _serve_process(tmp_path, "--web", "--read-only", "--port", str(replica_port))
        replica_health = _healthz_of(replica, replica_port)
        replica.send_signal(signal.SIGTERM)
        replica_output, _ = replica.communicate(timeout=30)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        for running in (process, replica):
            if running is not None and running.poll() is None:
                running.kill()
    assert health.json()["scheduler"] == "alive"
    assert process.returncode == 0, output
    assert f"web: listening on http://127.0.0.1:{port} " in output
    assert "no chat adapter: no platform token is set" in output
    assert "shutting down" in output
    assert (tmp_path / "serve.db").exists()
    assert second.returncode == 5
    assert f"is already serving {tmp_path / 'serve.db'}" in refused
    assert "serve --web --read-only" in refused
    assert "Traceback" not in refused
    assert replica.returncode == 0
    assert replica_health.json()["scheduler"] == "not in this process"
    assert f"web: listening on http://127.0.0.1:{replica_port} " in replica_output


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_stop_while_arxiv_hangs_ends_at_once_and_plans_nothing(tmp_path, fake_arxiv):
    world = World(tmp_path, dt.datetime(2026, 4, 21, 7, 0, tzinfo=dt.timezone.utc), fake_arxiv.settings())
    fake_arxiv.announce(fixture_papers("2026-04-21"), TUESDAY)
    fake_arxiv.fail_next(Fault("hang"))
    chat = world.chat("utc")
    world.clock.set(dt.datetime(2026, 4, 21, 9, 0, tzinfo=dt.timezone.utc))
    app = App(world.settings, world.store, [RecordingAdapter()], fetcher=world.scheduler.fetcher)
    stop = asyncio.Event()
    running = asyncio.create_task(app.run(stop))
    await _wait_until(lambda: fake_arxiv.feed_requests())
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(running, 5)
    assert time.monotonic() - started < 2
    assert world.store.outbox.digest_day_status(chat.ref, TUESDAY) is None  # the day stays open for the next run
    await world.close()


class UnstartableAdapter(RecordingAdapter):
    async def start(self, handle_command) -> None:
        raise ConnectionError("the platform rejected our token")


async def test_an_adapter_that_cannot_start_does_not_stop_the_others(tmp_path):
    world = World(tmp_path, dt.datetime(2026, 4, 21, 7, 0, tzinfo=dt.timezone.utc))
    store_feed(world.store, TUESDAY, fixture_papers("2026-04-21"))
    world.chat("utc")
    world.store.chats.get_or_create_chat(ChatRef("broken", "1"), world.settings.defaults)
    world.clock.set(dt.datetime(2026, 4, 21, 9, 0, tzinfo=dt.timezone.utc))
    working, broken = RecordingAdapter(), UnstartableAdapter(platform="broken")
    app = App(world.settings, world.store, [broken, working], fetcher=world.scheduler.fetcher)
    stop = asyncio.Event()
    running = asyncio.create_task(app.run(stop))
    await _wait_until(lambda: world.store.outbox.digest_day_status(ChatRef("recording", "utc"), TUESDAY) == "done")
    stop.set()
    await asyncio.wait_for(running, 10)
    assert working.papers_sent_to("utc")
    assert broken.sent == []
    assert world.store.outbox.digest_day_status(ChatRef("broken", "1"), TUESDAY) is None  # waits for its platform
    await world.close()
