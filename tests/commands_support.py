"""Test helpers for the command language: recording CommandServices, contexts, and real papers as digests."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.arxiv.fetcher import Fetcher
from core.commands import CommandProcessor
from core.config import DefaultsSettings, Settings
from core.models import ChatRef, ChatSettings, CommandContext, Digest, Keyword, KeywordMatch, Paper, ScoredPaper
from core.store import Store
from tests.fakes.arxiv import load_paper_list

PAPERS_FILE = Path(__file__).parent / "fixtures" / "chats" / "papers_2025-10-22.jsonl"
FIXTURE_DAY = dt.date(2025, 10, 22)
CHAT = ChatRef("console", "tester")
SETTINGS = Settings(
    defaults=DefaultsSettings(categories=("cs.AI", "cs.CL"), keywords=("LLM",), exclude=("survey",))
)


def fixture_papers() -> list[Paper]:
    """Real papers of the 2025-10-22 announcement, in file order."""
    return load_paper_list(PAPERS_FILE, announced=FIXTURE_DAY)


def digest_of(papers: list[Paper], term: str = "LLM") -> Digest:
    return Digest(
        announcement_day=FIXTURE_DAY,
        papers=tuple(
            ScoredPaper(paper, 5.0 - index, matches=(KeywordMatch(term, True, False, 3.0),))
            for index, paper in enumerate(papers)
        ),
        categories=("cs.AI", "cs.CL"),
        keywords=(Keyword(term),),
        considered=24,
        generated_at=dt.datetime(2025, 10, 22, 12, 0, tzinfo=dt.timezone.utc),
    )


@dataclass
class FakeServices:
    """CommandServices with canned answers; records what the commands asked for."""

    digest: Digest | None = None
    search_results: list[Paper] = field(default_factory=list)
    next_at: dt.datetime | None = dt.datetime(2026, 9, 25, 8, 0, tzinfo=dt.timezone.utc)
    status_line: str = "fetching normally."
    searches: list[tuple[str, int]] = field(default_factory=list)
    digests_for: list[ChatSettings] = field(default_factory=list)
    fetcher: Fetcher | None = None  # papers by id: a real Fetcher (on the loopback arXiv) when a test needs them

    async def digest_now(self, chat: ChatSettings) -> Digest:
        self.digests_for.append(chat)
        return self.digest or digest_of([])

    async def search(self, query: str, limit: int) -> list[Paper]:
        self.searches.append((query, limit))
        return self.search_results[:limit]

    async def papers_by_id(self, arxiv_ids: Sequence[str]) -> dict[str, Paper]:
        assert self.fetcher is not None, "this test needs FakeServices(fetcher=...)"
        return await self.fetcher.papers_by_id(arxiv_ids)

    def next_delivery(self, chat: ChatSettings) -> dt.datetime | None:
        return None if chat.paused else self.next_at

    def feed_url(self, chat: ChatSettings, *, saved: bool = False) -> str:
        return f"http://127.0.0.1:8000/feeds/chat/{chat.feed_token}{'/saved' if saved else ''}.xml"

    def arxiv_status(self) -> str:
        return self.status_line


def context(can_change: bool = True, chat: ChatRef = CHAT, user_id: str = "U1") -> CommandContext:
    return CommandContext(chat=chat, user_id=user_id, can_change_settings=can_change, chat_kind="group")


def processor(store: Store, services: FakeServices | None = None) -> CommandProcessor:
    return CommandProcessor(store, SETTINGS, services or FakeServices())
