"""Email links and limits: forged, altered, re-purposed and expired tokens are refused by the real web app; the
subscribe form answers alike for known and unknown addresses and is limited per address and per client."""
from __future__ import annotations

import datetime as dt

import pytest

from adapters.email import email_context
from adapters.email_limits import CONFIRMATIONS_PER_ADDRESS, SUBSCRIBE_REQUESTS_PER_CLIENT, WindowLimiter
from adapters.email_links import (
    CONFIRM,
    CONFIRM_LINK_HOURS,
    SETTINGS,
    UNSUBSCRIBE,
    InvalidAddress,
    InvalidLink,
    LinkSigner,
    normalize_address,
)
from core.models import ChatRef
from tests.email_support import LINK_SECRET, EmailWorld
from tests.fakes.smtp import SmtpServer

ALICE = "alice@example.org"


def test_addresses_are_checked_and_folded_to_one_chat_id():
    assert normalize_address("  Alice@Example.ORG ") == ALICE
    for bad in ("", "alice", "alice@", "@example.org", "a b@example.org", "alice@example..org"):
        with pytest.raises(InvalidAddress):
            normalize_address(bad)


def test_a_token_works_only_for_its_purpose_unaltered_within_its_age():
    now = dt.datetime(2026, 4, 21, 8, 0, tzinfo=dt.timezone.utc)
    clock = [now]
    signer = LinkSigner(LINK_SECRET, lambda: clock[0])
    token = signer.token(CONFIRM, ALICE, "llm")
    assert signer.verify(CONFIRM, token).address == ALICE
    assert signer.verify(CONFIRM, token).keywords == "llm"
    with pytest.raises(InvalidLink):
        signer.verify(UNSUBSCRIBE, token)
    with pytest.raises(InvalidLink):
        signer.verify(CONFIRM, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    with pytest.raises(InvalidLink):
        LinkSigner("another-secret-0123456789", lambda: now).verify(CONFIRM, token)
    clock[0] = now + dt.timedelta(hours=CONFIRM_LINK_HOURS, seconds=1)
    with pytest.raises(InvalidLink) as expired:
        signer.verify(CONFIRM, token)
    assert expired.value.expired
    unsubscribe = LinkSigner(LINK_SECRET, lambda: now).token(UNSUBSCRIBE, ALICE)
    clock[0] = now + dt.timedelta(days=3650)
    assert signer.verify(UNSUBSCRIBE, unsubscribe).address == ALICE  # one-click works from any old mail


def test_a_short_secret_is_refused():
    with pytest.raises(ValueError):
        LinkSigner("short")


def test_window_limiter_forgets_after_the_window():
    now = [dt.datetime(2026, 4, 21, tzinfo=dt.timezone.utc)]
    limiter = WindowLimiter(2, window_seconds=60, clock=lambda: now[0])
    assert [limiter.allow("a"), limiter.allow("a"), limiter.allow("a"), limiter.allow("b")] == [True, True, False, True]
    now[0] += dt.timedelta(seconds=60)
    assert limiter.allow("a")


async def test_forged_altered_and_expired_links_change_nothing(tmp_path):
    with SmtpServer() as smtp:
        world = EmailWorld(tmp_path, smtp)
        async with world.running() as web:
            await world.app.handle_command(email_context(ALICE), "start")
            links = world.adapter.links
            forged = LinkSigner("not-the-servers-secret-123", world.clock).token(UNSUBSCRIBE, ALICE)
            for url in (
                f"{links.base}/email/unsubscribe/{forged}",
                links.url(SETTINGS, ALICE).replace("/settings/", "/unsubscribe/"),  # another purpose's token
                links.url(UNSUBSCRIBE, ALICE)[:-3] + "xyz",
                f"{links.base}/email/unsubscribe/garbage",
            ):
                answer = await web.post(url)
                assert answer.status_code == 400, url
                assert "does not work" in answer.text, url
            settings_url = links.url(SETTINGS, ALICE)
            confirm_url = links.url(CONFIRM, "mallory@example.org", "llm")
            world.clock.set(world.clock() + dt.timedelta(hours=CONFIRM_LINK_HOURS + 1))
            expired = await web.post(confirm_url)
            assert expired.status_code == 410
            assert "expired" in expired.text
            assert (await web.post(settings_url, data={"command": "max 2"})).status_code == 200  # settings links last longer
            assert world.store.chats.get_chat(ChatRef("email", ALICE)).active
            assert world.store.chats.get_chat(ChatRef("email", ALICE)).max_papers == 2
            assert world.store.chats.get_chat(ChatRef("email", "mallory@example.org")) is None


async def test_subscribe_form_never_tells_whether_an_address_is_known_and_is_limited(tmp_path):
    with SmtpServer() as smtp:
        world = EmailWorld(tmp_path, smtp)
        async with world.running() as web:
            await world.app.handle_command(email_context(ALICE), "start")
            known = await web.post("/email/subscribe", data={"address": ALICE})
            unknown = await web.post("/email/subscribe", data={"address": "nobody@example.org"})
            assert known.status_code == unknown.status_code == 200
            assert known.text.replace(ALICE, "X") == unknown.text.replace("nobody@example.org", "X")
            bad = await web.post("/email/subscribe", data={"address": "not an address"})
            assert bad.status_code == 400
            assert 'name="address"' in bad.text
            for _ in range(CONFIRMATIONS_PER_ADDRESS + 2):
                await web.post("/email/subscribe", data={"address": ALICE})
            await smtp.handler.wait_for(ALICE, CONFIRMATIONS_PER_ADDRESS)
            sent = 3 + CONFIRMATIONS_PER_ADDRESS + 2  # the posts so far: known, unknown, bad, then the loop
            answers = [await web.post("/email/subscribe", data={"address": f"n{n}@example.org"})
                       for n in range(SUBSCRIBE_REQUESTS_PER_CLIENT - sent + 1)]
            assert [a.status_code for a in answers][-2:] == [200, 429]
            await world.adapter.pages.cancel_background()
        assert len(smtp.handler.to(ALICE)) == CONFIRMATIONS_PER_ADDRESS
