"""The arXiv errors core raises: unavailable (retry later), malformed (arXiv sent garbage), rejected (our request was wrong)."""
from __future__ import annotations


class ArxivError(Exception):
    """Anything that kept us from reading arXiv."""


class ArxivUnavailable(ArxivError):
    """Network failure, timeout, 5xx or 429 after every retry; `retry_after` is arXiv's own hint in seconds;
    `offline` when arXiv's host name did not resolve (this machine seems to have no network)."""

    def __init__(self, message: str, retry_after: float | None = None, *, offline: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.offline = offline


class ArxivMalformed(ArxivError):
    """arXiv answered, but not with a feed we can read (truncated or invalid XML, wrong document)."""


class ArxivRejected(ArxivError):
    """arXiv refused the request itself (4xx other than 429), e.g. an id it does not know the format of."""

    def __init__(self, message: str, status: int, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body
