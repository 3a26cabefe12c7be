"""A chat's reading list as RSS and Atom at /feeds/chat/<token>/saved.xml: newest saved first, token rules and 404s of the chat feed."""
from __future__ import annotations

import datetime as dt

import feedparser
import pytest
from starlette.testclient import TestClient

from bot.web import feed_url
from core.models import ChatRef
from tests.fixtures.web.site import Site

UTC = dt.timezone.utc


def _saved_chat(site: Site, ids: list[str]) -> tuple[ChatRef, str]:
    """A chat that saved `ids` one minute apart (the first earliest); its saved feed's path."""
    chat = site.store.chats.get_or_create_chat(ChatRef("telegram", "42"), site.settings.defaults, title="Reading group")
    for minute, arxiv_id in enumerate(ids):
        site.store.clock = lambda minute=minute: dt.datetime(2026, 9, 24, 12, minute, tzinfo=UTC)
        site.store.saved.save_paper(chat.ref, arxiv_id)
    return chat.ref, feed_url(site.settings, chat, saved=True).removeprefix("http://testserver")


@pytest.mark.parametrize(("extension", "version"), [(".xml", "rss20"), (".atom", "atom10")])
def test_the_saved_feed_lists_the_reading_list_newest_saved_first(client: TestClient, site: Site, extension: str, version: str) -> None:
    ids = site.feed_papers[:3]
    _, path = _saved_chat(site, ids)
    assert path.endswith("/saved.xml")
    response = client.get(path.replace(".xml", extension))
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("private")
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert feed.version == version
    assert feed.feed.title == "Reading list of Reading group"
    assert [entry.id.removeprefix("https://arxiv.org/abs/") for entry in feed.entries] == list(reversed(ids))
    assert [entry.published_parsed.tm_min for entry in feed.entries] == [2, 1, 0]  # dated when saved


def test_saved_feed_follows_the_token_rules_of_the_chat_feed(client: TestClient, site: Site) -> None:
    chat, path = _saved_chat(site, site.feed_papers[:1])
    token = path.split("/")[3]
    for wrong in (path.replace(token, "A" * len(token)), path.replace("saved.xml", "other.xml"), path.replace(".xml", ".json"),
                  path.replace(token, token[:-1]), f"/feeds/chat/{token}/..%2Fsaved.xml", path.replace(token, "..")):
        assert client.get(wrong).status_code == 404, wrong
    site.store.chats.set_active(chat, False)
    assert client.get(path).status_code == 404
    site.store.chats.set_active(chat, True)
    assert client.get(path).status_code == 200
    site.store.chats.reset_feed_token(chat)
    assert client.get(path).status_code == 404
