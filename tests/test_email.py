"""Email end to end against a real SMTP server on loopback and the real web app: subscribe with double opt-in,
digest mails that parse, settings and unsubscribe links (and RFC 8058 one-click) that work, 4xx and 5xx answers."""
from __future__ import annotations

import re

from adapters.email import email_context
from bot.delivery import DeliveryOutcome
from core.models import ChatRef
from tests.email_support import SENDER, EmailWorld, html_part, links_in, text_part
from tests.fakes.smtp import SmtpServer

ALICE, BOB, CAROL = "alice@example.org", "bob@example.org", "carol@example.net"
ABS_LINK = re.compile(r'href="https://arxiv\.org/abs/([^"]+)"')
REMOTE_CONTENT = re.compile(r"<img|<link|<script|src=|url\(|@import", re.IGNORECASE)


def _chat(world: EmailWorld, address: str):
    return world.store.chats.get_chat(ChatRef("email", address))


async def test_subscribe_confirm_receive_change_settings_and_unsubscribe_one_click(tmp_path):
    with SmtpServer() as smtp:
        world = EmailWorld(tmp_path, smtp)
        async with world.running() as web:
            form = await web.get("/email/subscribe")
            assert form.status_code == 200
            assert 'name="address"' in form.text
            answer = await web.post("/email/subscribe", data={"address": "Alice@Example.org", "keywords": '"point cloud":2, optical flow'})
            assert answer.status_code == 200
            assert "confirmation link is on its way" in answer.text
            (confirmation,) = await smtp.handler.wait_for(ALICE)
            assert _chat(world, ALICE) is None  # nothing stored before the reader confirms
            (confirm_url,) = links_in(confirmation, "confirm")
            opened = await web.get(confirm_url)  # what a mail scanner does: shows a button, changes nothing
            assert opened.status_code == 200
            assert "Yes, subscribe" in opened.text
            assert _chat(world, ALICE) is None
            confirmed = await web.post(confirm_url)
            assert confirmed.status_code == 200
            assert "Subscribed" in confirmed.text
            chat = _chat(world, ALICE)
            assert chat.active
            assert {("point cloud", 2), ("optical flow", 1)} <= {(k.term, k.weight) for k in chat.keywords}

            report = await world.tick_at(2026, 4, 21, 8, 0)
            assert [r.outcome for r in report.deliveries] == [DeliveryOutcome.DELIVERED]
            _, digest = await smtp.handler.wait_for(ALICE, 2)
            delivered = world.store.outbox.delivered_ids(ChatRef("email", ALICE))
            assert digest["From"] == SENDER
            assert digest["To"] == ALICE
            assert digest.is_multipart()
            assert digest.get_content_type() == "multipart/alternative"
            html, text = html_part(digest), text_part(digest)
            assert set(ABS_LINK.findall(html)) == delivered  # every delivered paper, once, linked
            assert all(f"https://arxiv.org/abs/{arxiv_id}" in text for arxiv_id in delivered)
            assert not REMOTE_CONTENT.search(html)  # readable without loading anything
            (unsubscribe_url,) = links_in(digest, "unsubscribe")
            assert digest["List-Unsubscribe"] == f"<{unsubscribe_url}>"
            assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

            (settings_url,) = links_in(digest, "settings")
            shown = await web.get(settings_url)
            assert shown.status_code == 200
            assert "point cloud" in shown.text
            changed = await web.post(settings_url, data={"command": "max 3"})
            assert changed.status_code == 200
            assert _chat(world, ALICE).max_papers == 3
            assert "form-action 'self'" in changed.headers["content-security-policy"]

            one_click = await web.post(unsubscribe_url, content=b"List-Unsubscribe=One-Click",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert one_click.status_code == 200
            assert not _chat(world, ALICE).active
            await world.tick_at(2026, 4, 22, 8, 0)
        assert len(smtp.handler.to(ALICE)) == 2  # the confirmation and Tuesday's digest; nothing after unsubscribing


async def test_unsubscribe_link_asks_first_then_stops_delivery(tmp_path):
    with SmtpServer() as smtp:
        world = EmailWorld(tmp_path, smtp)
        async with world.running() as web:
            await world.app.handle_command(email_context(BOB), "start")
            unsubscribe_url = world.adapter.recipient_links(BOB).unsubscribe
            asked = await web.get(unsubscribe_url)
            assert asked.status_code == 200
            assert "Unsubscribe" in asked.text
            assert _chat(world, BOB).active
            done = await web.post(unsubscribe_url)
            assert done.status_code == 200
            assert "Nothing more will be sent" in done.text
            report = await world.tick_at(2026, 4, 21, 8, 0)
            assert report.deliveries == []
            assert smtp.handler.to(BOB) == []
            assert not _chat(world, BOB).active


async def test_4xx_is_retried_and_5xx_deactivates_only_that_address(tmp_path):
    with SmtpServer() as smtp:
        smtp.handler.refuse = {ALICE: "451 4.7.1 greylisted, try again later", BOB: "550 5.1.1 no such user"}
        world = EmailWorld(tmp_path, smtp)
        async with world.running():
            for address in (ALICE, BOB, CAROL):
                await world.app.handle_command(email_context(address), "start")
            first = await world.tick_at(2026, 4, 21, 8, 0)
            outcomes = {r.chat.chat_id: r.outcome for r in first.deliveries}
            assert outcomes == {ALICE: DeliveryOutcome.DEFERRED, BOB: DeliveryOutcome.CHAT_GONE, CAROL: DeliveryOutcome.DELIVERED}
            later = await world.tick_at(2026, 4, 21, 8, 5)  # past the first back-off
            assert [(r.chat.chat_id, r.outcome) for r in later.deliveries] == [(ALICE, DeliveryOutcome.DELIVERED)]
            assert len(smtp.handler.to(ALICE)) == len(smtp.handler.to(CAROL)) == 1
            assert smtp.handler.to(BOB) == []
            assert [address for address, _ in smtp.handler.refused] == [ALICE, BOB]
            assert not _chat(world, BOB).active
            assert _chat(world, ALICE).active
            assert _chat(world, CAROL).active
            alice_papers = world.store.outbox.delivered_ids(ChatRef("email", ALICE))
            assert alice_papers
            assert alice_papers == world.store.outbox.delivered_ids(ChatRef("email", CAROL))
