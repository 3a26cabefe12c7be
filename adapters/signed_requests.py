"""What Slack's and Discord's signed HTTP requests share: a readable signature timestamp, and refusing a replayed request.

Both platforms sign timestamp + body and we accept a request only within SIGNATURE_WINDOW_SECONDS of its
timestamp; inside that window a captured request would still verify, so each (timestamp, signature) pair
is remembered and accepted once. Hand-written rather than a TTL cache library: the entries expire by the
request's own signed timestamp (when it could no longer verify anyway), not by when we saw it.
"""
from __future__ import annotations

from collections import OrderedDict

SIGNATURE_WINDOW_SECONDS = 300  # both platforms' rule: a timestamp further than 5 minutes from now is refused
MAX_TIMESTAMP_DIGITS = 12  # Unix seconds have 10 digits until the year 2286; longer is no timestamp
REMEMBERED_SIGNATURES = 20_000  # pairs kept; beyond it the oldest goes (over 60 signed requests a second for 5 minutes)


def signed_timestamp(text: str | None) -> int | None:
    """The header's Unix seconds, or None when it is not a short string of ASCII digits ("1e9", "١٧", 5,000 digits)."""
    if not text or len(text) > MAX_TIMESTAMP_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def within_window(timestamp: int, now: float) -> bool:
    return abs(now - timestamp) <= SIGNATURE_WINDOW_SECONDS


class ReplayGuard:
    """The verified (timestamp, signature) pairs of the last window: the first use of each passes, a repeat does not.

    Used from the event loop only (the web routes), so check-and-record needs no lock.
    """

    def __init__(self, capacity: int = REMEMBERED_SIGNATURES) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[tuple[int, str], None] = OrderedDict()

    def first_use(self, timestamp: int, signature: str, now: float) -> bool:
        """Record the pair; False when it was already seen (a replay). Call only after the signature verified."""
        key = (timestamp, signature.lower())
        self._forget_expired(now)
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def _forget_expired(self, now: float) -> None:
        while self._seen:
            oldest_timestamp = next(iter(self._seen))[0]
            if oldest_timestamp >= now - SIGNATURE_WINDOW_SECONDS:
                return
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)
