"""Request body limits for the web app: no route reads more than MAX_REQUEST_BODY_BYTES, signed or not.

The webhook routes (Slack, Discord, Telegram) must read the body before they can check its
signature, so an unauthenticated sender could make them hold any amount in memory. The limit is
applied once, around every route: a declared Content-Length over it is refused before reading, and
a body that turns out longer is refused as soon as it passes the limit, with 413 in both cases.
"""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The largest body any platform sends us is a Slack event or interaction payload (tens of KB);
# a Telegram update or Discord interaction is a few KB.
MAX_REQUEST_BODY_BYTES = 256 * 1024


class BodyLimit:
    """ASGI middleware: reads the body (at most the limit) before the app runs, then replays it."""

    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                chunks = []
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await _too_large(send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(send: Send) -> None:
    body = f"Request body larger than {MAX_REQUEST_BODY_BYTES // 1024} KB.\n".encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})
