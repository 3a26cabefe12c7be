"""The outbox store: planning is atomic and idempotent, a paper reaches a chat at most once, updates re-plan."""
from __future__ import annotations

import datetime as dt

import pytest

from core.models import ChatRef, DigestPlan, PlanEntry
from core.store.outbox import PLAN_ROWS_PER_STATEMENT, DamagedPlan, DayStatus, OpenDay
from tests.delivery_support import new_chat
from tests.recording_adapter import make_paper

DAY = dt.date(2026, 9, 24)
NEXT_DAY = dt.date(2026, 9, 25)


def _entries(*papers):
    return [PlanEntry(paper.arxiv_id, paper.version, 5.0) for paper in papers]


def _plan(*papers):
    return DigestPlan.of(_entries(*papers))


def test_plan_writes_pending_rows_once(store):
    chat = new_chat(store, "1")
    planned = store.outbox.plan_digest(chat.ref, DAY, _entries(make_paper("2609.00001"), make_paper("2609.00002")))
    assert planned == ["2609.00001", "2609.00002"]
    again = store.outbox.plan_digest(chat.ref, DAY, _entries(make_paper("2609.00003")))
    assert again == ["2609.00001", "2609.00002"]
    assert store.outbox.digest_day_status(chat.ref, DAY) == DayStatus.PLANNED
    assert store.outbox.open_digest_days() == [OpenDay(chat.ref, DAY, header_sent=False)]


def test_sent_paper_is_never_planned_again_but_a_newer_version_is(store):
    chat = new_chat(store, "1")
    store.outbox.plan_digest(chat.ref, DAY, _entries(make_paper("2609.00001")))
    store.outbox.mark_sent(chat.ref, ["2609.00001"], "m1")
    store.outbox.finish_digest_day(chat.ref, DAY)
    same = store.outbox.plan_digest(chat.ref, NEXT_DAY, _entries(make_paper("2609.00001", announce_type="cross")))
    assert same == []
    assert store.outbox.digest_day_status(chat.ref, NEXT_DAY) == DayStatus.EMPTY
    later = DAY + dt.timedelta(days=4)
    update = store.outbox.plan_digest(chat.ref, later, _entries(make_paper("2609.00001", version=2, announce_type="replace")))
    assert update == ["2609.00001"]
    assert [(row.arxiv_id, row.version) for row in store.outbox.pending_papers(chat.ref, later)] == [("2609.00001", 2)]
    assert store.outbox.delivered_ids(chat.ref) == {"2609.00001"}


def test_pending_from_another_day_is_not_planned_twice(store):
    chat = new_chat(store, "1")
    store.outbox.plan_digest(chat.ref, DAY, _entries(make_paper("2609.00001")))
    assert store.outbox.plan_digest(chat.ref, NEXT_DAY, _entries(make_paper("2609.00001"))) == []


def test_header_and_finish_move_the_day_forward(store):
    chat = new_chat(store, "1")
    store.outbox.plan_digest(chat.ref, DAY, _entries(make_paper("2609.00001")))
    store.outbox.mark_header_sent(chat.ref, DAY)
    assert store.outbox.digest_day_status(chat.ref, DAY) == DayStatus.SENDING
    assert store.outbox.open_digest_days()[0].header_sent
    store.outbox.mark_sent(chat.ref, ["2609.00001"], "m2")
    store.outbox.finish_digest_day(chat.ref, DAY)
    assert store.outbox.open_digest_days() == []
    stats = store.outbox.delivery_stats(chat.ref)
    assert (stats.papers_sent, stats.papers_pending, stats.digests_delivered, stats.last_digest_day) == (1, 0, 1, DAY)


def test_give_up_fails_pending_rows_and_they_may_come_back(store):
    chat = new_chat(store, "1")
    store.outbox.plan_digest(chat.ref, DAY, _entries(make_paper("2609.00001"), make_paper("2609.00002")))
    store.outbox.mark_sent(chat.ref, ["2609.00001"], "m1")
    store.outbox.give_up_deliveries(chat.ref, "chat gone")
    assert store.outbox.digest_day_status(chat.ref, DAY) == DayStatus.FAILED
    assert store.outbox.delivery_stats(chat.ref).papers_failed == 1
    assert store.outbox.delivered_ids(chat.ref) == {"2609.00001"}
    again = store.outbox.plan_digest(chat.ref, NEXT_DAY, _entries(make_paper("2609.00002")))
    assert again == ["2609.00002"]


def test_failed_attempts_are_counted(store):
    chat = new_chat(store, "1")
    store.outbox.plan_digest(chat.ref, DAY, _entries(make_paper("2609.00001")))
    assert store.outbox.note_failed_attempt(chat.ref, ["2609.00001"], "timeout") == 1
    assert store.outbox.note_failed_attempt(chat.ref, ["2609.00001"], "timeout") == 2
    assert store.outbox.pending_papers(chat.ref, DAY)[0].attempts == 2


def test_delivered_on_day_and_skipped_days(store):
    first, second = new_chat(store, "1"), new_chat(store, "2")
    store.papers.store_announcement(DAY, [make_paper("2609.00001"), make_paper("2609.00002")])
    store.outbox.plan_digest(first.ref, DAY, _entries(make_paper("2609.00001")))
    store.outbox.skip_digest_day(second.ref, DAY)
    # The next day one of them is announced again (a cross-list), with a paper new that day.
    store.papers.store_announcement(NEXT_DAY, [make_paper("2609.00001"), make_paper("2609.00003")])
    assert store.outbox.delivered_on_day(NEXT_DAY) == {first.ref: {"2609.00001"}}
    assert store.outbox.delivered_on_day(DAY) == {}, "a paper first announced that day is only in that day's digests"
    assert store.outbox.digest_day_status(second.ref, DAY) == DayStatus.PAUSED
    assert store.outbox.digest_days(DAY) == {first.ref: (DAY, {DAY}), second.ref: (DAY, {DAY})}
    assert store.outbox.digest_days(NEXT_DAY) == {first.ref: (DAY, set()), second.ref: (DAY, set())}
    store.outbox.skip_digest_day(first.ref, DAY)
    assert store.outbox.digest_day_status(first.ref, DAY) == DayStatus.PLANNED
    assert store.outbox.delivery_stats().papers_pending == 1
    store.outbox.finish_digest_day(first.ref, DAY)


def test_many_chats_plan_in_one_call_and_an_unknown_chat_gets_nothing(store):
    first, second = new_chat(store, "1"), new_chat(store, "2")
    ghost = ChatRef("recording", "gone")
    plans = store.outbox.plan_digests(DAY, {first.ref: _plan(make_paper("2609.00001")), ghost: _plan(make_paper("2609.00002")),
                                     second.ref: _plan(make_paper("2609.00001"), make_paper("2609.00003"))})
    assert plans == {
        first.ref: ["2609.00001"], ghost: [], second.ref: ["2609.00001", "2609.00003"]
    }


def test_feedback_votes_replace_per_reader(store):
    chat = new_chat(store, "1")
    store.outbox.record_feedback(chat.ref, "2609.00001", "u1", 1)
    store.outbox.record_feedback(chat.ref, "2609.00001", "u2", 1)
    store.outbox.record_feedback(chat.ref, "2609.00001", "u1", -1)
    store.outbox.record_feedback(chat.ref, "2609.00002", "u1", 5)
    assert store.outbox.feedback_totals(chat.ref) == {"2609.00001": 0, "2609.00002": 1}


def test_a_batch_is_planned_whole_and_each_claim_leaves_out_what_its_chat_received(store):
    """Planning records every chat's selection as it is; claiming one chat's day (more rows than one statement
    takes) writes its rows in digest order without the paper it already received, and leaves the others' alone."""
    first, second = new_chat(store, "1"), new_chat(store, "2")
    store.outbox.plan_digest(first.ref, DAY, _entries(make_paper("2609.00005")))
    store.outbox.mark_sent(first.ref, ["2609.00005"], "m1")
    many = [make_paper(f"2609.{number:05d}") for number in range(PLAN_ROWS_PER_STATEMENT + 20, 0, -1)]
    plans = store.outbox.plan_digests(NEXT_DAY, {first.ref: _plan(*many), second.ref: _plan(*many[:3])})
    assert plans == {first.ref: [paper.arxiv_id for paper in many], second.ref: [paper.arxiv_id for paper in many[:3]]}
    assert store.outbox.delivery_stats(first.ref).papers_pending == len(many)  # planned, not claimed yet
    claimed = store.outbox.claim_pending(first.ref, NEXT_DAY)
    assert [row.arxiv_id for row in claimed] == [paper.arxiv_id for paper in many if paper.arxiv_id != "2609.00005"]
    assert [row.arxiv_id for row in store.outbox.claim_pending(first.ref, NEXT_DAY)] == [row.arxiv_id for row in claimed]
    assert store.outbox.delivery_stats(first.ref).papers_pending == len(many) - 1
    assert store.db.execute("SELECT COUNT(*) FROM deliveries WHERE chat = 2").fetchone()[0] == 0
    assert [(row.position, row.score) for row in store.outbox.pending_papers(second.ref, NEXT_DAY)] == [(0, 5.0), (1, 5.0), (2, 5.0)]


def test_a_claim_that_finds_everything_received_closes_the_day_as_empty(store):
    chat = new_chat(store, "1")
    store.outbox.plan_digest(chat.ref, DAY, _entries(make_paper("2609.00001")))
    store.outbox.mark_sent(chat.ref, ["2609.00001"], "m1")
    store.outbox.plan_digests(NEXT_DAY, {chat.ref: _plan(make_paper("2609.00001"))})
    assert store.outbox.digest_day_status(chat.ref, NEXT_DAY) == DayStatus.PLANNED
    assert store.outbox.claim_pending(chat.ref, NEXT_DAY) == []
    assert store.outbox.digest_day_status(chat.ref, NEXT_DAY) == DayStatus.EMPTY
    store.outbox.finish_digest_day(chat.ref, NEXT_DAY)  # what the sender does next: the day stays empty
    assert store.outbox.digest_day_status(chat.ref, NEXT_DAY) == DayStatus.EMPTY
    assert NEXT_DAY not in {open_day.announcement_day for open_day in store.outbox.open_digest_days()}


def test_giving_up_an_unclaimed_day_drops_its_selection(store):
    chat = new_chat(store, "1")
    store.outbox.plan_digests(DAY, {chat.ref: _plan(make_paper("2609.00001"), make_paper("2609.00002"))})
    store.outbox.give_up_deliveries(chat.ref, "chat gone")
    assert store.outbox.digest_day_status(chat.ref, DAY) == DayStatus.FAILED
    assert store.outbox.pending_papers(chat.ref, DAY) == []
    assert store.outbox.delivery_stats(chat.ref).papers_pending == 0
    # Nothing of it was delivered: a later day may plan the papers again.
    assert store.outbox.plan_digest(chat.ref, NEXT_DAY, _entries(make_paper("2609.00002"))) == ["2609.00002"]


def test_a_damaged_stored_selection_is_an_error_not_a_wrong_digest(store):
    chat = new_chat(store, "1")
    store.outbox.plan_digests(DAY, {chat.ref: _plan(make_paper("2609.00001"), make_paper("2609.00002"))})
    store.db.execute("UPDATE chat_days SET plan_numbers = substr(plan_numbers, 1, 8)")
    with pytest.raises(DamagedPlan, match="damaged"):
        store.outbox.claim_pending(chat.ref, DAY)
    assert store.db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0


def test_a_failed_paper_is_planned_again_and_a_duplicate_entry_once(store):
    chat = new_chat(store, "1")
    store.outbox.plan_digest(chat.ref, DAY, _entries(make_paper("2609.00001")))
    store.outbox.mark_failed(chat.ref, ["2609.00001"], "rejected")
    again = store.outbox.plan_digest(chat.ref, NEXT_DAY, _entries(make_paper("2609.00001"), make_paper("2609.00001")))
    assert again == ["2609.00001"]
    (row,) = store.outbox.pending_papers(chat.ref, NEXT_DAY)
    assert (row.position, row.attempts) == (0, 0)


def test_a_week_records_its_covered_days_and_an_empty_week_is_closed(store):
    chat, quiet = new_chat(store, "1"), new_chat(store, "2")
    week = (DAY - dt.timedelta(days=1), DAY, NEXT_DAY)
    store.outbox.plan_digests(NEXT_DAY, {chat.ref: _plan(make_paper("2609.00001")), quiet.ref: _plan()}, week)
    assert store.outbox.digest_week(chat.ref, NEXT_DAY) == week
    assert store.outbox.digest_day_status(chat.ref, DAY) == DayStatus.IN_WEEK
    assert store.outbox.digest_day_status(chat.ref, NEXT_DAY) == DayStatus.PLANNED
    assert store.outbox.digest_day_status(quiet.ref, NEXT_DAY) == DayStatus.EMPTY
