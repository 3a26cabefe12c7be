"""The static digest (the original bot's README page): config defaults scored over one stored day, summarized, rendered."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

from core.config import Settings
from core.digest import default_subscription, select_digests
from core.models import Digest
from core.render.markdown import render_markdown
from core.store import Store
from core.summarize import Summarizer


def latest_stored_day(store: Store, categories: tuple[str, ...]) -> dt.date | None:
    """The newest announcement day that has papers in any of the categories."""
    for day in store.announcement_days(limit=30):
        if store.papers_announced(day, categories):
            return day
    return None


def default_digest(settings: Settings, store: Store, day: dt.date) -> Digest:
    """config.json's defaults as one subscriber, scored over the day's stored papers."""
    subscription = default_subscription(settings)
    digests = select_digests(day, store.papers_announced(day), [subscription], settings.scoring, now=store.now())
    return digests[subscription.subscriber]


async def summarized(settings: Settings, store: Store, digest: Digest) -> Digest:
    """The digest with summaries of its top N papers (LLM when a key is set, else extractive)."""
    summarizer = Summarizer.from_settings(settings, store)
    try:
        return (await summarizer.summarize_digests({"static": digest}))["static"]
    finally:
        await summarizer.aclose()


def write_atomically(path: Path, text: str) -> None:
    """Replace the file in one step, so a crash never leaves a half-written page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def render_page(settings: Settings, digest: Digest) -> str:
    return render_markdown(digest, summary_settings=settings.summaries if digest.summaries else None)
