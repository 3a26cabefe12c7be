"""An email world for tests: a real SMTP server on loopback, the real web app on a known port, the app and a clock."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path

import httpx

from adapters.email import EmailAdapter
from adapters.email_links import LinkSigner, SiteLinks
from adapters.email_smtp import SmtpSender, parse_smtp_url
from bot.app import App, StoreEvents
from core.arxiv.fetcher import Fetcher
from core.clock import Clock
from core.config import DefaultsSettings, EmailSettings, Settings, WebSettings
from core.store import Store
from tests.delivery_support import FakeClock, fixture_papers, store_feed
from tests.fakes.server import serve_asgi
from tests.fakes.smtp import PASSWORD, SmtpServer, free_port
from tests.test_scheduler import KEYWORDS, TUESDAY, UNREACHABLE_ARXIV, WEDNESDAY

UTC = dt.timezone.utc
LINK_SECRET = "test-link-secret-0123456789"
SENDER = "arXiv digest <digest@example.org>"
LINK = re.compile(r"https?://\S+")


def email_settings(web_port: int) -> Settings:
    return Settings(
        arxiv=UNREACHABLE_ARXIV,
        defaults=DefaultsSettings(categories=("cs.CV",), keywords=KEYWORDS, min_score=1.0, max_papers=12, summaries=False),
        web=WebSettings(public_url=f"http://127.0.0.1:{web_port}", port=web_port),
        email=EmailSettings(sender=SENDER, timeout_seconds=5),
    )


def build_adapter(settings: Settings, store: Store, smtp_url: str, clock: Clock) -> EmailAdapter:
    sender = SmtpSender(parse_smtp_url(smtp_url, PASSWORD), settings.email.timeout_seconds)
    links = SiteLinks(settings.web.link_base, LinkSigner(LINK_SECRET, clock))
    return EmailAdapter(settings.email, sender, links, StoreEvents(store, settings.defaults.categories), clock)


class EmailWorld:
    """Tuesday and Wednesday's real cs.CV announcements stored; the app with only the email adapter."""

    def __init__(self, tmp_path: Path, smtp: SmtpServer) -> None:
        self.clock = FakeClock(dt.datetime(2026, 4, 21, 5, 0, tzinfo=UTC))
        self.web_port = free_port()
        self.settings = email_settings(self.web_port)
        self.store = Store(tmp_path / "email.db", clock=self.clock)
        store_feed(self.store, TUESDAY, fixture_papers("2026-04-21"))
        store_feed(self.store, WEDNESDAY, fixture_papers("2026-04-22"))
        self.smtp = smtp
        self.adapter = build_adapter(self.settings, self.store, smtp.url, self.clock)
        fetcher = Fetcher(self.settings.arxiv, self.store, clock=self.clock)
        self.app = App(self.settings, self.store, [self.adapter], fetcher=fetcher)

    async def tick_at(self, *parts: int):
        return await self.app.scheduler.tick(self.clock.set(dt.datetime(*parts, tzinfo=UTC)))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[httpx.AsyncClient]:
        """The adapter started and the real web app served at web.public_url; yields a client for it."""
        await self.adapter.start(self.app.handle_command)
        try:
            async with serve_asgi(self.app.web_app(), self.web_port) as base, httpx.AsyncClient(base_url=base) as client:
                yield client
        finally:
            await self.adapter.stop()
            await self.app.fetcher.aclose()
            self.store.close()


def text_part(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def links_in(message: EmailMessage, kind: str) -> list[str]:
    """The links to /email/<kind>/... in the text part."""
    return [url for url in LINK.findall(text_part(message)) if f"/email/{kind}/" in url]
