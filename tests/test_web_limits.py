"""Request bodies are capped for every route: 413 before reading past MAX_REQUEST_BODY_BYTES, declared or streamed."""
from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.web import create_app
from bot.web_limits import MAX_REQUEST_BODY_BYTES
from tests.fakes.server import serve_asgi
from tests.fixtures.web.site import site_settings

CHUNK = 64 * 1024


def _app_reading_bodies(store, handled: list[int]):
    async def events(request: Request) -> PlainTextResponse:  # like a webhook: the whole body before the signature
        handled.append(len(await request.body()))
        return PlainTextResponse("ok")

    return create_app(store, site_settings(), extra_routes=[Route("/slack/events", events, methods=["POST"])])


async def test_a_body_at_the_limit_reaches_the_route(store) -> None:
    handled: list[int] = []
    async with serve_asgi(_app_reading_bodies(store, handled)) as url, httpx.AsyncClient() as client:
        answer = await client.post(f"{url}/slack/events", content=b"x" * MAX_REQUEST_BODY_BYTES)
    assert answer.status_code == 200
    assert handled == [MAX_REQUEST_BODY_BYTES]


async def test_a_declared_oversized_body_is_refused_before_reading(store) -> None:
    handled: list[int] = []
    async with serve_asgi(_app_reading_bodies(store, handled)) as url, httpx.AsyncClient() as client:
        answer = await client.post(f"{url}/slack/events", content=b"x" * (MAX_REQUEST_BODY_BYTES + 1))
        other = await client.post(f"{url}/feeds/all.xml", content=b"x" * (MAX_REQUEST_BODY_BYTES + 1))
    assert answer.status_code == 413
    assert other.status_code == 413
    assert handled == []
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_a_streamed_body_is_cut_off_at_the_limit(store) -> None:
    """No Content-Length (chunked): the app stops pulling chunks right after the limit, and answers 413."""
    handled: list[int] = []
    app = _app_reading_bodies(store, handled)
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}  # 256 MB and more, were it read

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/slack/events", "raw_path": b"/slack/events",
             "query_string": b"", "headers": [(b"host", b"localhost")], "http_version": "1.1", "scheme": "http",
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 1), "root_path": "", "app": app}
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert handled == []
    assert pulled * CHUNK <= MAX_REQUEST_BODY_BYTES + CHUNK

