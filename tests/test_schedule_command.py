"""`schedule daily|weekly [DAY]`: what it stores, what it answers, and clear refusals that change nothing."""
from __future__ import annotations

import pytest

from core.commands.parsing import parse_weekday
from tests.commands_support import CHAT, FakeServices, context, processor


async def run(store, text, can_change=True):
    return await processor(store, FakeServices()).handle(context(can_change), text)


async def test_weekly_with_a_day_then_without_keeps_the_day_and_daily_switches_back(store):
    assert (await run(store, "schedule")).text.startswith("Digests arrive at 08:00 UTC.")
    reply = await run(store, "schedule weekly Mon")
    assert reply.ok
    assert reply.text.startswith("Digests will arrive weekly on Mondays at 08:00 UTC.")
    assert "Next weekly digest: Fri 2026-09-25 08:00 UTC" in reply.text  # FakeServices' canned next delivery
    chat = store.chats.get_chat(CHAT)
    assert (chat.schedule, chat.weekly_day) == ("weekly", 0)
    await run(store, "schedule daily")
    await run(store, "schedule WEEKLY")
    assert (store.chats.get_chat(CHAT).schedule, store.chats.get_chat(CHAT).weekly_day) == ("weekly", 0)
    assert "Delivery: weekly on Mondays at 08:00 UTC" in (await run(store, "keywords")).text
    assert (await run(store, "schedule")).text.startswith("Digests arrive weekly on Mondays at 08:00 UTC.")


async def test_a_new_chat_going_weekly_gets_friday(store):
    await run(store, "schedule weekly")
    assert (store.chats.get_chat(CHAT).schedule, store.chats.get_chat(CHAT).weekly_day) == ("weekly", 4)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("schedule hourly", '"hourly" is not a schedule: say daily or weekly. Usage: schedule [daily|weekly] [DAY]'),
        ("schedule weekly someday", '"someday" is not a weekday: say monday to sunday, or mon to sun.'),
        ("schedule weekly mo", '"mo" is not a weekday'),
        ("schedule daily friday", "A daily digest comes every announcement day: only weekly takes a DAY."),
        ("schedule weekly fri 08:00", "Usage: schedule [daily|weekly] [DAY]"),
        ("schedule friday", '"friday" is not a schedule'),
    ],
)
async def test_bad_input_gets_one_clear_line_and_changes_nothing(store, text, answer):
    await run(store, "schedule weekly tue")
    before = store.chats.get_chat(CHAT)
    refused = await run(store, text)
    assert not refused.ok
    assert answer in refused.text
    assert "\n" not in refused.text
    assert store.chats.get_chat(CHAT) == before


async def test_only_admins_change_the_schedule(store):
    refused = await run(store, "schedule weekly", can_change=False)
    assert not refused.ok
    assert "admins" in refused.text
    assert store.chats.get_chat(CHAT) is None


def test_weekday_names_and_abbreviations():
    assert [parse_weekday(word) for word in ("monday", "Tue", "wed.", "THURS", "fri", "saturday", "sun")] == list(range(7))
    assert [parse_weekday(word) for word in ("", "m", "fr", "fryday", "7")] == [None] * 5
