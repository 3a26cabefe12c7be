"""How often the subscribe form may be used: per address (mails a stranger can make us send) and per client.

A sliding window in memory: the limits protect one process's mail reputation, and a restart forgetting
them costs at most one more window's worth. Hand-written (20 lines) because the limiters we already
depend on (aiolimiter) wait for capacity, and a form must refuse at once instead.
"""
from __future__ import annotations

from collections import deque

from core.clock import Clock, utc_now

CONFIRMATIONS_PER_ADDRESS = 3  # confirmation mails to one address per window
SUBSCRIBE_REQUESTS_PER_CLIENT = 10  # subscribe form posts from one client address per window
LIMIT_WINDOW_SECONDS = 3600.0
MAX_TRACKED_KEYS = 10_000  # past this many addresses and clients, the one seen longest ago is forgotten


class WindowLimiter:
    """At most `limit` events per key within `window_seconds`; `allow` counts the event when it is allowed."""

    def __init__(self, limit: int, window_seconds: float = LIMIT_WINDOW_SECONDS, clock: Clock = utc_now) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock().timestamp()
        events = self._events.pop(key, None) or deque()
        while events and now - events[0] >= self.window_seconds:
            events.popleft()
        allowed = len(events) < self.limit
        if allowed:
            events.append(now)
        self._events[key] = events  # re-inserted: the dict's order is the order keys were last seen
        if len(self._events) > MAX_TRACKED_KEYS:
            del self._events[next(iter(self._events))]
        return allowed
