"""Slack: the real slack-bolt app behind signed HTTP requests, and real slack-sdk calls against a loopback Web API."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette

from adapters.base import SAVE_THANKS, ChatGone, DeliveryError, EventSink, FormattingRejected, ignore_events
from adapters.slack import EVENTS_PATH, SlackAdapter
from adapters.slack_render import MAX_BLOCKS_PER_MESSAGE, MAX_SECTION_CHARS, escape_mrkdwn, render_digest_messages
from bot.app import StoreEvents
from bot.delivery import DeliveryOutcome, DigestSender
from core.config import Settings, SlackSettings
from core.models import Attachment, ChatRef, CommandContext, Digest, Keyword, KeywordMatch, Paper, Reply, ScoredPaper, Summary
from tests.fakes.arxiv import load_paper_list
from tests.fakes.server import LoopbackServer, serve_asgi
from tests.fakes.slack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlackState, build_slack_app

FIXTURE = Path(__file__).parent / "fixtures" / "slack" / "papers-2026-04-21.json"
DAY = dt.date(2026, 4, 21)
CHANNEL = "C0123"


def _real_papers() -> list[Paper]:
    return load_paper_list(FIXTURE, announced=DAY)


def _digest(papers: list[Paper], summaries: dict[str, Summary] | None = None) -> Digest:
    scored = tuple(
        ScoredPaper(p, score=10.0 - i / 10, matches=(KeywordMatch("point cloud", True, False, 3.0),))
        for i, p in enumerate(papers)
    )
    return Digest(
        announcement_day=DAY,
        papers=scored,
        categories=("cs.CV",),
        keywords=(Keyword("point cloud"),),
        considered=501,
        generated_at=dt.datetime(2026, 4, 21, 8, tzinfo=dt.timezone.utc),
        summaries=summaries or {},
    )


@pytest.fixture
def slack_api():
    state = FakeSlackState()
    state.users = {
        "UADMIN": {"id": "UADMIN", "is_admin": True},
        "UMEMBER": {"id": "UMEMBER", "is_admin": False},
        "UFIRST": {"id": "UFIRST", "is_admin": False},
    }
    with LoopbackServer(build_slack_app(state)) as server:
        yield state, server


def _adapter(server: LoopbackServer, events: EventSink = ignore_events) -> SlackAdapter:
    settings = SlackSettings(api_base_url=f"{server.url}/api/")
    return SlackAdapter(settings, BOT_TOKEN, SIGNING_SECRET, events=events)


def test_sixty_paper_digest_is_valid_block_kit_within_limits():
    papers = _real_papers()
    hostile = Paper("2604.99999", 1, "A <b>bold</b> & <!channel> title", ("Eve",), "x < y & z > w " * 400,
                    ("cs.CV",), "cs.CV", announced=DAY)
    digest = _digest(papers[:59] + [hostile])
    messages = render_digest_messages(digest)
    assert len(messages) >= 3
    carried = [paper_id for message in messages for paper_id in message.paper_ids]
    assert carried == [s.paper.arxiv_id for s in digest.papers]  # every paper once, in order
    for message in messages:
        blocks = message.payload["blocks"]
        assert len(blocks) <= MAX_BLOCKS_PER_MESSAGE
        for block in blocks:
            Block.parse(block).validate_json()  # slack_sdk's own limits (3000 per section, 150 header)
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= MAX_SECTION_CHARS
    last_section = messages[-1].payload["blocks"][-2]["text"]["text"]
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;!channel&gt;" in last_section
    assert "<!channel>" not in last_section


def test_long_summary_is_cut_cleanly_without_breaking_an_entity():
    paper = _real_papers()[0]
    summary = Summary(paper.arxiv_id, 1, "qwen-long", "en", "v1", "abstract", "a&b " * 2000)
    (message,) = render_digest_messages(_digest([paper], {paper.arxiv_id: summary}))
    text = message.payload["blocks"][2]["text"]["text"]
    assert len(text) <= MAX_SECTION_CHARS
    assert text.endswith("…")
    assert "AI Summary (by qwen-long)" in text
    assert text.count("&amp;") == text.count("&")


def test_escape_mrkdwn_only_touches_the_three_characters():
    assert escape_mrkdwn("a & <b> *c*") == "a &amp; &lt;b&gt; *c*"


async def test_send_honours_429_and_loses_nothing(slack_api):
    state, server = slack_api
    state.rate_limits_left, state.retry_after_seconds = 1, 1
    adapter = _adapter(server)
    (message,) = render_digest_messages(_digest(_real_papers()[:3]))
    started = time.monotonic()
    ts = await adapter.send(ChatRef("slack", CHANNEL), message)
    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    assert state.rate_limited_answers == 1
    assert [m["ts"] for m in state.messages_to(CHANNEL)] == [ts]
    assert state.messages[0]["unfurl_links"] is False


async def test_exhausted_rate_limit_is_a_transient_error_with_retry_after(slack_api):
    state, server = slack_api
    state.rate_limits_left, state.retry_after_seconds = 10, 0
    with pytest.raises(DeliveryError) as caught:
        await _adapter(server).send(ChatRef("slack", CHANNEL), render_digest_messages(
            _digest(_real_papers()[:1]))[0])
    assert not isinstance(caught.value, ChatGone)
    assert caught.value.retry_after == 0
    assert state.messages == []


@pytest.mark.parametrize("error", ["is_archived", "channel_not_found", "not_in_channel"])
async def test_gone_channel_raises_chat_gone(slack_api, error):
    state, server = slack_api
    state.channel_errors[CHANNEL] = error
    message = render_digest_messages(_digest(_real_papers()[:1]))[0]
    with pytest.raises(ChatGone):
        await _adapter(server).send(ChatRef("slack", CHANNEL), message)


def _signed(body: str, secret: str = SIGNING_SECRET, age_seconds: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) - age_seconds)
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def _slash(text: str, user: str, channel: str, response_url: str, channel_name: str = "papers") -> str:
    return urlencode({
        "command": "/arxiv", "text": text, "user_id": user, "channel_id": channel,
        "channel_name": channel_name, "team_id": "T1", "response_url": response_url, "trigger_id": "1.2.3",
    })


class RecordingCommands:
    """Stands in for the command core: records what reached it and answers like it would."""

    def __init__(self, answer: Reply | None = None) -> None:
        self.calls: list[tuple[CommandContext, str]] = []
        self.answer = answer

    async def __call__(self, context: CommandContext, text: str) -> Reply:
        self.calls.append((context, text))
        return self.answer or Reply(f"ok: {text} <done>")


async def _post(base: str, body: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(f"{base}{EVENTS_PATH}", content=body, headers=headers)


async def _answers(server: LoopbackServer, requests: list[tuple[str, dict[str, str]]]) -> tuple[list[httpx.Response], RecordingCommands]:
    """POST each (body, headers) to a started adapter's route, in order; its answers and what reached the commands."""
    adapter = _adapter(server)
    commands = RecordingCommands()
    await adapter.start(commands)
    async with serve_asgi(Starlette(routes=adapter.web_routes())) as base:
        answers = [await _post(base, body, headers) for body, headers in requests]
    await adapter.stop()
    return answers, commands


async def test_signed_slash_command_answers_ephemerally_with_permission(slack_api):
    state, server = slack_api
    adapter = _adapter(server)
    commands = RecordingCommands()
    await adapter.start(commands)
    async with serve_asgi(Starlette(routes=adapter.web_routes())) as base:
        admin = await _post(base, body := _slash("subscribe llm", "UADMIN", CHANNEL, f"{server.url}/response/a"),
                            _signed(body))
        member = await _post(base, body := _slash("max 5", "UMEMBER", CHANNEL, f"{server.url}/response/b"),
                             _signed(body))
        direct = await _post(base, body := _slash("max 5", "UMEMBER", "D999", f"{server.url}/response/c"),
                             _signed(body))
    await adapter.stop()
    assert admin.status_code == 200
    assert admin.json() == {"response_type": "ephemeral", "text": "ok: subscribe llm &lt;done&gt;"}
    assert [(c.user_id, c.can_change_settings, text) for c, text in commands.calls] == [
        ("UADMIN", True, "subscribe llm"), ("UMEMBER", False, "max 5"), ("UMEMBER", True, "max 5"),
    ]
    assert commands.calls[0][0].chat == ChatRef("slack", CHANNEL)
    assert member.status_code == direct.status_code == 200


async def test_a_channel_named_directmessage_is_no_dm(slack_api):
    """Members name channels; only a D… id is a direct message, where anyone may change settings."""
    _, server = slack_api
    body = _slash("max 5", "UMEMBER", CHANNEL, f"{server.url}/response/m", channel_name="directmessage")
    [answer], commands = await _answers(server, [(body, _signed(body))])
    assert answer.status_code == 200
    [(context, _)] = commands.calls
    assert not context.can_change_settings
    assert context.chat_kind == "channel"


async def test_channel_members_are_handed_to_the_core_under_the_first_configurer_policy(slack_api):
    _, server = slack_api
    body = _slash("max 5", "UMEMBER", CHANNEL, f"{server.url}/response/m")
    _, commands = await _answers(server, [(body, _signed(body))])
    ((context, _),) = commands.calls
    # the core applies the rule
    assert not context.can_change_settings
    assert context.configurer_may_change


@pytest.mark.parametrize(
    "secret,age", [("forged-secret", 0), (SIGNING_SECRET, 6 * 60)], ids=["forged", "six-minutes-old"]
)
async def test_bad_or_stale_signature_is_rejected_and_changes_nothing(slack_api, secret, age):
    _, server = slack_api
    body = _slash("subscribe llm", "UADMIN", CHANNEL, f"{server.url}/response/x")
    [answer], commands = await _answers(server, [(body, _signed(body, secret=secret, age_seconds=age))])
    assert answer.status_code == 401
    assert commands.calls == []


async def test_a_replayed_signed_command_is_refused_and_runs_once(slack_api):
    """A captured `/arxiv feed reset` sent again within Slack's five minutes must not rotate the token twice."""
    _, server = slack_api
    body = _slash("feed reset", "UADMIN", CHANNEL, f"{server.url}/response/r")
    headers = _signed(body)
    [first, replayed], commands = await _answers(server, [(body, headers), (body, headers)])
    assert first.status_code == 200
    assert replayed.status_code == 401
    assert [text for _, text in commands.calls] == ["feed reset"]


@pytest.mark.parametrize("spelled", ["digest", "/digest", "Digest@arxivbot"])
async def test_digest_command_acks_first_then_posts_in_channel(slack_api, spelled):
    state, server = slack_api
    adapter = _adapter(server)
    digest = _digest(_real_papers()[:30])
    commands = RecordingCommands(Reply("here it is", digest=digest))
    await adapter.start(commands)
    async with serve_asgi(Starlette(routes=adapter.web_routes())) as base:
        body = _slash(spelled, "UMEMBER", CHANNEL, f"{server.url}/response/d")
        answer = await _post(base, body, _signed(body))
        assert answer.status_code == 200
        assert "Working" in answer.json()["text"]
        deadline = time.monotonic() + 10
        while len(state.responses) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    await adapter.stop()
    assert {r["response_type"] for r in state.responses} == {"in_channel"}
    shown = sum(1 for r in state.responses for b in r["blocks"] if b["type"] == "section")
    assert shown == 30


async def test_digest_too_long_for_one_response_url_ends_with_a_note_on_what_is_left_out(slack_api):
    """Slack takes five answers per response_url: the fifth says how many papers did not fit instead of failing."""
    state, server = slack_api
    adapter = _adapter(server)
    papers = _real_papers()
    digest = _digest(papers + [dataclasses.replace(p, arxiv_id=f"{p.arxiv_id}9") for p in papers] + papers[:20])
    commands = RecordingCommands(Reply("here it is", digest=digest))
    await adapter.start(commands)
    async with serve_asgi(Starlette(routes=adapter.web_routes())) as base:
        body = _slash("digest", "UMEMBER", CHANNEL, f"{server.url}/response/long")
        assert (await _post(base, body, _signed(body))).status_code == 200
        deadline = time.monotonic() + 10
        while len(state.responses) < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    await adapter.stop()
    assert len(state.responses) == 5
    shown = sum(1 for r in state.responses[:4] for b in r["blocks"] if b["type"] == "section")
    assert shown == 96
    assert state.responses[4]["text"].startswith(f"…and {140 - shown} more papers")


async def test_socket_mode_receives_a_slash_command_and_acks_the_envelope(slack_api):
    state, server = slack_api
    settings = SlackSettings(api_base_url=f"{server.url}/api/", mode="socket")
    adapter = SlackAdapter(settings, BOT_TOKEN, "", app_token=APP_TOKEN)
    commands = RecordingCommands()
    await adapter.start(commands)
    try:
        envelope = {
            "envelope_id": "env-1", "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"command": "/arxiv", "text": "keywords", "user_id": "UMEMBER", "channel_id": CHANNEL,
                        "channel_name": "papers", "team_id": "T1", "response_url": f"{server.url}/response/s"},
        }
        deadline = time.monotonic() + 10
        while not state.sockets and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        server.call(lambda: asyncio.ensure_future(state.sockets[0].send_json(envelope)))
        while not state.socket_acks and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        await adapter.stop()
    assert adapter.web_routes() == []  # no HTTP endpoint in Socket Mode
    assert [(c.user_id, text) for c, text in commands.calls] == [("UMEMBER", "keywords")]
    (ack,) = state.socket_acks
    assert ack["envelope_id"] == "env-1"
    assert ack["payload"] == {"response_type": "ephemeral", "text": "ok: keywords &lt;done&gt;"}


async def test_the_fake_refuses_what_slack_refuses(slack_api):
    state, server = slack_api
    adapter = _adapter(server)
    message = render_digest_messages(_digest(_real_papers()[:1]))[0]
    oversized = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * (MAX_SECTION_CHARS + 1)}}
    too_many_blocks = dataclasses.replace(message, payload={**message.payload, "blocks": [oversized]})
    too_long_text = dataclasses.replace(message, payload={"text": "y" * 40_001})
    for refused in (too_many_blocks, too_long_text):
        with pytest.raises(FormattingRejected):
            await adapter.send(ChatRef("slack", CHANNEL), refused)
    assert state.rejected == ["invalid_blocks", "msg_too_long"]
    assert state.messages == []


async def test_refused_blocks_are_sent_again_as_plain_text_and_nothing_is_lost(slack_api, store):
    """The outbox's fallback: Slack answers invalid_blocks, the same papers go out once more as plain text."""
    state, server = slack_api
    adapter = _adapter(server)
    chat = store.chats.get_or_create_chat(ChatRef("slack", CHANNEL), Settings().defaults)
    digest = _digest(_real_papers()[:30])
    store.outbox.plan_digest(chat.ref, DAY, digest.plan_entries())
    state.block_errors.extend(["invalid_blocks", "msg_too_long"])
    result = await DigestSender(store).deliver(adapter, chat, digest)
    assert result.outcome == DeliveryOutcome.DELIVERED
    assert result.papers_sent == 30
    assert state.rejected == ["invalid_blocks", "msg_too_long"]
    plain, *rest = state.messages_to(CHANNEL)
    assert "blocks" not in plain
    assert plain["text"].startswith("arXiv digest for Tue 2026-04-21")
    assert len(rest) == 1
    assert "blocks" not in rest[0]
    assert digest.papers[24].paper.abs_url in rest[0]["text"]
    assert store.outbox.delivered_ids(chat.ref) == {s.paper.arxiv_id for s in digest.papers}


def _button_press(value: str, user: str, channel: str, response_url: str) -> str:
    """A block_actions payload as Slack posts it when someone presses a button under a message."""
    payload = {
        "type": "block_actions", "team": {"id": "T1"}, "user": {"id": user}, "api_app_id": "A1", "token": "t",
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": channel},
        "channel": {"id": channel, "name": "papers"}, "trigger_id": "1.2.3", "response_url": response_url,
        "actions": [{"type": "button", "action_id": "save" if value.startswith("sv:") else f"feedback{value[3:5]}",
                     "block_id": "feedback-1", "value": value,
                     "text": {"type": "plain_text", "text": "1 👍"}, "action_ts": "1700000001.000001"}],
    }
    return urlencode({"payload": json.dumps(payload)})


async def test_feedback_buttons_under_each_paper_reach_the_store(slack_api, store):
    state, server = slack_api
    adapter = _adapter(server, events=StoreEvents(store))
    chat = store.chats.get_or_create_chat(ChatRef("slack", CHANNEL), Settings().defaults).ref
    store.papers.store_announcement(DAY, _real_papers())
    digest = _digest(_real_papers()[:3])
    (message,) = render_digest_messages(digest)
    values = [e["value"] for b in message.payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    first = digest.papers[0].paper.arxiv_id
    assert values[:3] == [f"fb:+1:{first}", f"fb:-1:{first}", f"sv:{first}"]
    assert len(values) == 9
    await adapter.start(RecordingCommands())
    async with serve_asgi(Starlette(routes=adapter.web_routes())) as base:
        pressed = await _post(base, body := _button_press(values[0], "UMEMBER", CHANNEL, f"{server.url}/response/fb"),
                              _signed(body))
        forged = await _post(base, body := _button_press(values[1], "UEVIL", CHANNEL, f"{server.url}/response/x"),
                             _signed(body, secret="forged-secret"))
        deadline = time.monotonic() + 10
        while not state.responses and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    await adapter.stop()
    assert pressed.status_code == 200
    assert forged.status_code == 401
    assert store.outbox.feedback_totals(chat) == {first: 1}
    assert store.chats.require_chat(chat).learned  # the press taught the chat's ranking (core/feedback.py)
    assert state.responses[0]["text"] == "Noted 👍 Thanks!"
    assert state.responses[0]["response_type"] == "ephemeral"


async def test_the_save_button_puts_the_paper_on_the_reading_list(slack_api, store):
    state, server = slack_api
    adapter = _adapter(server, events=StoreEvents(store))
    chat = store.chats.get_or_create_chat(ChatRef("slack", CHANNEL), Settings().defaults).ref
    store.papers.store_announcement(DAY, _real_papers())
    (message,) = render_digest_messages(_digest(_real_papers()[:2]))
    saves = [e for b in message.payload["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "save"]
    assert [e["text"]["text"] for e in saves] == ["1 🔖", "2 🔖"]
    await adapter.start(RecordingCommands())
    async with serve_asgi(Starlette(routes=adapter.web_routes())) as base:
        pressed = await _post(base, body := _button_press(saves[1]["value"], "UMEMBER", CHANNEL, f"{server.url}/response/sv"),
                              _signed(body))
        await _until(lambda: state.responses)
    await adapter.stop()
    assert pressed.status_code == 200
    assert state.responses[0]["text"] == SAVE_THANKS
    second = _real_papers()[1].arxiv_id
    assert [entry.paper.arxiv_id for entry in store.saved.saved_papers(chat)] == [second]
    assert store.outbox.feedback_totals(chat) == {second: 1}


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


BIB = Attachment("arxiv-papers.bib", "@misc{a2026_2604.00001,\n  title = {A & B <x>},\n  eprint = {2604.00001}\n}\n", "application/x-bibtex")


async def test_a_reply_file_is_uploaded_to_the_channel_or_shown_as_text_where_the_bot_is_not(slack_api):
    state, server = slack_api
    adapter = _adapter(server)
    await adapter.start(RecordingCommands(Reply("BibTeX of 1 paper (arxiv-papers.bib).", attachment=BIB)))
    async with serve_asgi(Starlette(routes=adapter.web_routes())) as base:
        await _post(base, body := _slash("bibtex", "UMEMBER", CHANNEL, f"{server.url}/response/f"), _signed(body))
        await _until(lambda: state.files)
        state.channel_errors["C0OUT"] = "not_in_channel"
        await _post(base, body := _slash("bibtex", "UMEMBER", "C0OUT", f"{server.url}/response/g"), _signed(body))
        await _until(lambda: len([r for r in state.responses if r["key"] == "g"]) == 2)
    await adapter.stop()
    [shared] = state.files
    assert shared == {"channel": CHANNEL, "filename": "arxiv-papers.bib", "title": "arxiv-papers.bib", "content": BIB.content.encode()}
    assert [r["text"] for r in state.responses if r["key"] == "f"] == ["BibTeX of 1 paper (arxiv-papers.bib)."]
    text, fallback = [r["text"] for r in state.responses if r["key"] == "g"]
    assert text == "BibTeX of 1 paper (arxiv-papers.bib)."
    assert fallback.startswith("```--- arxiv-papers.bib ---")
    assert "A &amp; B &lt;x&gt;" in fallback
    assert fallback.endswith("```")
