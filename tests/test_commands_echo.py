"""Replies that quote the user's text quote it safely (one sanitizer), and a search with no word to look up says so."""
from __future__ import annotations

import unicodedata

import pytest

from adapters.telegram import TelegramAdapter
from core.config import TelegramSettings
from core.echo import ECHO_MAX_CHARS, echoed
from core.store import Store
from tests.commands_support import FakeServices, context, fixture_papers, processor
from tests.fakes.telegram import FakeTelegram

RLO = "\u202e"  # right-to-left override: reverses what follows it
SURROGATE = "\udfff"  # a lone surrogate: no encoding can carry it
HOSTILE = f"ab{RLO}cd{SURROGATE}e\x07f\x1b[31m"


def unsafe_characters(text: str) -> list[str]:
    """Characters a reply must not carry from user input: controls (but line breaks), format characters, surrogates."""
    return [hex(ord(c)) for c in text if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs")]


def test_echoed_drops_surrogates_bidi_and_control_characters_and_cuts_long_input() -> None:
    assert echoed(HOSTILE) == "abcdef[31m"
    assert echoed("  two\twords\n") == "two words"
    assert echoed("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"  # a joined emoji keeps its joiners
    cut = echoed("x" * 100)
    assert len(cut) == ECHO_MAX_CHARS
    assert cut.endswith("…")


@pytest.mark.parametrize(
    "command",
    [
        f"search {HOSTILE}",
        f"time {HOSTILE} x",
        f"time 08:30 {HOSTILE}",
        f"exclude survey:{HOSTILE}",
        f"authors add Ada Lovelace:{HOSTILE}",
        f"minscore {HOSTILE}",
        f"max {HOSTILE}",
        f"categories {HOSTILE}",
        f"categories list {HOSTILE}",
        f"subscribe {HOSTILE}",
        f"subscribe diffusion, {HOSTILE}",
        f"subscribe diffusion, rl:{HOSTILE}",
        f"pause {HOSTILE}",
        f"digest {HOSTILE}",
        f"feed {HOSTILE}",
        f"{HOSTILE}",
    ],
)
async def test_replies_quote_user_text_without_unsafe_characters(store: Store, command: str) -> None:
    reply = await processor(store, FakeServices()).handle(context(), command)
    assert unsafe_characters(reply.text) == [], reply.text
    reply.text.encode("utf-8")  # what every platform's client does first; a surrogate made it raise


@pytest.mark.parametrize("query", ["😀", "*", RLO, "😀 * ?"])
async def test_a_search_with_nothing_to_look_up_says_so(store: Store, query: str, caplog: pytest.LogCaptureFixture) -> None:
    services = FakeServices(search_results=fixture_papers())
    reply = await processor(store, services).handle(context(), f"search {query}")
    assert not reply.ok
    assert "nothing to search for" in reply.text
    assert services.searches == []
    assert not [record for record in caplog.records if record.exc_info]


async def test_telegram_answers_a_time_with_a_lone_surrogate(store: Store) -> None:
    """The audit's repro: `/time \\udfff x` made the Telegram renderer fail, so no reply was sent at all."""
    async with FakeTelegram(long_poll_hold=0.2).serve() as fake:
        adapter = TelegramAdapter(fake.token, TelegramSettings(api_base_url=fake.api_base_url, mode="polling"))
        await adapter.start(processor(store, FakeServices()).handle)
        try:
            fake.type_message(7, 7, f"/time {SURROGATE}{RLO} x")
            [reply] = await fake.wait_for(1, 7, timeout=20)
        finally:
            await adapter.stop()
    assert "is not a time" in reply.visible
    assert unsafe_characters(reply.visible) == []
