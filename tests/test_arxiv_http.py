"""The polite HTTP policy's pieces: Retry-After parsing, backoff without a hint, and the response size limit."""
from __future__ import annotations

import datetime as dt
import socket

import httpx
import pytest

from core.arxiv import http
from core.arxiv.errors import ArxivMalformed, ArxivUnavailable
from core.arxiv.http import PoliteHttp, parse_retry_after
from tests.fakes.arxiv import FakeArxiv, Fault, build_rss


def test_retry_after_as_seconds_or_http_date() -> None:
    now = dt.datetime(2026, 9, 24, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Thu, 24 Sep 2026 12:01:30 GMT", now) == 90.0
    assert parse_retry_after("Thu, 24 Sep 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    # digits float() refuses or reads oddly
    assert parse_retry_after("\u00b2") is None
    assert parse_retry_after("\u0663") is None


async def test_backoff_without_retry_after_grows_and_stops(fake_arxiv: FakeArxiv) -> None:
    waits: list[float] = []

    async def record_sleep(seconds: float) -> None:
        waits.append(seconds)

    fake_arxiv.fail_next(*[Fault("status", 502)] * 4)
    client = PoliteHttp(fake_arxiv.settings(max_retries=3, retry_backoff_seconds=1.5), sleep=record_sleep)
    with pytest.raises(ArxivUnavailable, match="HTTP 502") as raised:
        await client.get(f"{fake_arxiv.url}/rss/cs.AI")
    await client.aclose()
    assert waits == [1.5, 3.0, 6.0]
    assert len(fake_arxiv.requests) == 4
    assert raised.value.retry_after is None


async def test_responses_over_the_size_limit_are_refused(fake_arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_arxiv.feed_body = build_rss([], dt.date(2026, 9, 24))
    monkeypatch.setattr(http, "MAX_RESPONSE_BYTES", len(fake_arxiv.feed_body) - 1)
    client = PoliteHttp(fake_arxiv.settings())
    with pytest.raises(ArxivMalformed, match="exceeds"):
        await client.get(f"{fake_arxiv.url}/rss/cs.AI")
    monkeypatch.setattr(http, "MAX_RESPONSE_BYTES", len(fake_arxiv.feed_body))
    assert await client.get(f"{fake_arxiv.url}/rss/cs.AI") == fake_arxiv.feed_body
    await client.aclose()


def _unreachable(resolves: bool) -> tuple[httpx.MockTransport, list[str]]:
    """A transport failing every connection as httpx does: at name resolution (a gaierror inside) or refused."""
    attempts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(str(request.url))
        if resolves:
            raise httpx.ConnectError("[Errno 111] Connection refused") from ConnectionRefusedError(111, "refused")
        raise httpx.ConnectError("[Errno -2] Name or service not known") from socket.gaierror(-2, "Name or service not known")

    return httpx.MockTransport(handler), attempts


async def _instant(seconds: float) -> None:
    return None


async def test_a_name_that_does_not_resolve_is_tried_twice_not_five_times(fake_arxiv: FakeArxiv) -> None:
    offline, offline_attempts = _unreachable(resolves=False)
    refused, refused_attempts = _unreachable(resolves=True)
    for transport in (offline, refused):
        client = PoliteHttp(fake_arxiv.settings(max_retries=4), transport=transport, sleep=_instant)
        with pytest.raises(ArxivUnavailable) as raised:
            await client.get("http://rss.arxiv.test/rss/cs.AI")
        await client.aclose()
        assert raised.value.offline is (transport is offline)
    assert len(offline_attempts) == http.OFFLINE_ATTEMPTS == 2
    assert len(refused_attempts) == 5


async def test_the_retry_line_states_the_real_wait_spacing_included(fake_arxiv: FakeArxiv, caplog: pytest.LogCaptureFixture) -> None:
    """A 1 s backoff under a 3 s spacing between requests to one host waits 3 s: the log said 1.0 and slept 1 + 2."""
    now = [100.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    transport, _ = _unreachable(resolves=True)
    settings = fake_arxiv.settings(max_retries=1, retry_backoff_seconds=1.0, min_interval_seconds=3.0)
    client = PoliteHttp(settings, transport=transport, sleep=sleep, monotonic=lambda: now[0])
    with pytest.raises(ArxivUnavailable):
        await client.get("http://rss.arxiv.test/rss/cs.AI")
    await client.aclose()
    assert waits == [3.0]
    assert "retrying in 3.0 s" in caplog.text
