"""What the web app shows, read from the store: the default and per-chat digests of recent announcement days, with stored or extractive summaries."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.digests import DigestService
from core.config import Settings
from core.models import ChatSettings, Digest, Subscription
from core.store import Store
from core.summarize import Summarizer

FEED_DAYS = 7  # announcement days a feed spans: a week of mailings, enough for a weekly reader
ARCHIVE_DAYS = 60  # days listed in the page's archive


class DigestViews:
    """Read-only digests for pages and feeds; nothing here fetches from arXiv or calls an LLM."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        # Only for reading stored and extractive summaries: without an API key it never calls out.
        self.digests = DigestService(store, settings, summarizer=Summarizer(settings.summaries, store, api_key=None))

    def days(self, limit: int = ARCHIVE_DAYS) -> list[dt.date]:
        """Announcement days with stored papers, newest first."""
        return self.store.papers.announcement_days(limit)

    def latest_day(self) -> dt.date | None:
        """The day `/` shows: the same latest announcement day the CLI and chats use for the default categories."""
        return self.digests.latest_day(self.digests.default_subscription().categories)

    def default_digest(self, day: dt.date) -> Digest:
        return self.digest(day, self.digests.default_subscription(), self.settings.summaries.language, wanted=None)

    def digest(self, day: dt.date, subscription: Subscription, language: str, wanted: ChatSettings | None) -> Digest:
        """One day's digest for one subscription; when its reader wants summaries, its top N papers carry their
        stored summary, else the extractive one, as the Markdown digest and the chats show them."""
        return self.digests.with_stored_summaries(
            self.digests.digest_of(day, subscription), language, self.digests.wants_summaries(wanted)
        )

    def default_digests(self, category: str | None = None) -> Sequence[Digest]:
        subscription = self.digests.default_subscription(category)
        return [self.digest(day, subscription, self.settings.summaries.language, None) for day in self.days(FEED_DAYS)]

    def chat_digests(self, chat: ChatSettings) -> Sequence[Digest]:
        subscription = self.digests.subscription_for(chat)
        return [self.digest(day, subscription, chat.language, chat) for day in self.days(FEED_DAYS)]
