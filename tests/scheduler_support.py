"""A day of real cs.CV announcements and chats with differing keywords, for chunked-tick tests and their child process."""
from __future__ import annotations

import datetime as dt

from core.config import ArxivSettings, DefaultsSettings, Settings
from core.models import ChatRef
from core.store import Store
from tests.delivery_support import fixture_papers, store_feed
from tests.recording_adapter import PLATFORM

UTC = dt.timezone.utc
DAY = dt.date(2026, 4, 21)
DUE_AT = dt.datetime(2026, 4, 21, 8, 0, tzinfo=UTC)
KEYWORDS = ("diffusion", "segmentation", "3D", "video", "point cloud", "detection", "generation")
# Nothing listens on port 9: the day is stored already, so nothing is fetched.
SETTINGS = Settings(
    arxiv=ArxivSettings(feed_url="http://127.0.0.1:9/rss/", api_url="http://127.0.0.1:9/api/query", max_retries=0),
    defaults=DefaultsSettings(categories=("cs.CV",), min_score=1.0, max_papers=8, summaries=False),
)


def chat_keywords(index: int) -> list[tuple[str, float]]:
    """Two or three keywords per chat, so neighbouring chats get different digests."""
    return [(KEYWORDS[(index + offset) % len(KEYWORDS)], 1.0) for offset in range(2 + index % 2)]


def populate(store: Store, chats: int) -> list[ChatRef]:
    """The day's papers stored as a fetch would, and `chats` chats due at DUE_AT (08:00 UTC)."""
    store_feed(store, DAY, fixture_papers("2026-04-21"))
    refs = []
    for index in range(chats):
        ref = ChatRef(PLATFORM, f"c{index}")
        store.get_or_create_chat(ref, SETTINGS.defaults)
        store.update_chat(ref, timezone="UTC", delivery_time=dt.time(8, 0))
        store.replace_terms(ref, "keyword", chat_keywords(index))
        refs.append(ref)
    return refs
