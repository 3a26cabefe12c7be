"""Wiring: store, fetcher, summarizer, scheduler, command processor, adapters and web app, run together until stopped."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import logging
import signal
import sys
from collections.abc import Callable, Iterator, Sequence

import uvicorn
from starlette.applications import Starlette

from adapters.base import Adapter, ChatEvent, ChatGoneEvent, ChatMovedEvent, FeedbackEvent, SaveEvent
from adapters.console import CONSOLE_HINT, ConsoleAdapter
from bot import web
from bot.digests import FETCH_RETRY_SECONDS
from bot.health import HealthState
from bot.scheduler import Scheduler
from core.arxiv.fetcher import Fetcher
from core.commands import CommandProcessor
from core.config import Settings, secret
from core.feedback import record_vote
from core.models import ChatSettings, CommandContext, Digest, Paper, Reply
from core.reading_list import ReadingListFull, save_paper
from core.store import Store
from core.summarize import Summarizer

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 20.0  # how long a stop waits for the message in flight before cancelling


class AppServices:
    """The CommandServices the command processor needs, on top of the fetcher and the scheduler."""

    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher, scheduler: Scheduler) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.scheduler = scheduler

    async def digest_now(self, chat: ChatSettings) -> Digest:
        return await self.scheduler.digests.chat_digest_now(chat)

    async def search(self, query: str, limit: int) -> list[Paper]:
        return await self.fetcher.search(query, max_results=limit)

    async def papers_by_id(self, arxiv_ids: Sequence[str]) -> dict[str, Paper]:
        return await self.fetcher.papers_by_id(arxiv_ids)

    def next_delivery(self, chat: ChatSettings) -> dt.datetime | None:
        return self.scheduler.next_delivery(chat)

    def feed_url(self, chat: ChatSettings, *, saved: bool = False) -> str:
        return web.feed_url(self.settings, chat, saved=saved)

    def arxiv_status(self) -> str:
        """Whether the latest contact with arXiv worked; the status command adds the calendar and last good fetch."""
        latest = self.store.papers.last_fetch()
        if latest is None:
            return "not contacted yet."
        if latest["status"] != "failed":
            return f"fine (last fetch {latest['fetched_at']} UTC)."
        error = " ".join(str(latest["error"] or "unknown error").split())[:160]
        minutes = FETCH_RETRY_SECONDS / 60
        return f"the latest fetch failed at {latest['fetched_at']} UTC ({error}); retrying every {minutes:.0f} minutes."


class StoreEvents:
    """The one event sink every adapter reports to: what a platform event means for the store."""

    def __init__(self, store: Store, default_categories: Sequence[str] = ()) -> None:
        self.store = store
        self.default_categories = default_categories  # what a chat without categories of its own reads

    async def __call__(self, event: ChatEvent) -> None:
        store = self.store
        # A chat that never used a command is not stored: it has nothing to move or stop.
        match event:
            case ChatMovedEvent(old, new) if store.chats.get_chat(old) is not None:
                store.chats.move_chat(old, new)
            case ChatGoneEvent(chat) if store.chats.get_chat(chat) is not None:
                store.chats.set_active(chat, False)
            case FeedbackEvent(chat, arxiv_id, user_id, vote):
                record_vote(store, chat, arxiv_id, user_id, vote, self.default_categories)
            case SaveEvent(chat, arxiv_id, user_id) if store.chats.get_chat(chat) is not None:
                try:
                    save_paper(store, chat, arxiv_id, user_id, self.default_categories)
                except ReadingListFull:
                    log.warning("chat %s:%s pressed 🔖 on %s with a full reading list", chat.platform, chat.chat_id, arxiv_id)


# The variable that switches each platform on: its SDK is imported only when it is set (each costs a second or more).
PLATFORM_TOKENS = {
    "telegram": "TELEGRAM_BOT_TOKEN", "discord": "DISCORD_BOT_TOKEN", "slack": "SLACK_BOT_TOKEN", "email": "SMTP_URL",
}


def platform_adapters(settings: Settings, store: Store) -> list[Adapter]:
    """Every platform adapter whose credentials are in the environment, all reporting to one event sink."""
    events = StoreEvents(store, settings.defaults.categories)
    enabled = [platform for platform, variable in PLATFORM_TOKENS.items() if secret(variable) is not None]
    # adapters.telegram, .discord, .slack, .email: each module offers create_adapter(settings, events).
    modules = (importlib.import_module(f"adapters.{platform}") for platform in enabled)
    candidates = (module.create_adapter(settings, events) for module in modules)
    return [adapter for adapter in candidates if adapter is not None]


class App:
    """One running service: everything built from settings and a store, started and stopped together."""

    def __init__(self, settings: Settings, store: Store, adapters: Sequence[Adapter], *, fetcher: Fetcher | None = None) -> None:
        self.settings = settings
        self.store = store
        self.adapters = list(adapters)
        self.fetcher = fetcher or Fetcher(settings.arxiv, store)
        self.summarizer = Summarizer.from_settings(settings, store)
        self._running_adapters: dict[str, Adapter] = {adapter.platform: adapter for adapter in self.adapters}
        self.scheduler = Scheduler(store, settings, self.fetcher, self._running_adapters, self.summarizer)
        self.services = AppServices(settings, store, self.fetcher, self.scheduler)
        self.commands = CommandProcessor(store, settings, self.services)
        self._scheduler_task: asyncio.Task[None] | None = None
        self._not_started: dict[str, str] = {}  # platform -> the kind of error that kept its adapter from starting

    async def handle_command(self, context: CommandContext, text: str) -> Reply:
        reply = await self.commands.handle(context, text)
        # A new time or time zone may already be due: look now rather than at the next tick.
        self.scheduler.wake()
        return reply

    def scheduler_alive(self) -> bool:
        """For /healthz: the scheduler loop is running (not crashed, not stopped)."""
        return self._scheduler_task is not None and not self._scheduler_task.done()

    def adapter_health(self) -> list[HealthState]:
        """For /healthz: each adapter's state; one that did not start or whose updates stopped fails the check.

        Only the error's kind is shown: its text may hold a token (PTB's InvalidToken does)."""
        states: dict[str, str] = {}
        problems: list[str] = []
        for adapter in self.adapters:
            problem = self._not_started.get(adapter.platform)
            problem = f"did not start ({problem})" if problem else getattr(adapter, "health_problem", lambda: None)()
            states[adapter.platform] = problem or "running"
            if problem:
                problems.append(adapter.platform)
        return [HealthState("adapters", states, "adapters " + "+".join(problems) if problems else "")]

    def web_app(self) -> Starlette:
        routes = [route for adapter in self.adapters for route in adapter.web_routes()]
        return web.create_app(self.store, self.settings, extra_routes=routes, health=self, health_checks=[self.adapter_health])

    async def run(self, stop: asyncio.Event, *, web_port: int | None = None) -> None:
        """Start adapters, the scheduler (and the web server), wait for `stop`, then shut down in order."""
        started: list[Adapter] = []
        tasks: list[asyncio.Task] = []
        server: uvicorn.Server | None = None
        try:
            for adapter in self.adapters:
                try:
                    await adapter.start(self.handle_command)
                except Exception as error:
                    # One platform down (bad token, outage) must not keep the others from working; its
                    # chats' digests wait in the outbox and catch-up until it runs again.
                    log.exception("the %s adapter did not start; running without it", adapter.platform)
                    del self._running_adapters[adapter.platform]
                    self._not_started[adapter.platform] = type(error.__cause__ or error).__name__
                    continue
                started.append(adapter)
                log.info("%s adapter running", adapter.platform)
            if web_port is not None:  # pages and feeds must not wait for a chat to be due
                self.scheduler.publish(self.settings.defaults.categories)
            self._scheduler_task = asyncio.create_task(self.scheduler.run(), name="scheduler")
            tasks.append(self._scheduler_task)
            if web_port is not None:
                server = _EmbeddedServer(
                    uvicorn.Config(self.web_app(), host=self.settings.web.host, port=web_port, log_level="warning",
                                   log_config=None)  # uvicorn's records go to the root handlers and their redaction
                )
                tasks.append(asyncio.create_task(_serve_web(server), name="web"))
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
        finally:
            log.info("shutting down: finishing the message in flight, the rest stays pending in the outbox")
            self.scheduler.stop()
            if server is not None:
                server.should_exit = True
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
                for task in late:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for adapter in reversed(started):
                try:
                    await adapter.stop()
                except Exception:
                    log.exception("stopping the %s adapter failed", adapter.platform)
            await self.fetcher.aclose()


LISTEN_POLL_SECONDS = 0.05  # uvicorn has no "started" event to await, only a flag


async def _serve_web(server: uvicorn.Server) -> None:
    announcer = asyncio.create_task(_announce_listening(server))
    try:
        await server.serve()
    finally:
        announcer.cancel()


async def _announce_listening(server: uvicorn.Server) -> None:
    """One log line per address the web server listens on, once it does (the port may be taken)."""
    while not server.started:
        if server.should_exit:
            return
        await asyncio.sleep(LISTEN_POLL_SECONDS)
    for listener in server.servers:
        for sock in listener.sockets:
            host, port = sock.getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            log.info("web: listening on http://%s:%d (pages, feeds, /healthz)", shown, port)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our own loop: the service, not uvicorn, owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def install_stop_signals(stop: asyncio.Event) -> Callable[[], None]:
    """SIGTERM/SIGINT set `stop`; returns a function removing the handlers again."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def remove() -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)

    return remove


def console_adapter(chat_id: str = "local") -> ConsoleAdapter:
    """The terminal chat of `chat` and `serve --console`: greeting and prompt when a person is typing."""
    interactive = sys.stdin.isatty()
    return ConsoleAdapter(
        chat_id=chat_id, prompt="> " if interactive else "", greeting=f"arxiv-digest chat: {CONSOLE_HINT}" if interactive else ""
    )


async def serve(settings: Settings, store: Store, *, console: ConsoleAdapter | None = None, web_port: int | None = None) -> None:
    """`arxiv-digest serve`: run until SIGTERM/SIGINT (or `quit` on the console), leaving nothing half-sent behind."""
    adapters = platform_adapters(settings, store) + ([console] if console is not None else [])
    if not adapters:
        log.info("no chat adapter: no platform token is set (%s)", ", ".join(PLATFORM_TOKENS.values()))
    stop = asyncio.Event()
    remove_handlers = install_stop_signals(stop)
    console_closed = asyncio.create_task(_set_when_closed(console, stop)) if console is not None else None
    try:
        await App(settings, store, adapters).run(stop, web_port=web_port)
    finally:
        if console_closed is not None:
            console_closed.cancel()
        remove_handlers()
        store.close()


async def serve_replica(settings: Settings, store: Store, web_port: int) -> None:
    """`serve --web --read-only`: pages and feeds from a database another process fetches into and delivers from."""
    stop = asyncio.Event()
    remove_handlers = install_stop_signals(stop)
    server = _EmbeddedServer(
        uvicorn.Config(web.create_app(store, settings), host=settings.web.host, port=web_port, log_level="warning")
    )
    log.info("read-only web replica: no fetching, no scheduler, no chat adapters")
    serving = asyncio.create_task(_serve_web(server))
    try:
        await asyncio.wait([serving, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        remove_handlers()
        store.close()


async def _set_when_closed(console: ConsoleAdapter, stop: asyncio.Event) -> None:
    await console.wait_closed()
    stop.set()
