"""The polite HTTP policy's pieces: Retry-After parsing, backoff without a hint, and the response size limit."""
from __future__ import annotations

import datetime as dt

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
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("") is None
    assert parse_retry_after("\u00b2") is None and parse_retry_after("\u0663") is None  # digits float() refuses or reads oddly


async def test_backoff_without_retry_after_grows_and_stops(fake_arxiv: FakeArxiv) -> None:
    waits: list[float] = []

    async def record_sleep(seconds: float) -> None:
        waits.append(seconds)

    fake_arxiv.fail_next(*[Fault("status", 502)] * 4)
    client = PoliteHttp(fake_arxiv.settings(max_retries=3, retry_backoff_seconds=1.5), sleep=record_sleep)
    with pytest.raises(ArxivUnavailable, match="HTTP 502") as raised:
        await client.get(f"{fake_arxiv.url}/rss/cs.AI")
    await client.aclose()
    assert waits == [1.5, 3.0, 6.0] and len(fake_arxiv.requests) == 4
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
