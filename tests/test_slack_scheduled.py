"""Slack end to end: signed `/arxiv` requests to the real web app change the store; scheduled digests arrive once."""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from adapters.slack import SlackAdapter
from bot.app import App
from core.config import SlackSettings
from core.models import ChatRef
from tests.delivery_support import fixture_papers, store_feed
from tests.fakes.server import LoopbackServer, serve_asgi
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlackState, build_slack_app
from tests.test_scheduler import TUESDAY, World
from tests.test_slack import _post, _signed, _slash

UTC = dt.timezone.utc
CHANNEL = "C0LAB"
ABS_LINK = re.compile(r"<https://arxiv\.org/abs/([^|>]+)\|")


def _state() -> FakeSlackState:
    state = FakeSlackState()
    state.users = {"UADMIN": {"id": "UADMIN", "is_admin": True}, "UGUEST": {"id": "UGUEST", "is_admin": False}}
    return state


def _papers_in(messages: list[dict]) -> list[str]:
    return [
        arxiv_id
        for message in messages
        for block in message.get("blocks", [])
        if block["type"] == "section"
        for arxiv_id in ABS_LINK.findall(block["text"]["text"])
    ]


async def _configure(app: App, server: LoopbackServer, commands: list[tuple[str, str]]) -> list[dict]:
    answers = []
    async with serve_asgi(app.web_app()) as base:
        for user, text in commands:
            body = _slash(text, user, CHANNEL, f"{server.url}/response/{user}")
            answer = await _post(base, body, _signed(body))
            assert answer.status_code == 200
            answers.append(answer.json())
    return answers


async def test_subscribe_then_scheduled_digest_arrives_once_despite_a_429(tmp_path):
    world = World(tmp_path, dt.datetime(2026, 4, 21, 4, 0, tzinfo=UTC))
    store_feed(world.store, TUESDAY, fixture_papers("2026-04-21"))
    state = _state()
    with LoopbackServer(build_slack_app(state)) as server:
        adapter = SlackAdapter(SlackSettings(api_base_url=f"{server.url}/api/"), BOT_TOKEN, SIGNING_SECRET)
        app = App(world.settings, world.store, [adapter], fetcher=world.scheduler.fetcher)
        await adapter.start(app.handle_command)
        try:
            answers = await _configure(app, server, [
                ("UADMIN", 'subscribe diffusion, segmentation, "point cloud":2'),
                ("UADMIN", "time 09:00 Europe/London"),
                ("UGUEST", "max 3"),
            ])
            assert {a["response_type"] for a in answers} == {"ephemeral"}
            chat = world.store.chats.get_chat(ChatRef("slack", CHANNEL))
            assert {k.term for k in chat.keywords} >= {"diffusion", "segmentation", "point cloud"}
            assert chat.max_papers != 3  # the guest was refused
            state.rate_limits_left, state.retry_after_seconds = 1, 1
            await app.scheduler.tick(world.clock.set(dt.datetime(2026, 4, 21, 7, 59, tzinfo=UTC)))
            assert state.messages_to(CHANNEL) == []
            await app.scheduler.tick(world.clock.set(dt.datetime(2026, 4, 21, 8, 0, tzinfo=UTC)))
            for hour in (9, 12, 23):
                await app.scheduler.tick(world.clock.set(dt.datetime(2026, 4, 21, hour, 0, tzinfo=UTC)))
            delivered = world.store.outbox.delivered_ids(ChatRef("slack", CHANNEL))
        finally:
            await adapter.stop()
            await world.close()
    sent = state.messages_to(CHANNEL)
    papers = _papers_in(sent)
    assert state.rate_limited_answers == 1
    assert papers
    assert len(papers) == len(set(papers)) == len(delivered)
    assert set(papers) == delivered
    assert [ts for ts, n in Counter(m["ts"] for m in sent).items() if n > 1] == []
    assert all(len(m["blocks"]) <= 50 for m in sent)


async def test_archived_channel_is_deactivated_and_not_retried(tmp_path):
    world = World(tmp_path, dt.datetime(2026, 4, 21, 4, 0, tzinfo=UTC))
    store_feed(world.store, TUESDAY, fixture_papers("2026-04-21"))
    state = _state()
    with LoopbackServer(build_slack_app(state)) as server:
        adapter = SlackAdapter(SlackSettings(api_base_url=f"{server.url}/api/"), BOT_TOKEN, SIGNING_SECRET)
        app = App(world.settings, world.store, [adapter], fetcher=world.scheduler.fetcher)
        await adapter.start(app.handle_command)
        try:
            await _configure(app, server, [("UADMIN", "subscribe diffusion, segmentation")])
            state.channel_errors[CHANNEL] = "is_archived"
            await app.scheduler.tick(world.clock.set(dt.datetime(2026, 4, 21, 8, 0, tzinfo=UTC)))
            attempts = state.calls.count("chat.postMessage")
            await app.scheduler.tick(world.clock.set(dt.datetime(2026, 4, 21, 12, 0, tzinfo=UTC)))
            chat = world.store.chats.get_chat(ChatRef("slack", CHANNEL))
        finally:
            await adapter.stop()
            await world.close()
    assert chat is not None
    assert not chat.active
    assert attempts >= 1
    assert state.calls.count("chat.postMessage") == attempts
    assert state.messages == []
