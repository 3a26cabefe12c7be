"""Caching of generated documents: a short render cache, and conditional GET (ETag from the bytes, Last-Modified from when they first appeared)."""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response

REMEMBERED_VERSIONS = 4096  # ETags whose first-seen time we keep; older ones count as new again
FEED_MAX_AGE_SECONDS = 900  # arXiv announces once a day; a quarter hour keeps readers polite and fresh
RENDER_CACHE_SECONDS = 60.0  # a document is scored and rendered at most once a minute, however many readers poll
RENDER_CACHE_ENTRIES = 512  # feeds x formats x recent chats; the oldest entry goes first


class RenderCache:
    """Rendered bytes by key for a short time, so a crowd of feed readers costs one rendering.

    Called from the web server's thread pool: the entries are only touched under a lock (rendering is not).
    """

    def __init__(self, clock: Callable[[], dt.datetime], seconds: float = RENDER_CACHE_SECONDS) -> None:
        self.clock = clock
        self.lifetime = dt.timedelta(seconds=seconds)
        self._entries: OrderedDict[Hashable, tuple[dt.datetime, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, key: Hashable, render: Callable[[], bytes]) -> bytes:
        now = self.clock()
        with self._lock:
            cached = self._entries.get(key)
        if cached is not None and now - cached[0] < self.lifetime:
            return cached[1]
        body = render()
        with self._lock:
            self._entries[key] = (now, body)
            self._entries.move_to_end(key)
            while len(self._entries) > RENDER_CACHE_ENTRIES:
                self._entries.popitem(last=False)
        return body


class VersionClock:
    """When each document version (ETag) was first served by this process: its Last-Modified.

    The documents are generated, so there is no file date; a version first seen now is "modified
    now", and an unchanged version keeps its date, which is what If-Modified-Since needs.
    """

    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self.clock = clock
        self._first_seen: OrderedDict[str, dt.datetime] = OrderedDict()

    def first_seen(self, etag: str) -> dt.datetime:
        seen = self._first_seen.get(etag)
        if seen is None:
            seen = self.clock().astimezone(dt.timezone.utc).replace(microsecond=0)
            self._first_seen[etag] = seen
            while len(self._first_seen) > REMEMBERED_VERSIONS:
                self._first_seen.popitem(last=False)
        return seen


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def _not_modified_since(if_modified_since: str, modified: dt.datetime) -> bool:
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a year like 999999999999999999
        return False
    if since.tzinfo is None:
        return False
    return modified <= since


def conditional_response(
    request: Request, body: bytes, media_type: str, versions: VersionClock, cache_control: str
) -> Response:
    """200 with validators, or 304 when the client's copy is current (If-None-Match wins over If-Modified-Since)."""
    etag = etag_of(body)
    modified = versions.first_seen(etag)
    headers = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True), "Cache-Control": cache_control}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        fresh = _matches(if_none_match, etag)
    else:
        fresh = _not_modified_since(request.headers.get("if-modified-since", ""), modified)
    if fresh:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
