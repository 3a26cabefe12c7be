"""The audit's body attack, in process: a 256 MB unauthenticated POST to a webhook route; prints peak RSS before and after.

Run: python benchmarks/attack_body.py [megabytes]. The body is streamed in 64 KB chunks (no
Content-Length), as a chunked upload would arrive through uvicorn; nothing touches the network.
"""
from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.web import create_app
from core.config import Settings
from core.store import Store

CHUNK = 64 * 1024


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def attack(megabytes: int) -> int:
    async def events(request: Request) -> PlainTextResponse:
        await request.body()
        return PlainTextResponse("unsigned", status_code=401)

    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "attack.db")
        app = create_app(store, Settings(), extra_routes=[Route("/slack/events", events, methods=["POST"])])
        chunks = megabytes * 1024 * 1024 // CHUNK
        pulled = 0
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal pulled
            pulled += 1
            return {"type": "http.request", "body": b"x" * CHUNK, "more_body": pulled < chunks}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        scope = {"type": "http", "method": "POST", "path": "/slack/events", "raw_path": b"/slack/events",
                 "query_string": b"", "headers": [(b"host", b"localhost")], "http_version": "1.1", "scheme": "http",
                 "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 1), "root_path": "", "app": app}
        await app(scope, receive, send)
        store.close()
        return statuses[0]


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 256
    before = peak_rss_mb()
    status = asyncio.run(attack(size))
    print(f"{size} MB body: status {status}, peak RSS {before:.0f} MB -> {peak_rss_mb():.0f} MB")
