"""The one way a digest is built, for the scheduler, chat commands, the web pages and feeds, the CLI and static mode:
which subscription, which announcement day, fetched if allowed, scored once, filtered against the outbox once,
summaries attached once (only where summaries are enabled and the reader wants them)."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from bot.schedule_times import week_so_far
from core.arxiv.calendar import current_announcement_day
from core.config import Settings
from core.aliases import MIN_PAPERS_FOR_LEARNED_ALIAS, AliasTable, paper_definitions, table_with
from core.day_terms import DayTerms
from core.digest import DayDigests, default_subscription, select_digests
from core.models import WEEKLY, ChatRef, ChatSettings, Digest, DigestPlan, FetchResult, Paper, Subscription, Summary
from core.store import Store

log = logging.getLogger(__name__)

FETCH_RETRY_SECONDS = 300.0  # after a failed or incomplete fetch of a day, wait this long before the next
LATEST_DAY_SEARCH = 30  # stored announcement days looked through for the newest one with a reader's categories


class DayFetcher(Protocol):
    async def fetch_day(self, categories: Sequence[str]) -> FetchResult: ...

    async def backfill(self, since: dt.date, categories: Sequence[str]) -> int: ...

    async def aclose(self) -> None: ...


class PaperSummarizer(Protocol):
    async def summarize_papers(self, papers: Sequence[Paper], language: str) -> dict[str, Summary]: ...

    def stored_or_extractive(self, papers: Sequence[Paper], language: str) -> dict[str, Summary]: ...


class DigestService:
    """Builds digests; without a fetcher it only reads what is stored, without a summarizer it attaches none."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        fetcher: DayFetcher | None = None,
        summarizer: PaperSummarizer | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.fetcher = fetcher
        self.summarizer = summarizer
        self.clock = clock or store.now
        self._fetch_retry_at: dict[dt.date, dt.datetime] = {}
        self._fetch_lock = asyncio.Lock()  # a tick and a chat's `digest` never fetch the same day twice
        self.day_terms = DayTerms()  # where terms occur in the latest days' papers, for every scoring pass

    # -- whose digest, of which day -------------------------------------------------------------

    def subscription_for(self, chat: ChatSettings) -> Subscription:
        """The chat's subscription; no categories of its own means the configured default ones (made in one go,
        not replaced after: a tick asks this of 100,000 chats)."""
        return chat.subscription(self.settings.defaults.categories)

    def default_subscription(self, category: str | None = None, *, max_papers: int | None = None) -> Subscription:
        """config.json's defaults (the static page, the web page, the feeds), optionally narrowed to one category
        or with another limit on papers (the CLI's --max)."""
        subscription = default_subscription(self.settings)
        if max_papers is not None:
            subscription = dataclasses.replace(subscription, max_papers=max_papers)
        if category is None:
            return subscription
        return dataclasses.replace(subscription, subscriber=f"category:{category}", categories=(category,))

    def current_day(self, now: dt.datetime) -> dt.date:
        """The newest announcement day whose feed is out at `now` (by arXiv's calendar, stored or not)."""
        return current_announcement_day(now, self.settings.arxiv.holidays, self.settings.arxiv.announcement_timezone)

    def latest_day(self, categories: Sequence[str]) -> dt.date | None:
        """The digest day everywhere: the newest stored announcement day with papers in any of the categories
        (all categories when none are given); None when nothing is stored."""
        for day in self.store.papers.announcement_days(limit=LATEST_DAY_SEARCH):
            if self.store.papers.papers_announced(day, categories):
                return day
        return None

    async def ensure_fetched(self, day: dt.date, categories: set[str], now: dt.datetime) -> set[str]:
        """Fetch what is missing for the day (one call for the union); returns the categories stored."""
        async with self._fetch_lock:
            fetched = self.store.papers.fetched_categories(day)
            missing = sorted(categories - fetched)
            if self.fetcher is None or not missing or now < self._fetch_retry_at.get(day, now):
                return fetched
            try:
                if day == self.current_day(now):
                    await self.fetcher.fetch_day(missing)
                else:
                    await self.fetcher.backfill(day, missing)
            except Exception as error:  # ArxivError and anything unexpected: the day waits, others go on
                log.warning("fetching %s for %s failed: %s", "+".join(missing), day, error)
            before = fetched
            fetched = self.store.papers.fetched_categories(day)
            if fetched - before:
                self.learn_acronyms(day, sorted(fetched - before))
            if categories - fetched:
                self._fetch_retry_at[day] = now + dt.timedelta(seconds=FETCH_RETRY_SECONDS)
            else:
                self._fetch_retry_at.pop(day, None)
            return fetched

    def week_so_far(self, chat: ChatSettings, now: dt.datetime) -> tuple[dt.date, ...]:
        """The announcement days of the weekly chat's next digest that are out by `now` (bot/schedule_times.py)."""
        outbox = self.store.outbox
        return week_so_far(
            chat,
            now,
            outbox.latest_digest_days(chat.ref).get(chat.ref),
            owed_from=outbox.chats_owed_from(chat.ref).get(chat.ref),
            holidays=self.settings.arxiv.holidays,
            arxiv_timezone=self.settings.arxiv.announcement_timezone,
        )

    # -- scoring ----------------------------------------------------------------------------------

    def build_digests(
        self,
        day: dt.date,
        chats: Sequence[ChatSettings],
        now: dt.datetime,
        *,
        exclude_delivered: bool = True,
        week: Sequence[dt.date] = (),
    ) -> ChatDigests:
        """All these chats' digests for the day in one scoring pass, by default without papers they already have;
        with `week` (announcement days ending with `day`), their weekly digests over those days.

        Each Digest is built when it is read and not kept (core.digest.DayDigests): the scheduler plans from
        the selection's entries and builds a chat's Digest only when delivery reaches the chat."""
        subscriptions = [self.subscription_for(chat) for chat in chats]
        days = week or (day,)
        # The whole stored day (or week), whatever the chats read: the relevance ranking weighs terms over it,
        # so a chat's `digest`, the tick, the page and the feeds order the same papers the same way.
        papers = [paper for each_day in days for paper in self.store.papers.papers_announced(each_day)]
        delivered: dict[str, set[str]] = defaultdict(set)
        for each_day in days if exclude_delivered else ():
            for ref, arxiv_ids in self.store.outbox.delivered_on_day(each_day).items():
                delivered[ref.subscriber] |= arxiv_ids
        by_subscriber = select_digests(
            day, papers, subscriptions, self.settings.scoring, delivered, now=now, aliases=self.aliases(), week=week, day_terms=self.day_terms
        )
        return ChatDigests([chat.ref for chat in chats], by_subscriber)

    def digest_of(self, day: dt.date, subscription: Subscription) -> Digest:
        """One subscription's digest of a stored day (nothing delivered is left out: pages and feeds show all)."""
        papers = self.store.papers.papers_announced(day)
        digests = select_digests(
            day, papers, [subscription], self.settings.scoring, now=self.clock(), aliases=self.aliases(), day_terms=self.day_terms
        )
        return digests[subscription.subscriber]

    def aliases(self) -> AliasTable:
        """The curated aliases and the acronyms stored papers define one dominant way."""
        return table_with(self.store.papers.acronym_definitions(MIN_PAPERS_FOR_LEARNED_ALIAS))

    def learn_acronyms(self, day: dt.date, categories: Sequence[str]) -> None:
        """Count the acronym definitions of the day's newly fetched papers (core/aliases.py)."""
        papers = self.store.papers.papers_announced(day, categories)
        self.store.papers.record_acronyms(pair for paper in papers for pair in paper_definitions(paper.title, paper.abstract))

    # -- summaries --------------------------------------------------------------------------------

    def wants_summaries(self, chat: ChatSettings | None = None) -> bool:
        """Summaries are shown when the service has them on and the reader (a chat, or the defaults) wants them."""
        wanted = self.settings.defaults.summaries if chat is None else chat.summaries
        return self.settings.summaries.enabled and wanted

    async def with_summaries(self, planned: list[tuple[ChatSettings, Digest]]) -> list[tuple[ChatSettings, Digest]]:
        """Summarize the union of the shown papers once per language; attach each chat's share."""
        summaries = await self.summaries_for((chat, [scored.paper for scored in digest.papers]) for chat, digest in planned)
        return [(chat, self.with_chat_summaries(chat, digest, summaries)) for chat, digest in planned]

    async def summaries_for(self, shown: Iterable[tuple[ChatSettings, Sequence[Paper]]]) -> dict[str, dict[str, Summary]]:
        """Per language, the summaries of the union of the papers each chat shows first (its top N, in digest
        order) where the chat wants summaries: each paper summarized once, whichever chats show it."""
        if self.summarizer is None:
            return {}
        top_n = self.settings.summaries.top_n
        wanted: dict[str, dict[str, Paper]] = defaultdict(dict)
        for chat, papers in shown:
            if self.wants_summaries(chat):
                wanted[chat.language].update((paper.arxiv_id, paper) for paper in papers[:top_n])
        summaries: dict[str, dict[str, Summary]] = {}
        for language, papers_by_id in wanted.items():
            try:
                summaries[language] = await self.summarizer.summarize_papers(list(papers_by_id.values()), language)
            except Exception:  # the summarizer promises not to raise; a digest without summaries still goes out
                log.exception("summarizing %d papers in %s failed", len(papers_by_id), language)
        return summaries

    def with_chat_summaries(self, chat: ChatSettings, digest: Digest, summaries: Mapping[str, Mapping[str, Summary]]) -> Digest:
        """The digest with its top N's summaries from `summaries_for`, when the chat wants them."""
        if self.summarizer is None or not self.wants_summaries(chat):
            return digest
        return _attach(digest, summaries.get(chat.language, {}), self.settings.summaries.top_n)

    async def with_default_summaries(self, digest: Digest) -> Digest:
        """A digest read by config.json's defaults (the static page) with summaries of its top N, when wanted."""
        if self.summarizer is None or not self.wants_summaries():
            return digest
        top_n = self.settings.summaries.top_n
        papers = [scored.paper for scored in digest.papers[:top_n]]
        return _attach(digest, await self.summarizer.summarize_papers(papers, self.settings.summaries.language), top_n)

    def with_stored_summaries(self, digest: Digest, language: str, wanted: bool) -> Digest:
        """The digest's top N with their stored summary, else the extractive one (pages and feeds never call an LLM)."""
        if self.summarizer is None or not (wanted and self.settings.summaries.enabled):
            return digest
        papers = [scored.paper for scored in digest.papers[: self.settings.summaries.top_n]]
        return dataclasses.replace(digest, summaries=self.summarizer.stored_or_extractive(papers, language))

    # -- a chat's `digest` command ----------------------------------------------------------------

    async def chat_digest_now(self, chat: ChatSettings) -> Digest:
        """The chat's digest of the latest announcement day (fetching today's first), or for a weekly chat of its
        week so far (each day fetched): a preview, not a delivery, so papers already delivered are shown too and
        nothing is planned."""
        now = self.clock()
        categories = self.subscription_for(chat).categories
        if chat.schedule == WEEKLY:
            week = self.week_so_far(chat, now)
            for day in week:
                await self.ensure_fetched(day, set(categories), now)
            digest = self.build_digests(week[-1], [chat], now, exclude_delivered=False, week=week)[chat.ref]
        else:
            await self.ensure_fetched(self.current_day(now), set(categories), now)
            day = self.latest_day(categories) or self.current_day(now)
            digest = self.build_digests(day, [chat], now, exclude_delivered=False)[chat.ref]
        ((_, digest),) = await self.with_summaries([(chat, digest)])
        return digest


class ChatDigests(Mapping[ChatRef, Digest]):
    """The day's digests keyed by chat instead of by subscriber, still built one at a time when read; the outbox
    entries and the selected papers can be read without building them."""

    def __init__(self, refs: Sequence[ChatRef], by_subscriber: DayDigests) -> None:
        self._refs = tuple(dict.fromkeys(refs))
        self._by_subscriber = by_subscriber

    def __getitem__(self, ref: ChatRef) -> Digest:
        return self._by_subscriber[ref.subscriber]

    def __iter__(self) -> Iterator[ChatRef]:
        return iter(self._refs)

    def __len__(self) -> int:
        return len(self._refs)

    def plans(self, refs: Sequence[ChatRef]) -> dict[ChatRef, DigestPlan]:
        """These chats' digests as the outbox plans them (DayDigests.plans: one pass for a chunk of chats)."""
        return dict(zip(refs, self._by_subscriber.plans([ref.subscriber for ref in refs])))

    def papers(self, arxiv_ids: Iterable[str]) -> list[Paper]:
        """The day's (week's) papers a digest shows under these arXiv ids, in their order (others are left out,
        as `planned` leaves them out of the digest)."""
        return [paper for arxiv_id in arxiv_ids if (paper := self._by_subscriber.paper(arxiv_id)) is not None]

    def planned(self, ref: ChatRef, arxiv_ids: Collection[str]) -> Digest:
        """The chat's digest restricted to the papers the outbox planned (others were already delivered)."""
        digest = self[ref]
        return dataclasses.replace(digest, papers=tuple(p for p in digest.papers if p.paper.arxiv_id in arxiv_ids))


def _attach(digest: Digest, summaries: Mapping[str, Summary], top_n: int) -> Digest:
    shown = {scored.paper.arxiv_id for scored in digest.papers[:top_n]}
    return dataclasses.replace(digest, summaries={key: value for key, value in summaries.items() if key in shown})
