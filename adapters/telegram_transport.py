"""How the Telegram adapter talks to the Bot API: flood control, per-chat update order, the token kept out of logs.

Why not PTB's AIORateLimiter as is: it has no per-chat limit for private chats, its leaky
buckets allow bursts that exceed Telegram's sliding windows (30 in any second, 20 in any minute
per group), and with retries left to the outbox it logs a traceback for every 429. Here every
limit is a window counted the way the server counts it, from our side of the network: a request
occupies its window from the moment it is sent until `period` after its answer arrived, so
however the network delays one request, the server never sees more than `limit` in a period.
RetryAfter still reaches the caller (the outbox decides when to retry).
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager, nullcontext
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor

from core.redaction import SecretRedactor, remember_secret

OVERALL_MESSAGES_PER_SECOND = 30
GROUP_MESSAGES_PER_MINUTE = 20
CHAT_SPACING_SECONDS = 1.0  # one message per second per chat
EVEN_BURST = 4  # messages the evening-out limiter may send back to back to catch up
MAX_CONCURRENT_UPDATES = 64  # commands handled at once, across chats
MAX_TRACKED_CHATS = 1024  # idle per-chat windows beyond this are dropped (an idle window equals a new one)
LOGGERS_THAT_SEE_URLS = ("httpx", "httpcore", "telegram", "telegram.Bot", "telegram.ext.ExtBot",
                         "telegram.ext.Updater", "telegram.ext.Application")

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class FloodWindow:
    """At most `limit` requests per `period`, each counted from its start until `period` after it finished."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self._finished: deque[float] = deque()
        self._in_flight = 0
        self._turn = asyncio.Lock()  # waiters take their turn in arrival order
        self._one_finished = asyncio.Event()

    def idle(self, now: float) -> bool:
        return not self._in_flight and not self._turn.locked() and all(t <= now - self.period for t in self._finished)

    async def _wait_for_room(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            while self._finished and self._finished[0] <= now - self.period:
                self._finished.popleft()
            if self._in_flight + len(self._finished) < self.limit:
                return
            if self._finished:
                await asyncio.sleep(self._finished[0] + self.period - now)
            else:
                self._one_finished.clear()
                await self._one_finished.wait()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._turn:
            await self._wait_for_room()
            self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._finished.append(asyncio.get_running_loop().time())
            self._one_finished.set()


class FloodControl(BaseRateLimiter[int]):
    """Windows for sending methods: per chat, per group per minute, and overall (evened out by aiolimiter)."""

    def __init__(self, overall_per_second: int = OVERALL_MESSAGES_PER_SECOND,
                 chat_spacing: float = CHAT_SPACING_SECONDS, group_per_minute: int = GROUP_MESSAGES_PER_MINUTE) -> None:
        self._overall = FloodWindow(overall_per_second, 1.0)
        # An even stream instead of 30 concurrent requests at the top of each second; the small burst
        # lets it catch up after the event loop woke a waiter late (the window above stays exact).
        self._even = AsyncLimiter(EVEN_BURST, EVEN_BURST / overall_per_second)
        self._chat_spacing = chat_spacing
        self._group_per_minute = group_per_minute
        self._chats: dict[int, FloodWindow] = {}
        self._groups: dict[int, FloodWindow] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    @staticmethod
    def _window(windows: dict[int, FloodWindow], chat_id: int, make: Callable[[], FloodWindow]) -> FloodWindow:
        if len(windows) > MAX_TRACKED_CHATS:
            now = asyncio.get_running_loop().time()
            for key in [key for key, window in windows.items() if key != chat_id and window.idle(now)]:
                del windows[key]
        if chat_id not in windows:
            windows[chat_id] = make()
        return windows[chat_id]

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        chat_id = data.get("chat_id")
        if not endpoint.startswith("send") or not isinstance(chat_id, (int, str)) or not str(chat_id).lstrip("-").isdigit():
            return await callback(*args, **kwargs)
        chat = int(chat_id)
        per_chat = self._window(self._chats, chat, lambda: FloodWindow(1, self._chat_spacing))
        per_group = (self._window(self._groups, chat, lambda: FloodWindow(self._group_per_minute, 60.0)).slot()
                     if chat < 0 else nullcontext())
        async with per_chat.slot(), per_group, self._even, self._overall.slot():
            return await callback(*args, **kwargs)


class ChatOrderedUpdates(BaseUpdateProcessor):
    """Updates of different chats run concurrently (a long /digest reply blocks nobody else); one chat's in order."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # updates holding or awaiting each chat's lock; at zero it is dropped

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        self._users[chat.id] = self._users.get(chat.id, 0) + 1
        try:
            async with self._locks.setdefault(chat.id, asyncio.Lock()):
                await coroutine
        finally:
            self._users[chat.id] -= 1
            if not self._users[chat.id]:
                del self._users[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class TokenRedactor:
    """Keeps the bot token and the webhook secret out of the loggers that see API URLs and request data.

    The root handlers carry core.redaction's filter when run from the command line; this covers the
    records of these loggers wherever the adapter runs (embedded, tests), with the same filter.
    """

    def __init__(self, *secrets: str) -> None:
        for value in secrets:
            remember_secret(value)
        self._filter = SecretRedactor()

    def install(self) -> None:
        for name in LOGGERS_THAT_SEE_URLS:
            logging.getLogger(name).addFilter(self._filter)

    def remove(self) -> None:
        for name in LOGGERS_THAT_SEE_URLS:
            logging.getLogger(name).removeFilter(self._filter)
