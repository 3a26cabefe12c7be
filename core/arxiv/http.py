"""The one HTTP policy for talking to arXiv: our User-Agent, timeouts, per-host spacing, retries honouring Retry-After."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential
from tenacity.stop import stop_base

from core.arxiv.errors import ArxivMalformed, ArxivRejected, ArxivUnavailable
from core.config import ArxivSettings

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024 * 1024  # a busy day's combined feed is a few MB; more is not a feed
MAX_BACKOFF_SECONDS = 60.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A host name that does not resolve means no network (or a mistyped URL): another try soon after rarely
# helps, and four of them kept a user without network waiting half a minute for the verdict.
OFFLINE_ATTEMPTS = 2

Sleep = Callable[[float], Awaitable[None]]


class _Retryable(Exception):
    """A failure worth another attempt; `retry_after` is the server's own wait in seconds, if it gave one;
    `offline` when the host name could not be resolved."""

    def __init__(self, message: str, retry_after: float | None = None, *, offline: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.offline = offline


class _StopWhenOffline(stop_base):
    """Stop after OFFLINE_ATTEMPTS when the latest failure was a name that does not resolve."""

    def __call__(self, state: RetryCallState) -> bool:
        failure = state.outcome.exception() if state.outcome else None
        return isinstance(failure, _Retryable) and failure.offline and state.attempt_number >= OFFLINE_ATTEMPTS


def _name_not_resolved(error: BaseException) -> bool:
    """Whether a connection failed at name resolution (socket.gaierror somewhere in its chain of causes)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit alone accepts "²", which float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    current = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - current).total_seconds())


class PoliteHttp:
    """GETs arXiv politely: one request at a time per host, spaced by `min_interval_seconds`, retried with backoff."""

    def __init__(
        self,
        settings: ArxivSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._monotonic = monotonic
        self._client = httpx.AsyncClient(
            headers={"User-Agent": settings.user_agent},
            timeout=httpx.Timeout(settings.timeout_seconds),
            follow_redirects=True,
            transport=transport,
        )
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._next_allowed: dict[str, float] = {}
        self._backoff = wait_exponential(multiplier=settings.retry_backoff_seconds, max=MAX_BACKOFF_SECONDS)

    async def __aenter__(self) -> "PoliteHttp":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, params: Mapping[str, str] | None = None) -> bytes:
        """The body of a 200 answer; raises ArxivUnavailable, ArxivRejected or ArxivMalformed."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_retries + 1) | _StopWhenOffline(),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return await retrying(self._spaced_attempt, url, params)
        except _Retryable as exc:
            raise ArxivUnavailable(f"{exc} from {url}", exc.retry_after, offline=exc.offline) from exc

    def _wait(self, state: RetryCallState) -> float:
        """The backoff (or the server's Retry-After), or longer when the host's spacing asks for more: the real wait."""
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, _Retryable) and failure.retry_after is not None:
            planned = failure.retry_after
        else:
            planned = self._backoff(state)
        host = urlsplit(state.args[0]).netloc if state.args else ""
        return max(planned, self._next_allowed.get(host, 0.0) - self._monotonic())

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("arXiv request failed (%s); attempt %d, retrying in %.1f s", failure, state.attempt_number, wait)

    async def _spaced_attempt(self, url: str, params: Mapping[str, str] | None) -> bytes:
        host = urlsplit(url).netloc
        lock = self._host_locks.setdefault(host, asyncio.Lock())
        async with lock:
            delay = self._next_allowed.get(host, 0.0) - self._monotonic()
            if delay > 0:
                await self._sleep(delay)
            try:
                return await self._attempt(url, params)
            finally:
                self._next_allowed[host] = self._monotonic() + self.settings.min_interval_seconds

    async def _attempt(self, url: str, params: Mapping[str, str] | None) -> bytes:
        try:
            async with self._client.stream("GET", url, params=params) as response:
                status = response.status_code
                if status in RETRY_STATUSES:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    if retry_after is not None and retry_after > self.settings.max_retry_after_seconds:
                        raise ArxivUnavailable(
                            f"arXiv asked us to wait {retry_after:.0f} s (HTTP {status}) at {url}", retry_after
                        )
                    raise _Retryable(f"HTTP {status}", retry_after)
                body = await self._read_limited(response)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"no answer within {self.settings.timeout_seconds:g} s") from exc
        except httpx.TransportError as exc:
            if _name_not_resolved(exc):
                raise _Retryable(f"cannot resolve {urlsplit(url).hostname}", offline=True) from exc
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        if status >= 400:
            raise ArxivRejected(f"arXiv refused {url} with HTTP {status}", status, body)
        return body

    @staticmethod
    async def _read_limited(response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise ArxivMalformed(f"arXiv's answer exceeds {MAX_RESPONSE_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks)
