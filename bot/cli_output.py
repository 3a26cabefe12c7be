"""How the CLI talks while it works: one log style for fetch progress and warnings, and a progress bar for the
LLM phase that log lines never break into."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from core.redaction import install_redaction

if TYPE_CHECKING:
    from core.models import Paper, Summary
    from core.summarize import Summarizer

# Client libraries that log every HTTP request at INFO (httpx's URLs would even show a Telegram token): -v only.
CHATTY_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "arxiv")
SERVICE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # serve and -v: a log to read back later


class ShortFormatter(logging.Formatter):
    """One-shot commands: "... what happens" for progress, "warning: ..." for trouble, like the commands' own lines."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return f"... {text}" if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


def configure_logging(verbose: bool, long_running: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(SERVICE_FORMAT) if verbose or long_running else ShortFormatter("%(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])
    # Every record of every logger reaches this handler: tokens, keys and feed tokens are blanked there.
    install_redaction()
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


async def summaries_with_progress(summarizer: Summarizer, papers: Sequence[Paper], language: str) -> dict[str, Summary]:
    """Summaries of the papers with a progress bar; log lines printed meanwhile go above the bar, not into it."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm(), tqdm(total=len(papers), unit="paper", desc="summaries") as progress:

        async def one(paper: Paper) -> dict[str, Summary]:
            result = await summarizer.summarize_papers([paper], language)
            progress.update(1)
            return result

        results = await asyncio.gather(*(one(paper) for paper in papers))
    return {arxiv_id: summary for result in results for arxiv_id, summary in result.items()}


class ProgressSummarizer:
    """A summarizer whose summaries show the progress bar, for a digest the CLI builds (bot.digests.PaperSummarizer)."""

    def __init__(self, summarizer: Summarizer) -> None:
        self.summarizer = summarizer

    async def summarize_papers(self, papers: Sequence[Paper], language: str) -> dict[str, Summary]:
        return await summaries_with_progress(self.summarizer, papers, language)

    def stored_or_extractive(self, papers: Sequence[Paper], language: str) -> dict[str, Summary]:
        return self.summarizer.stored_or_extractive(papers, language)
