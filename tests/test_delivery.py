"""Delivering a planned digest: every confirmed message marks its papers sent; errors back off, deactivate or go plain."""
from __future__ import annotations

import asyncio
import datetime as dt

from adapters.base import ChatGone, DeliveryError, FormattingRejected
from bot.delivery import DeliveryOutcome, DigestSender, MAX_DELIVERY_FAILURES, backoff_seconds
from core.models import DigestPlan
from core.store.outbox import DayStatus
from tests.delivery_support import new_chat
from tests.recording_adapter import RecordingAdapter, make_digest, make_paper

DAY = dt.date(2026, 9, 24)
IDS = [f"2609.0000{n}" for n in range(1, 6)]


def _planned(store, chat_id="1"):
    chat = new_chat(store, chat_id)
    digest = make_digest(DAY, [make_paper(arxiv_id) for arxiv_id in IDS])
    store.outbox.plan_digest(chat.ref, DAY, digest.plan_entries())
    return chat, digest


async def test_digest_goes_out_once_with_header_papers_and_footer(store):
    chat, digest = _planned(store)
    adapter, sender = RecordingAdapter(), DigestSender(store)
    result = await sender.deliver(adapter, chat, digest)
    assert (result.outcome, result.messages_sent, result.papers_sent) == (DeliveryOutcome.DELIVERED, 5, 5)
    assert [m.text for m in adapter.sent][0].startswith("<b>header")
    assert "footer" in adapter.sent[-1].text
    assert adapter.papers_sent_to("1") == IDS
    assert store.outbox.delivery_stats(chat.ref).papers_sent == 5
    assert store.outbox.digest_day_status(chat.ref, DAY) == DayStatus.DONE
    again = await sender.deliver(adapter, chat, digest)
    assert again.outcome == DeliveryOutcome.NOTHING_TO_SEND
    assert len(adapter.sent) == 5


async def test_resume_skips_the_header_and_confirmed_papers(store):
    chat, digest = _planned(store)
    store.outbox.mark_header_sent(chat.ref, DAY)
    store.outbox.mark_sent(chat.ref, IDS[:2], "earlier")
    adapter = RecordingAdapter()
    result = await DigestSender(store).deliver(adapter, chat, digest)
    assert result.outcome == DeliveryOutcome.DELIVERED
    assert adapter.papers_sent_to("1") == IDS[2:]
    assert not any(m.text.startswith("<b>header") for m in adapter.sent)


async def test_short_retry_after_is_waited_out_in_place(store):
    chat, digest = _planned(store)
    adapter = RecordingAdapter(failures={2: DeliveryError("flood", retry_after=0.01), 3: DeliveryError("flood", 0.01)})
    result = await DigestSender(store).deliver(adapter, chat, digest)
    assert result.outcome == DeliveryOutcome.DELIVERED
    assert adapter.papers_sent_to("1") == IDS


async def test_long_retry_after_defers_and_resumes_without_duplicates(store):
    chat, digest = _planned(store)
    now = store.now()
    adapter = RecordingAdapter(failures={3: DeliveryError("rate limited", retry_after=120)})
    sender = DigestSender(store)
    first = await sender.deliver(adapter, chat, digest)
    assert first.outcome == DeliveryOutcome.DEFERRED
    assert first.retry_at == now + dt.timedelta(seconds=120)
    assert not sender.ready(chat.ref, DAY, now + dt.timedelta(seconds=119))
    assert sender.ready(chat.ref, DAY, now + dt.timedelta(seconds=120))
    assert store.outbox.digest_day_status(chat.ref, DAY) == DayStatus.SENDING
    assert [row.attempts for row in store.outbox.pending_papers(chat.ref, DAY)][:2] == [1, 1]
    second = await sender.deliver(adapter, chat, digest)
    assert second.outcome == DeliveryOutcome.DELIVERED
    assert adapter.papers_sent_to("1") == IDS
    assert sum(m.text.startswith("<b>header") for m in adapter.sent) == 1


async def test_transient_errors_back_off_then_give_up(store):
    chat, digest = _planned(store)
    failures = {n: DeliveryError("timeout") for n in range(2, 2 + MAX_DELIVERY_FAILURES)}
    adapter, sender = RecordingAdapter(failures=failures), DigestSender(store)
    outcomes = [(await sender.deliver(adapter, chat, digest)).outcome for _ in range(MAX_DELIVERY_FAILURES)]
    assert outcomes == [DeliveryOutcome.DEFERRED] * (MAX_DELIVERY_FAILURES - 1) + [DeliveryOutcome.GAVE_UP]
    assert store.outbox.digest_day_status(chat.ref, DAY) == DayStatus.FAILED
    assert store.outbox.delivery_stats(chat.ref).papers_failed == 5
    assert backoff_seconds(1, None) == 30
    assert backoff_seconds(3, None) == 120
    assert backoff_seconds(1, 500) == 500


async def test_a_digest_that_keeps_moving_is_never_given_up(store):
    """A group's 20 messages/minute answer every other send with a long wait: each attempt still gets one out."""
    chat = new_chat(store, "1")
    papers = [make_paper(f"2609.{n:05d}") for n in range(2 * MAX_DELIVERY_FAILURES)]
    digest = make_digest(DAY, papers)
    store.outbox.plan_digest(chat.ref, DAY, digest.plan_entries())
    flood = DeliveryError("flood limit", retry_after=40)
    adapter = RecordingAdapter(papers_per_message=1, failures={n: flood for n in range(3, 200, 2)})
    sender = DigestSender(store)
    outcomes = []
    while not outcomes or outcomes[-1] == DeliveryOutcome.DEFERRED:
        outcomes.append((await sender.deliver(adapter, chat, digest)).outcome)
    assert outcomes[-1] == DeliveryOutcome.DELIVERED
    assert len(outcomes) > MAX_DELIVERY_FAILURES
    assert store.outbox.delivered_ids(chat.ref) == {paper.arxiv_id for paper in papers}


async def test_chat_gone_deactivates_and_stops(store):
    chat, digest = _planned(store)
    adapter = RecordingAdapter(failures={3: ChatGone("bot was blocked by the user")})
    result = await DigestSender(store).deliver(adapter, chat, digest)
    assert result.outcome == DeliveryOutcome.CHAT_GONE
    assert len(adapter.sent) == 2
    assert store.chats.get_chat(chat.ref).active is False
    assert store.outbox.digest_day_status(chat.ref, DAY) == DayStatus.FAILED
    stats = store.outbox.delivery_stats(chat.ref)
    assert (stats.papers_sent, stats.papers_failed, stats.papers_pending) == (2, 3, 0)


async def test_formatting_rejected_is_resent_once_as_plain_text(store):
    chat, digest = _planned(store)
    adapter = RecordingAdapter(failures={2: FormattingRejected("can't parse entities")})
    result = await DigestSender(store).deliver(adapter, chat, digest)
    assert result.outcome == DeliveryOutcome.DELIVERED
    plain = [m for m in adapter.sent if m.plain]
    assert [m.text for m in plain] == [" ".join(IDS[:2])]
    assert adapter.papers_sent_to("1") == IDS


async def test_formatting_rejected_twice_fails_only_that_message(store):
    chat, digest = _planned(store)
    adapter = RecordingAdapter(failures={2: FormattingRejected("bad"), 3: FormattingRejected("still bad")})
    result = await DigestSender(store).deliver(adapter, chat, digest)
    assert result.outcome == DeliveryOutcome.DELIVERED
    assert adapter.papers_sent_to("1") == IDS[2:]
    assert store.outbox.delivery_stats(chat.ref).papers_failed == 2


async def test_stop_leaves_the_rest_pending(store):
    chat, digest = _planned(store)
    stop = asyncio.Event()
    stop.set()
    result = await DigestSender(store).deliver(RecordingAdapter(), chat, digest, stop)
    assert result.outcome == DeliveryOutcome.STOPPED
    assert len(store.outbox.pending_papers(chat.ref, DAY)) == 5


class BrokenRenderer(RecordingAdapter):
    def render_digest(self, digest):
        raise ValueError("a paper title the renderer cannot handle")


async def test_a_renderer_bug_backs_off_instead_of_retrying_every_tick(store):
    chat, digest = _planned(store)
    sender = DigestSender(store)
    result = await sender.deliver(BrokenRenderer(), chat, digest)
    assert result.outcome == DeliveryOutcome.DEFERRED
    assert "rendering failed" in result.error
    assert not sender.ready(chat.ref, DAY, store.now())
    assert len(store.outbox.pending_papers(chat.ref, DAY)) == 5


async def test_a_planned_day_whose_stored_selection_is_damaged_is_given_up_not_retried_forever(store):
    """Delivery claims a day from its stored selection; one that cannot be read back closes that day as failed,
    with the reason, and sends nothing; another chat's digest still goes out."""
    chat, digest = new_chat(store, "1"), make_digest(DAY, [make_paper(arxiv_id) for arxiv_id in IDS])
    other = new_chat(store, "2")
    store.outbox.plan_digests(DAY, {chat.ref: DigestPlan.of(digest.plan_entries()), other.ref: DigestPlan.of(digest.plan_entries())})
    store.db.execute("UPDATE chat_days SET plan_numbers = X'00' WHERE chat = (SELECT id FROM chats WHERE chat_id = '1')")
    adapter, sender = RecordingAdapter(), DigestSender(store)
    result = await sender.deliver(adapter, chat, digest)
    assert result.outcome == DeliveryOutcome.GAVE_UP and "damaged" in result.error
    assert adapter.sent == []
    assert store.outbox.digest_day_status(chat.ref, DAY) == DayStatus.FAILED
    assert (await sender.deliver(adapter, other, digest)).outcome == DeliveryOutcome.DELIVERED
    assert adapter.papers_sent_to("2") == IDS
