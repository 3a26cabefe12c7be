"""What the web app shows, read from the store: the default and per-chat digests of recent announcement days, with cached summaries."""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from core.config import Settings
from core.digest import default_subscription, select_digests
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
        # Only for reading the cache and extractive summaries: without an API key it never calls out.
        self._summaries = Summarizer(settings.summaries, store, api_key=None)

    def days(self, limit: int = ARCHIVE_DAYS) -> list[dt.date]:
        """Announcement days with stored papers, newest first."""
        return self.store.announcement_days(limit)

    def default_subscription(self, category: str | None = None) -> Subscription:
        subscription = default_subscription(self.settings)
        if category is None:
            return subscription
        return dataclasses.replace(subscription, subscriber=f"category:{category}", categories=(category,))

    def digest(self, day: dt.date, subscription: Subscription, language: str, with_summaries: bool = True) -> Digest:
        """One day's digest for one subscription; its top N papers carry their cached summary, else the
        extractive one, as the Markdown digest and the chats show them."""
        papers = self.store.papers_announced(day, subscription.categories)
        selected = select_digests(day, papers, [subscription], self.settings.scoring, now=self.store.now())
        digest = selected[subscription.subscriber]
        if not with_summaries or not self.settings.summaries.enabled:
            return digest
        shown = [scored.paper for scored in digest.papers[: self.settings.summaries.top_n]]
        return dataclasses.replace(digest, summaries=self._summaries.stored_or_extractive(shown, language))

    def recent_digests(self, subscription: Subscription, language: str, with_summaries: bool = True) -> list[Digest]:
        """The subscription's digests of the last FEED_DAYS announcement days, newest first."""
        return [self.digest(day, subscription, language, with_summaries) for day in self.days(FEED_DAYS)]

    def default_digests(self, category: str | None = None) -> Sequence[Digest]:
        return self.recent_digests(self.default_subscription(category), self.settings.summaries.language)

    def chat_digests(self, chat: ChatSettings) -> Sequence[Digest]:
        return self.recent_digests(chat.subscription(), chat.language, with_summaries=chat.summaries)
