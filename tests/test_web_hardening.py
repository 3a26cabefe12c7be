"""Web answers an outsider cannot steer: no redirect to the Host they sent, HSTS on an https site, feed tokens compared in constant time."""
from __future__ import annotations


from starlette.testclient import TestClient

from bot.web import create_app
from core.config import WebSettings
from core.store import Store
from core.store.chats import FEED_TOKEN_LOOKUP_CHARS
from tests.delivery_support import new_chat
from tests.fixtures.web.site import site_settings


def test_a_trailing_slash_is_not_redirected_to_the_host_the_client_named(store: Store) -> None:
    with TestClient(create_app(store, site_settings())) as client:
        answer = client.get("/healthz/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert answer.status_code == 404
    assert "location" not in answer.headers


def test_hsts_only_when_the_site_is_https(store: Store) -> None:
    https = site_settings().model_copy(update={"web": WebSettings(public_url="https://papers.example.org")})
    with TestClient(create_app(store, https)) as client:
        secure = client.get("/healthz")
    with TestClient(create_app(store, site_settings())) as client:  # http://testserver
        plain = client.get("/healthz")
    assert secure.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in plain.headers


def test_sqlite_never_compares_the_whole_feed_token(store: Store) -> None:
    """An index lookup stops at the first differing byte; only the lookup prefix may reach it, the rest goes to compare_digest."""
    chat = new_chat(store, "1")
    token = chat.feed_token
    guessed = token[:-1] + ("A" if token[-1] != "A" else "B")
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)  # SQLite's own record of each statement, parameters bound
    try:
        with TestClient(create_app(store, site_settings())) as client:
            served = client.get(f"/feeds/chat/{token}.xml")
            refused = client.get(f"/feeds/chat/{guessed}.xml")
    finally:
        store.db.conn.set_trace_callback(None)
    assert served.status_code == 200
    assert refused.status_code == 404
    assert any(token[:FEED_TOKEN_LOOKUP_CHARS] in statement for statement in statements)
    assert not any(token in statement or guessed in statement for statement in statements)
