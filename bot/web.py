"""The ASGI web app: digest pages, RSS/Atom feeds, health, and the adapters' HTTP routes, served by uvicorn.

URLs: `/` (latest digest), `/day/YYYY-MM-DD` (archive), `/feeds/all.xml`, `/feeds/<category>.xml`,
`/feeds/chat/<token>.xml`; `.xml` is RSS 2.0 and `.atom` the same feed as Atom 1.0. `/healthz`.
Nothing here fetches from arXiv or calls an LLM: the scheduler does that, these only read the store.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from typing import Protocol
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.health import HealthCheck, HealthState, health_report
from bot.web_cache import FEED_MAX_AGE_SECONDS, RenderCache, VersionClock, conditional_response
from bot.web_health import announcements_check
from bot.web_limits import BodyLimit
from bot.web_pages import PageRenderer
from bot.web_views import DigestViews
from core.categories import canonical_category
from core.config import Settings
from core.models import ChatSettings, Digest
from core.render.feeds import FeedFormat, FeedInfo, feed_entries, render_feed, saved_entries
from core.store import STORE_FAILURES, Store

log = logging.getLogger(__name__)

FEED_EXTENSIONS: dict[str, FeedFormat] = {"xml": "rss", "atom": "atom"}
FEED_MEDIA_TYPES: dict[FeedFormat, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}
# Matched with fullmatch: `$` would also accept a trailing newline (`/feeds/all.xml%0A`).
_FEED_FILE = re.compile(r"(?P<stem>[A-Za-z0-9._-]{1,64})\.(?P<ext>xml|atom)")
SAVED_FEED_STEM = "saved"  # /feeds/chat/<token>/saved.xml: the chat's reading list
MAX_SAVED_FEED_ENTRIES = 200
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_HOST = re.compile(r"(?:[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?")
# Headers every response carries: no sniffing, no framing, and pages that may load nothing but their own CSS.
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"no-referrer",
    b"content-security-policy": b"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}
# Sent when web.public_url is https: browsers keep to https for a year (RFC 6797).
HSTS_HEADER = (b"strict-transport-security", b"max-age=31536000")


class HealthProbe(Protocol):
    """What the process running the scheduler tells /healthz about it."""

    def scheduler_alive(self) -> bool: ...


class NotFound(Exception):
    """The path names no page or feed we serve (bad category, unknown token, no such day): one answer for all."""


def feed_path(feed_format: FeedFormat = "rss", *, category: str | None = None, token: str | None = None, saved: bool = False) -> str:
    extension = next(ext for ext, fmt in FEED_EXTENSIONS.items() if fmt == feed_format)
    if token is not None:
        return f"/feeds/chat/{token}/{SAVED_FEED_STEM}.{extension}" if saved else f"/feeds/chat/{token}.{extension}"
    return f"/feeds/{category or 'all'}.{extension}"


def site_url(settings: Settings, request: Request | None = None) -> str:
    """web.public_url when set; else the address the request came to (a plain Host only); else this machine's port."""
    if settings.web.public_url:
        return settings.web.public_url.rstrip("/")
    host = request.headers.get("host", "") if request is not None else ""
    if _HOST.fullmatch(host):
        return f"{request.url.scheme}://{host}"  # type: ignore[union-attr]
    return settings.web.link_base


def feed_url(settings: Settings, chat: ChatSettings, feed_format: FeedFormat = "rss", *, saved: bool = False) -> str:
    """A chat's personal feed address (or its reading list's), as the `feed` command shows it."""
    return site_url(settings) + feed_path(feed_format, token=chat.feed_token, saved=saved)


def security_headers(settings: Settings) -> dict[bytes, bytes]:
    """SECURITY_HEADERS, plus HSTS when the site's configured address is https (a plain-http site must not send it)."""
    if settings.web.public_url.lower().startswith("https://"):
        return {**SECURITY_HEADERS, HSTS_HEADER[0]: HSTS_HEADER[1]}
    return dict(SECURITY_HEADERS)


class _SecurityHeaders:
    def __init__(self, app: ASGIApp, headers: dict[bytes, bytes]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.headers.items() if name not in present]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _AppWithHeaders(Starlette):
    """Starlette whose every response carries the security headers, its 500 pages included, and whose bodies are capped.

    Starlette puts ServerErrorMiddleware (which renders the 500 handler) outside user middleware, so the
    headers are added around the whole stack instead.
    """

    security_headers: dict[bytes, bytes] = SECURITY_HEADERS

    def build_middleware_stack(self) -> ASGIApp:
        return _SecurityHeaders(BodyLimit(super().build_middleware_stack()), self.security_headers)


class WebApp:
    """The routes' handlers, holding the store, settings and health probe they answer from."""

    def __init__(
        self, store: Store, settings: Settings, health: HealthProbe | None, health_checks: Sequence[HealthCheck] = ()
    ) -> None:
        self.store = store
        self.settings = settings
        self.health = health
        self.health_checks = list(health_checks)
        self.views = DigestViews(store, settings)
        self.pages = PageRenderer(settings)
        self.versions = VersionClock(store.now)
        self.rendered = RenderCache(store.now)
        self.zone = ZoneInfo(settings.arxiv.announcement_timezone)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.latest_page, methods=["GET", "HEAD"]),
            Route("/day/{day}", self.day_page, methods=["GET", "HEAD"]),
            Route("/feeds/chat/{file}", self.chat_feed, methods=["GET", "HEAD"]),
            Route("/feeds/chat/{token}/{file}", self.saved_feed, methods=["GET", "HEAD"]),
            Route("/feeds/{file}", self.public_feed, methods=["GET", "HEAD"]),
            Route("/healthz", self.healthz, methods=["GET", "HEAD"]),
        ]

    async def latest_page(self, request: Request) -> Response:
        html = await run_in_threadpool(self.rendered.get_or_render, ("page", None), lambda: self._page(None))
        return HTMLResponse(html, headers={"Cache-Control": "public, max-age=300"})

    async def day_page(self, request: Request) -> Response:
        text = request.path_params["day"]
        try:
            day = dt.date.fromisoformat(text) if _DAY.fullmatch(text) else None
        except ValueError:
            day = None
        if day is None:
            raise NotFound(text)
        html = await run_in_threadpool(self.rendered.get_or_render, ("page", day), lambda: self._page(day))
        return HTMLResponse(html, headers={"Cache-Control": "public, max-age=3600"})

    def _page(self, day: dt.date | None) -> bytes:
        days = self.views.days()
        if day is not None and day not in days and not self.store.papers.has_announcement_day(day):
            raise NotFound(day.isoformat())  # a stored day older than the archive list is still served
        shown = day or self.views.latest_day()
        digest = self.views.default_digest(shown) if shown else None
        return self.pages.digest_page(digest, days).encode()

    async def public_feed(self, request: Request) -> Response:
        stem, feed_format = _feed_file(request.path_params["file"])
        category = None if stem == "all" else canonical_category(stem)
        if stem != "all" and category != stem:
            raise NotFound(stem)
        title = "arXiv digest" + (f": {category}" if category else "")
        info = self._feed_info(
            request, feed_path(feed_format, category=category), title, "Papers picked by the default keywords.",
            self.settings.summaries.language,
        )
        return await self._digest_feed(
            request, ("feed", category, feed_format, info.page_url), lambda: self.views.default_digests(category), info,
            feed_format, shared=True,
        )

    async def _chat_with_token(self, token: str) -> ChatSettings:
        """The active chat this feed token belongs to (compared in constant time by the store), else 404."""
        chat = await run_in_threadpool(self.store.chats.chat_by_feed_token, token)
        if chat is None or not chat.active:
            raise NotFound("feed token")
        return chat

    async def chat_feed(self, request: Request) -> Response:
        token, feed_format = _feed_file(request.path_params["file"])
        chat = await self._chat_with_token(token)
        info = self._feed_info(
            request, feed_path(feed_format, token=token), f"arXiv digest for {chat.title or 'your chat'}",
            "Your chat's daily arXiv digest.", chat.language,
        )
        # not shared: the URL is a secret, so shared caches must not keep a copy under it.
        return await self._digest_feed(
            request, ("chat", token, feed_format, info.page_url), lambda: self.views.chat_digests(chat), info,
            feed_format, shared=False,
        )

    async def _digest_feed(
        self, request: Request, key: tuple[object, ...], digests: Callable[[], Sequence[Digest]], info: FeedInfo,
        feed_format: FeedFormat, *, shared: bool,
    ) -> Response:
        """A feed of digests, rendered once per version (the render cache) and answered with 304 when unchanged."""
        body = await run_in_threadpool(
            self.rendered.get_or_render, key, lambda: self._feed_body(digests(), info, feed_format)
        )
        cache = f"{'public' if shared else 'private'}, max-age={FEED_MAX_AGE_SECONDS}"
        return conditional_response(request, body, FEED_MEDIA_TYPES[feed_format], self.versions, cache)

    async def saved_feed(self, request: Request) -> Response:
        """The chat's reading list, newest saved first; the same token rules and 404s as its digest feed."""
        stem, feed_format = _feed_file(request.path_params["file"])
        token, _ = _feed_file(request.path_params["token"] + ".xml")  # the same characters a token may have
        if stem != SAVED_FEED_STEM:
            raise NotFound(stem)
        chat = await self._chat_with_token(token)
        info = self._feed_info(
            request, feed_path(feed_format, token=token, saved=True), f"Reading list of {chat.title or 'your chat'}",
            "Papers saved with 🔖 or the save command, newest first.", chat.language,
        )
        body = await run_in_threadpool(self._saved_body, chat, info, feed_format)
        cache = f"private, max-age={FEED_MAX_AGE_SECONDS}"
        return conditional_response(request, body, FEED_MEDIA_TYPES[feed_format], self.versions, cache)

    def _saved_body(self, chat: ChatSettings, info: FeedInfo, feed_format: FeedFormat) -> bytes:
        saved = self.store.saved.saved_papers(chat.ref, MAX_SAVED_FEED_ENTRIES)
        return render_feed(saved_entries([(entry.paper, entry.saved_at) for entry in saved]), info, feed_format, self.zone)

    def _feed_info(self, request: Request, path: str, title: str, description: str, language: str) -> FeedInfo:
        base = site_url(self.settings, request)
        return FeedInfo(self_url=base + path, page_url=base + "/", title=title, description=description, language=language)

    def _feed_body(self, digests: Sequence[Digest], info: FeedInfo, feed_format: FeedFormat) -> bytes:
        return render_feed(feed_entries(digests), info, feed_format, self.zone)

    async def healthz(self, request: Request) -> Response:
        report = await run_in_threadpool(health_report, [self._store_health, self._announcements_health, self._scheduler_health, *self.health_checks])
        healthy = report["status"] == "ok"
        return JSONResponse(report, status_code=200 if healthy else 503, headers={"Cache-Control": "no-store"})

    def _store_health(self) -> list[HealthState]:
        """The store is readable and takes writes, and the last good fetch is recent enough."""
        try:
            last = self.store.papers.last_fetch(("ok", "empty"))
        except STORE_FAILURES:
            log.exception("health check: the store cannot be read")
            return [HealthState("store", "unreachable", "store")]
        if self.store.write_failure is not None:
            store = HealthState("store", f"unwritable: {self.store.write_failure}", "store")
        else:
            store = HealthState("store", "ok")
        if last is None:
            return [store, HealthState("last_fetch", None)]
        fetched_at = dt.datetime.fromisoformat(last["fetched_at"])
        age = (self.store.now() - fetched_at).total_seconds()
        stale = age > self.settings.web.max_fetch_age_hours * 3600
        fetch = {"at": last["fetched_at"], "age_seconds": round(age), "status": last["status"]}
        return [store, HealthState("last_fetch", fetch, "fetch" if stale else "")]

    def _announcements_health(self) -> list[HealthState]:
        try:
            report, announced_in_time = announcements_check(self.store, self.settings, self.store.now())
        except STORE_FAILURES:
            return []  # the store check reports it
        return [HealthState("announcements", report, "" if announced_in_time else "announcements")]

    def _scheduler_health(self) -> list[HealthState]:
        if self.health is None:
            return [HealthState("scheduler", "not in this process")]
        if self.health.scheduler_alive():
            return [HealthState("scheduler", "alive")]
        return [HealthState("scheduler", "stopped", "scheduler")]


def _feed_file(name: str) -> tuple[str, FeedFormat]:
    matched = _FEED_FILE.fullmatch(name)
    if not matched:
        raise NotFound(name)
    return matched.group("stem"), FEED_EXTENSIONS[matched.group("ext")]


def create_app(
    store: Store,
    settings: Settings,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    health: HealthProbe | None = None,
    health_checks: Sequence[HealthCheck] = (),
) -> Starlette:
    """The one ASGI app of the process; adapters' webhook routes come in as extra_routes, more /healthz checks as health_checks."""
    web = WebApp(store, settings, health, health_checks)

    async def not_found(request: Request, exc: Exception) -> Response:
        return HTMLResponse(web.pages.error_page(404, "Not found", "There is no page or feed at this address."), status_code=404)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        if status == 404:
            return await not_found(request, exc)
        return HTMLResponse(web.pages.error_page(status, "Request refused", "This address does not answer that request."), status_code=status)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("error serving %s", request.url.path)
        return HTMLResponse(web.pages.error_page(500, "Something went wrong", "The error was logged; please try again later."), status_code=500)

    app = _AppWithHeaders(
        debug=False,
        routes=[*extra_routes, *web.routes()],
        exception_handlers={NotFound: not_found, HTTPException: http_error, Exception: server_error},
    )
    app.security_headers = security_headers(settings)
    # Starlette's trailing-slash redirect builds its Location from the request's Host header
    # (`Host: evil.example` on /healthz/ sent readers elsewhere); a path we do not serve is a 404.
    app.router.redirect_slashes = False
    return app

