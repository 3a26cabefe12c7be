"""The 👍/👎/🔖 links under each paper of a digest mail, end to end against the real SMTP server and web app:
in both parts of the mail, nothing done on GET, the vote or save recorded on POST through the adapters' event sink,
and forged, altered, wrong-action or expired links refused without changing anything."""
from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage

from adapters.email import email_context
from adapters.email_links import DISLIKE, LIKE, PAPER_LINK_DAYS, SAVE, LinkSigner
from core.models import ChatRef
from tests.email_support import EmailWorld, html_part, links_in, text_part
from tests.fakes.smtp import SmtpServer

ALICE = "alice@example.org"
CHAT = ChatRef("email", ALICE)
HREF = re.compile(r'href="([^"]+)"')


async def _digest(world: EmailWorld, smtp: SmtpServer) -> EmailMessage:
    """Alice subscribed and Tuesday's digest mailed to her."""
    await world.app.handle_command(email_context(ALICE), "start")
    await world.tick_at(2026, 4, 21, 8, 0)
    (digest,) = await smtp.handler.wait_for(ALICE)
    return digest


def _paper_links(world: EmailWorld, digest: EmailMessage) -> dict[str, dict[str, str]]:
    """action -> arXiv id -> the text part's link, checked to be the one the HTML part has too."""
    links: dict[str, dict[str, str]] = {}
    html_links = set(HREF.findall(html_part(digest)))
    for action in (LIKE, DISLIKE, SAVE):
        urls = links_in(digest, action)
        assert set(urls) <= html_links
        links[action] = {world.adapter.links.signer.verify(action, url.rpartition("/")[2]).arxiv_id: url for url in urls}
    return links


def _nothing_recorded(world: EmailWorld) -> bool:
    return (world.store.outbox.feedback_totals(CHAT) == {} and world.store.saved.saved_papers(CHAT) == []
            and world.store.chats.require_chat(CHAT).learned == ())


async def test_each_paper_has_three_links_that_ask_on_get_and_record_on_post(tmp_path):
    with SmtpServer() as smtp:
        world = EmailWorld(tmp_path, smtp)
        async with world.running() as web:
            digest = await _digest(world, smtp)
            delivered = world.store.outbox.delivered_ids(CHAT)
            assert len(delivered) >= 3
            links = _paper_links(world, digest)
            assert all(set(by_paper) == delivered for by_paper in links.values())  # one of each, under every paper
            assert "👍 Like" in html_part(digest) and "🔖 Save" in text_part(digest)
            liked, disliked, saved = sorted(delivered)[:3]

            for action, arxiv_id in ((LIKE, liked), (DISLIKE, disliked), (SAVE, saved)):
                asked = await web.get(links[action][arxiv_id])  # a mail scanner opening the link
                assert asked.status_code == 200
                assert f"arXiv:{arxiv_id}" in asked.text
                assert 'method="post"' in asked.text.lower()
            assert _nothing_recorded(world)

            assert (await web.post(links[LIKE][liked])).status_code == 200
            assert world.store.outbox.feedback_totals(CHAT) == {liked: 1}
            assert world.store.chats.require_chat(CHAT).learned  # the ranking learns from it, as from a chat's 👍
            done = await web.post(links[DISLIKE][disliked])
            assert "Noted 👎" in done.text
            assert world.store.outbox.feedback_totals(CHAT) == {liked: 1, disliked: -1}
            assert (await web.post(links[SAVE][saved])).status_code == 200
            assert [kept.paper.arxiv_id for kept in world.store.saved.saved_papers(CHAT)] == [saved]
            assert world.store.outbox.feedback_totals(CHAT) == {liked: 1, disliked: -1, saved: 1}  # saving counts as 👍


async def test_forged_altered_wrong_action_and_expired_links_are_refused_and_change_nothing(tmp_path):
    with SmtpServer() as smtp:
        world = EmailWorld(tmp_path, smtp)
        async with world.running() as web:
            links = _paper_links(world, await _digest(world, smtp))
            first, second = sorted(links[LIKE])[:2]
            base, _, first_token = links[LIKE][first].rpartition("/")
            second_token = links[LIKE][second].rpartition("/")[2]
            forged = LinkSigner("someone-elses-secret-0123", world.clock).token(LIKE, ALICE, arxiv_id=first)
            altered = second_token.split(".")[0] + "." + first_token.split(".", 1)[1]  # another paper, first's signature
            refused = {
                "forged": f"{base}/{forged}",
                "altered": f"{base}/{altered}",
                "like token as save": links[LIKE][first].replace(f"/email/{LIKE}/", f"/email/{SAVE}/"),
                "like token as dislike": links[LIKE][first].replace(f"/email/{LIKE}/", f"/email/{DISLIKE}/"),
                "settings token as like": world.adapter.recipient_links(ALICE).settings.replace("/email/settings/", f"/email/{LIKE}/"),
            }
            for why, url in refused.items():
                answer = await web.post(url)
                assert answer.status_code == 400, why
                assert "This link does not work" in answer.text, why
            assert _nothing_recorded(world)

            world.clock.set(world.clock() + dt.timedelta(days=PAPER_LINK_DAYS, minutes=1))
            for action in (LIKE, DISLIKE, SAVE):
                expired = await web.post(links[action][first])
                assert expired.status_code == 410
                assert "expired" in expired.text
            assert _nothing_recorded(world)
