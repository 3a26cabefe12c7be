"""Hypothesis-generated garbage never raises out of CommandProcessor.handle: there is always a Reply."""
from __future__ import annotations

import asyncio
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.commands import APOLOGY, COMMAND_SPECS, CommandProcessor
from core.limits import MAX_CATEGORIES_PER_CHAT, MAX_KEYWORDS_PER_CHAT
from core.models import Reply
from core.store import Store
from tests.commands_support import CHAT, SETTINGS, FakeServices, context, digest_of, fixture_papers

NAMES = [spec.name for spec in COMMAND_SPECS] + ["", "/", "@bot", "Subscribe", "categories add", "authors remove"]
PIECES = st.sampled_from(['"', "\u201c", ":", ",", ":2", "cs.AI", "08:30", "Europe/Berlin", "on", "off", "-1", "1e309",
                          "nan", "reset", "add", "remove", "list", "\x00", "\ud800", " ", "\n", "k" * 70])
ARGUMENTS = st.one_of(st.text(max_size=80), st.lists(PIECES, max_size=12).map("".join))


# One store and one loop for all examples: state accumulates like a real chat's, and it keeps the test fast.
STORE = Store(":memory:", clock=lambda: dt.datetime(2026, 9, 24, 12, 0, tzinfo=dt.timezone.utc))
LOOP = asyncio.new_event_loop()
SERVICES = FakeServices(digest=digest_of(fixture_papers()[:2]), search_results=fixture_papers()[:2])
COMMANDS = CommandProcessor(STORE, SETTINGS, SERVICES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), arguments=ARGUMENTS, can_change=st.booleans())
def test_garbage_always_gets_a_reply(name, arguments, can_change):
    reply = LOOP.run_until_complete(COMMANDS.handle(context(can_change), f"{name} {arguments}"))
    assert isinstance(reply, Reply)
    assert reply.text.strip()
    assert reply.text != APOLOGY  # garbage is the user's mistake, answered as such, not an internal failure
    chat = STORE.chats.get_chat(CHAT)
    if chat is not None:
        assert len(chat.keywords) <= MAX_KEYWORDS_PER_CHAT
        assert 1 <= len(chat.categories) <= MAX_CATEGORIES_PER_CHAT


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_at_all_gets_a_reply(text):
    reply = LOOP.run_until_complete(COMMANDS.handle(context(), text))
    assert isinstance(reply, Reply)
    assert reply.text.strip()
    assert reply.text != APOLOGY  # garbage is the user's mistake, answered as such, not an internal failure
