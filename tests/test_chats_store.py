"""The chats mixin: creation from defaults, terms (case-insensitive, ordered, limited), moves, feed tokens."""
from __future__ import annotations

import datetime as dt

import pytest

from core.config import DefaultsSettings
from core.models import ChatRef, DeliverySchedule, Keyword
from core.store.chats import ChatNotFound, ScheduledChat, TooManyTerms

DEFAULTS = DefaultsSettings(
    categories=("cs.CL", "cs.LG"),
    keywords=("LLM", {"term": "RLHF", "weight": 2}),
    exclude=("survey",),
    timezone="Europe/Berlin",
    delivery_time=dt.time(7, 30),
    max_papers=12,
)
CHAT = ChatRef("telegram", "-100123")


def test_new_chat_starts_from_defaults_with_a_feed_token(store):
    chat = store.chats.get_or_create_chat(CHAT, DEFAULTS, title="Reading group", kind="group")
    assert chat.keywords == (Keyword("LLM"), Keyword("RLHF", 2.0))
    assert chat.excludes == ("survey",)
    assert chat.categories == ("cs.CL", "cs.LG")
    assert (chat.timezone, chat.delivery_time, chat.max_papers) == ("Europe/Berlin", dt.time(7, 30), 12)
    assert (chat.title, chat.kind, chat.active, chat.paused) == ("Reading group", "group", True, False)
    assert len(chat.feed_token) >= 32
    assert store.chats.get_or_create_chat(CHAT, DEFAULTS) == chat
    assert store.chats.chat_by_feed_token(chat.feed_token) == chat
    assert store.chats.chat_by_feed_token("") is None
    assert store.chats.chat_by_feed_token("guess") is None


def test_feed_tokens_differ_and_reset_revokes_the_old_one(store):
    first = store.chats.get_or_create_chat(CHAT, DEFAULTS)
    other = store.chats.get_or_create_chat(ChatRef("discord", "42"), DEFAULTS)
    assert first.feed_token != other.feed_token
    new_token = store.chats.reset_feed_token(CHAT)
    assert new_token != first.feed_token
    assert store.chats.chat_by_feed_token(first.feed_token) is None
    assert store.chats.chat_by_feed_token(new_token).ref == CHAT


def test_terms_are_unique_ignoring_case_and_keep_their_order(store):
    store.chats.get_or_create_chat(CHAT, DEFAULTS)
    added, updated = store.chats.add_terms(CHAT, "keyword", [("llm", 3.0), ("Mixture of Experts", 1.0), ("ÄRGER", 1.0)])
    assert added == ["Mixture of Experts", "ÄRGER"]
    assert updated == ["llm"]
    store.chats.add_terms(CHAT, "keyword", [("ärger", 2.0)])
    chat = store.chats.get_chat(CHAT)
    assert chat.keywords == (Keyword("LLM", 3.0), Keyword("RLHF", 2.0), Keyword("Mixture of Experts"), Keyword("ÄRGER", 2.0))
    assert store.chats.remove_terms(CHAT, "keyword", ["MIXTURE OF EXPERTS", "absent"]) == ["Mixture of Experts"]


def test_limit_exactly_reached_is_fine_one_more_writes_nothing(store):
    store.chats.get_or_create_chat(CHAT, DEFAULTS)  # 2 keywords
    store.chats.add_terms(CHAT, "keyword", [("a", 1.0), ("b", 1.0), ("llm", 2.0)], limit=4)
    assert len(store.chats.get_chat(CHAT).keywords) == 4
    with pytest.raises(TooManyTerms) as refused:
        store.chats.add_terms(CHAT, "keyword", [("c", 1.0), ("a", 5.0)], limit=4)
    assert (refused.value.current, refused.value.adding, refused.value.limit) == (4, 1, 4)
    assert Keyword("a", 1.0) in store.chats.get_chat(CHAT).keywords  # the weight update was not applied either


def test_update_active_and_paused_listing(store):
    store.chats.get_or_create_chat(CHAT, DEFAULTS)
    paused = ChatRef("slack", "C1")
    store.chats.get_or_create_chat(paused, DEFAULTS)
    store.chats.update_chat(paused, paused=True, timezone="Pacific/Kiritimati", delivery_time=dt.time(23, 59))
    assert [c.ref for c in store.chats.active_chats()] == [CHAT]
    assert {c.ref for c in store.chats.active_chats(include_paused=True)} == {CHAT, paused}
    assert store.chats.get_chat(paused).delivery_time == dt.time(23, 59)
    store.chats.set_active(CHAT, False)
    assert store.chats.active_chats() == []
    with pytest.raises(ValueError):
        store.chats.update_chat(CHAT, feed_token="chosen")


def test_move_chat_keeps_settings_and_replaces_a_default_chat_at_the_new_id(store):
    store.chats.get_or_create_chat(CHAT, DEFAULTS)
    store.chats.add_terms(CHAT, "author", [("Ada Lovelace", 1.0)])
    new = ChatRef("telegram", "-100999")
    store.chats.get_or_create_chat(new, DEFAULTS)
    store.chats.move_chat(CHAT, new)
    assert store.chats.get_chat(CHAT) is None
    assert store.chats.get_chat(new).authors == ("Ada Lovelace",)
    assert store.chats.count_chats() == 1
    with pytest.raises(ChatNotFound):
        store.chats.move_chat(CHAT, new)


def test_configurer_is_the_first_who_changed_settings(store):
    store.chats.get_or_create_chat(CHAT, DEFAULTS)
    assert store.chats.chat_configurer(CHAT) == ""
    store.chats.note_configurer(CHAT, "U1")
    store.chats.note_configurer(CHAT, "U2")
    assert store.chats.chat_configurer(CHAT) == "U1"


def test_chats_by_ref_loads_exactly_the_asked_chats_with_their_terms(store):
    wanted = [CHAT, ChatRef("discord", "7")]
    for ref in (*wanted, ChatRef("slack", "C9")):
        store.chats.get_or_create_chat(ref, DEFAULTS)
    store.chats.add_terms(wanted[1], "author", [("Ada Lovelace", 1.0)])
    store.chats.add_terms(wanted[1], "keyword", [("mixture of experts", 2.0)])
    store.chats.set_active(wanted[1], False)  # loaded by ref whatever its state
    loaded = store.chats.chats_by_ref([*wanted, ChatRef("telegram", "unknown")])
    assert loaded == {ref: store.chats.get_chat(ref) for ref in wanted}
    assert loaded[wanted[1]].authors == ("Ada Lovelace",) and Keyword("mixture of experts", 2.0) in loaded[wanted[1]].keywords
    assert store.chats.chats_by_ref([]) == {}


def test_schedules_hold_each_active_chats_schedule_and_what_it_was_served(store):
    days = [dt.date(2026, 9, 21), dt.date(2026, 9, 22), dt.date(2026, 9, 23)]
    store.chats.get_or_create_chat(CHAT, DEFAULTS)
    weekly = store.chats.update_chat(CHAT, schedule="weekly", weekly_day=1, paused=True, days=(0, 2))
    for day in days:
        store.outbox.skip_digest_day(CHAT, day)
    fresh = store.chats.get_or_create_chat(ChatRef("discord", "7"), DEFAULTS)
    store.chats.get_or_create_chat(ChatRef("slack", "C9"), DEFAULTS)
    store.chats.set_active(ChatRef("slack", "C9"), False)
    created = dt.datetime(2026, 9, 24, 12, 0, tzinfo=dt.timezone.utc)
    assert store.chats.schedules(days[1]) == [
        ScheduledChat(CHAT, True, weekly.delivery_schedule, created, days[0], days[2], frozenset(days[1:])),
        ScheduledChat(fresh.ref, False, fresh.delivery_schedule, created, None, None, frozenset()),
    ]
    assert weekly.delivery_schedule == DeliverySchedule("Europe/Berlin", dt.time(7, 30), (0, 2), "weekly", 1)
