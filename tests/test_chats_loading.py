"""Loading many chats at once (the tick's due chats, active_chats) gives each chat exactly what it stored: terms of
every kind in their order with their weights, aliases turned off by `plain` terms, schedules; equal values shared."""
from __future__ import annotations

import datetime as dt

from core.models import WEEKLY, ChatRef, Keyword
from core.store import chats as chats_module
from tests.test_chats_store import DEFAULTS


def _varied_chats(store) -> dict[ChatRef, dict]:
    """Chats whose stored settings differ in every way loading reads; returns what each should load as."""
    expected: dict[ChatRef, dict] = {}
    for number in range(7):
        ref = ChatRef("telegram" if number % 2 else "discord", str(number))
        store.chats.get_or_create_chat(ref, DEFAULTS, title=f"chat {number}")
        expected[ref] = {
            "keywords": (Keyword("LLM"), Keyword("RLHF", 2.0)),
            "excludes": ("survey",),
            "categories": ("cs.CL", "cs.LG"),
            "authors": (),
            "learned": (),
            "delivery_time": dt.time(7, 30),
            "schedule": "daily",
        }
    refs = list(expected)
    # Weights that are not short decimals, terms re-added after a removal (a later position), case updates.
    store.chats.add_terms(refs[0], "keyword", [("mixture of experts", 1 / 3), ("Zebra", 0.1 + 0.2), ("alpha", 1.5)])
    store.chats.remove_terms(refs[0], "keyword", ["llm"])
    store.chats.add_terms(refs[0], "keyword", [("LLM", 4.0)])
    expected[refs[0]]["keywords"] = (
        Keyword("RLHF", 2.0), Keyword("mixture of experts", 1 / 3), Keyword("Zebra", 0.1 + 0.2), Keyword("alpha", 1.5),
        Keyword("LLM", 4.0),
    )
    # Aliases off for some keywords (any spelling), learned words, authors, no categories of its own.
    store.chats.add_terms(refs[1], "plain", [("llm", 1.0)])
    store.chats.add_terms(refs[1], "learned", [("planning", 0.1), ("agents", 0.25)])
    store.chats.add_terms(refs[1], "author", [("Ada Lovelace", 1.0), ("Émile Borel", 1.0)])
    store.chats.replace_terms(refs[1], "category", [])
    expected[refs[1]].update(
        keywords=(Keyword("LLM", aliases=False), Keyword("RLHF", 2.0)),
        learned=(Keyword("planning", 0.1), Keyword("agents", 0.25)),
        authors=("Ada Lovelace", "Émile Borel"),
        categories=(),
    )
    # Nothing at all, and a weekly schedule at another time.
    for kind in ("keyword", "exclude", "category"):
        store.chats.replace_terms(refs[2], kind, [])
    store.chats.update_chat(refs[2], schedule=WEEKLY, weekly_day=2, delivery_time=dt.time(18, 5), paused=True)
    expected[refs[2]].update(keywords=(), excludes=(), categories=(), delivery_time=dt.time(18, 5), schedule=WEEKLY)
    # The same keywords as a default chat, in another order.
    store.chats.replace_terms(refs[3], "keyword", [("RLHF", 2.0), ("LLM", 1.0)])
    expected[refs[3]]["keywords"] = (Keyword("RLHF", 2.0), Keyword("LLM"))
    return expected


def test_many_chats_load_as_they_were_stored_across_batches(store, monkeypatch):
    expected = _varied_chats(store)
    monkeypatch.setattr(chats_module, "LOAD_BATCH_CHATS", 3)  # 7 chats: three batches, terms read per batch
    loaded = store.chats.chats_by_ref(expected)
    assert set(loaded) == set(expected)
    for ref, fields in expected.items():
        chat = loaded[ref]
        assert {name: getattr(chat, name) for name in fields} == fields, ref
        assert chat == store.chats.get_chat(ref)  # one chat alone loads the same
    assert store.chats.active_chats(include_paused=True) == sorted(loaded.values(), key=lambda chat: list(expected).index(chat.ref))


def test_equal_values_are_one_object_across_chats(store):
    expected = _varied_chats(store)
    loaded = list(store.chats.chats_by_ref(expected).values())
    plain = [chat for chat in loaded if chat.keywords == (Keyword("LLM"), Keyword("RLHF", 2.0))]
    assert len(plain) >= 3
    assert all(chat.keywords is plain[0].keywords and chat.categories is plain[0].categories for chat in plain)
    assert all(chat.delivery_time is plain[0].delivery_time for chat in plain)
    reordered = next(chat for chat in loaded if chat.keywords == (Keyword("RLHF", 2.0), Keyword("LLM")))
    assert reordered.keywords[0] is plain[0].keywords[1]  # the same Keyword, in another chat's order
