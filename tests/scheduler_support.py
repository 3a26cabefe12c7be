"""Days of real cs.CV announcements and chats with differing keywords, for chunked-tick and weekly tests and their child process."""
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


def populate(store: Store, chats: int, *, store_day: bool = True) -> list[ChatRef]:
    """The day's papers stored as a fetch would (with `store_day`), and `chats` chats due at DUE_AT (08:00 UTC)."""
    if store_day:
        store_feed(store, DAY, fixture_papers("2026-04-21"))
    refs = []
    for index in range(chats):
        ref = ChatRef(PLATFORM, f"c{index}")
        store.chats.get_or_create_chat(ref, SETTINGS.defaults)
        store.chats.update_chat(ref, timezone="UTC", delivery_time=dt.time(8, 0))
        store.chats.replace_terms(ref, "keyword", chat_keywords(index))
        refs.append(ref)
    return refs


# A weekly digest due Wednesday 2026-04-22 08:00 UTC covers the five announcement days whose feed came out in the
# week before: Thu 16, Fri 17 and Mon 20 (stored as fetched, with no cs.CV paper of ours), Tue 21 and Wed 22 (real).
NEXT_DAY = dt.date(2026, 4, 22)
WEEK = (dt.date(2026, 4, 16), dt.date(2026, 4, 17), dt.date(2026, 4, 20), DAY, NEXT_DAY)
WEEK_DUE_AT = dt.datetime(2026, 4, 22, 8, 0, tzinfo=UTC)
WEDNESDAY = 2


def store_week(store: Store) -> None:
    """The week's announcement days as the fetches of each would leave them."""
    for day in WEEK[:3]:
        store_feed(store, day, [])
    store_feed(store, DAY, fixture_papers("2026-04-21"))
    store_feed(store, NEXT_DAY, fixture_papers("2026-04-22"))


def make_weekly(store: Store, ref: ChatRef, weekday: int = WEDNESDAY) -> None:
    store.chats.update_chat(ref, schedule="weekly", weekly_day=weekday, timezone="UTC", delivery_time=dt.time(8, 0))
