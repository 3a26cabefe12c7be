"""Summaries for the papers that will be delivered: cache per key, coalesced LLM calls, labelled extractive fallback."""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from core.arxiv.http import PoliteHttp
from core.config import Settings, SummarySettings
from core.models import Digest, Paper, Summary
from core.store import Store
from core.store.summaries import SummaryKey
from core.summaries.client import LlmClient, SummaryUnavailable, api_key_from_env
from core.summaries.fallback import FALLBACK_MODEL, extractive_summary
from core.summaries.fulltext import FullTextSource
from core.summaries.prompt import load_template
from core.summaries.sanitize import MalformedSummary, check_summary, sanitize_summary

log = logging.getLogger(__name__)

RETRY_FAILED_AFTER = dt.timedelta(minutes=15)  # a long-running process retries a failed paper after this
FAILURES_BEFORE_PAUSE = 5  # consecutive endpoint failures that pause all LLM calls for RETRY_FAILED_AFTER
ABSTRACT = "abstract"
FULLTEXT = "fulltext"


def delivered_papers(digests: Iterable[Digest], top_n: int) -> list[Paper]:
    """The union of every digest's top N papers (first seen first): the only papers worth summarizing."""
    chosen: dict[str, Paper] = {}
    for digest in digests:
        for scored in digest.papers[:top_n]:
            chosen.setdefault(scored.paper.arxiv_id, scored.paper)
    return list(chosen.values())


def summary_cost(summaries: Iterable[Summary], settings: SummarySettings) -> float:
    """What the summaries' tokens cost at the configured prices (0 when no prices are set)."""
    spent = Spending()
    for summary in summaries:
        if not summary.is_fallback:
            spent.add_call(summary.prompt_tokens, summary.completion_tokens)
            spent.summaries += 1
    return spent.cost(settings)


@dataclass
class Spending:
    """Running totals of LLM calls' tokens and the summaries they gave: constant memory however long the
    process runs. A rejected answer (cut off, wrong language) is paid for too, so its tokens count."""

    summaries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add_call(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens

    def cost(self, settings: SummarySettings) -> float:
        """At the configured prices (0 when no prices are set)."""
        return (
            self.prompt_tokens * settings.price_per_million_prompt_tokens
            + self.completion_tokens * settings.price_per_million_completion_tokens
        ) / 1_000_000


class Summarizer:
    """Summarizes papers once per cache key; never raises for LLM or network failures (it falls back)."""

    def __init__(
        self,
        settings: SummarySettings,
        store: Store,
        api_key: str | None,
        clock: Callable[[], dt.datetime] | None = None,
        fulltext: FullTextSource | None = None,
    ) -> None:
        """`fulltext` is needed when settings.source is "fulltext"; without it the abstract is used."""
        self.settings = settings
        self.store = store
        self.clock = clock or store.now
        self.fulltext = fulltext
        self.template = load_template(settings.prompt_version)
        self._client = LlmClient(settings, api_key) if api_key else None
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._in_flight: dict[SummaryKey, asyncio.Task[Summary]] = {}
        self._failed_until: dict[SummaryKey, dt.datetime] = {}
        self._consecutive_failures = 0
        self._paused_until: dt.datetime | None = None
        self._said_no_key = False
        self.spent = Spending()  # this summarizer's own LLM calls; summaries read from the cache are not counted

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, api_key: str | None = None) -> "Summarizer":
        """The summarizer the app and CLI use: key from the environment, full text over arXiv's HTTP policy."""
        fulltext = None
        if settings.summaries.source == FULLTEXT:
            fulltext = FullTextSource(settings.summaries, PoliteHttp(settings.arxiv))
        return cls(settings.summaries, store, api_key or api_key_from_env(settings.summaries), fulltext=fulltext)

    @property
    def llm_calls(self) -> int:
        """Chat completions requested so far (each may include the client's own retries)."""
        return self._client.calls if self._client else 0

    def key_for(self, paper: Paper, language: str, source_kind: str = ABSTRACT) -> SummaryKey:
        return SummaryKey(
            paper.arxiv_id, paper.version, self.settings.model, language, self.template.version, source_kind
        )

    async def summarize_papers(self, papers: Sequence[Paper], language: str) -> dict[str, Summary]:
        """A summary (LLM or labelled fallback) for each paper, by arxiv id."""
        unique = list({paper.arxiv_id: paper for paper in papers}.values())
        if not self.settings.enabled or not unique:
            return {}
        source_kind = FULLTEXT if self.fulltext is not None and self.settings.source == FULLTEXT else ABSTRACT
        if self._client is None:
            # Without a key, what earlier runs paid for is still shown (as the web pages do); only the rest falls back.
            shown = self.stored_or_extractive(unique, language, source_kind)
            if any(summary.is_fallback for summary in shown.values()):
                self._say_no_key_once()
            return shown
        results = self.cached_summaries(unique, language, source_kind)
        missing = [paper for paper in unique if paper.arxiv_id not in results]
        shared = [self._shared_task(self.key_for(paper, language, source_kind), paper) for paper in missing]
        # shield: one caller being cancelled must not cancel the call the others wait for.
        for paper, summary in zip(missing, await asyncio.gather(*(asyncio.shield(task) for task in shared))):
            results[paper.arxiv_id] = summary
        return {paper.arxiv_id: results[paper.arxiv_id] for paper in unique}

    def cached_summaries(self, papers: Sequence[Paper], language: str, source_kind: str | None = None) -> dict[str, Summary]:
        """Stored final summaries only, never a call: the source's key, else the abstract's (no full text existed)."""
        kinds = list(dict.fromkeys([source_kind or self.settings.source, ABSTRACT]))
        keys = {kind: {paper.arxiv_id: self.key_for(paper, language, kind) for paper in papers} for kind in kinds}
        stored = self.store.summaries.cached_summaries(key for by_id in keys.values() for key in by_id.values())
        found: dict[str, Summary] = {}
        for kind in kinds:
            for arxiv_id, key in keys[kind].items():
                if key in stored:
                    found.setdefault(arxiv_id, stored[key])
        return found

    def stored_or_extractive(
        self, papers: Sequence[Paper], language: str, source_kind: str | None = None
    ) -> dict[str, Summary]:
        """What can be shown without calling the LLM: each paper's stored summary, else the labelled extractive one."""
        found = self.cached_summaries(papers, language, source_kind)
        return {paper.arxiv_id: found.get(paper.arxiv_id) or self._fallback(paper, language) for paper in papers}

    async def summarize_digests(
        self, digests: Mapping[str, Digest], languages: Mapping[str, str] | None = None
    ) -> dict[str, Digest]:
        """Each digest with summaries for its top N papers, in its subscriber's language (default: settings')."""
        languages = languages or {}
        by_language: dict[str, list[str]] = {}
        for subscriber in digests:
            by_language.setdefault(languages.get(subscriber, self.settings.language), []).append(subscriber)
        languages_in_use = list(by_language)
        summaries_by_language = await asyncio.gather(
            *(
                self.summarize_papers(
                    delivered_papers((digests[name] for name in by_language[language]), self.settings.top_n), language
                )
                for language in languages_in_use
            )
        )
        done: dict[str, Digest] = {}
        for language, summaries in zip(languages_in_use, summaries_by_language):
            for name in by_language[language]:
                digest = digests[name]
                wanted = {scored.paper.arxiv_id for scored in digest.papers[: self.settings.top_n]}
                picked = {arxiv_id: summary for arxiv_id, summary in summaries.items() if arxiv_id in wanted}
                done[name] = dataclasses.replace(digest, summaries=picked)
        return {name: done[name] for name in digests}

    def _shared_task(self, key: SummaryKey, paper: Paper) -> asyncio.Task[Summary]:
        """The one task computing this key; concurrent requests for the same key get the same task."""
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._summarize_one(key, paper))
            self._in_flight[key] = task
            task.add_done_callback(lambda _: self._in_flight.pop(key, None))
        return task

    async def _summarize_one(self, key: SummaryKey, paper: Paper) -> Summary:
        try:
            return await self._summarize_uncached(key, paper)
        except Exception:  # a summary is never worth losing a digest over: log it and fall back
            log.exception("summary of %s failed unexpectedly; using the extractive fallback", paper.versioned_id)
            return self._fallback(paper, key.language)

    async def _source_text(self, key: SummaryKey, paper: Paper) -> tuple[SummaryKey, str]:
        """The text to summarize and the key it is cached under: the abstract's when there is no full text."""
        if key.source_kind == FULLTEXT and self.fulltext is not None:
            text = await self.fulltext.text_for(paper)
            if text:
                return key, text
            key = dataclasses.replace(key, source_kind=ABSTRACT)
        return key, paper.abstract

    async def _summarize_uncached(self, key: SummaryKey, paper: Paper) -> Summary:
        key, source_text = await self._source_text(key, paper)
        async with self._slots:
            if self._waiting_after_failure(key):
                return self._fallback(paper, key.language)
            cached = self.store.summaries.cached_summary(key)
            if cached is not None:
                return cached
            messages = self.template.messages(paper, key.language, key.source_kind, source_text)
            try:
                completion = await self._client.complete(messages)  # type: ignore[union-attr]
                self.spent.add_call(completion.prompt_tokens, completion.completion_tokens)
                # Checked as it will be published: an answer that is mostly markup may sanitize to nothing.
                text = check_summary(sanitize_summary(completion.text or ""), key.language, completion.truncated)
            except (SummaryUnavailable, MalformedSummary) as exc:
                self._note_failure(key, paper, exc)
                return self._fallback(paper, key.language)
        self._consecutive_failures = 0
        summary = Summary(
            **dataclasses.asdict(key),
            text=text,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            seconds=round(completion.seconds, 3),
        )
        self.store.summaries.save_summary(summary)
        self.spent.summaries += 1
        return summary

    def _waiting_after_failure(self, key: SummaryKey) -> bool:
        """Checked once a slot is free, so calls queued behind a failing endpoint see the pause too."""
        now = self.clock()
        paused = self._paused_until is not None and now < self._paused_until
        return paused or now < self._failed_until.get(key, now)

    def _note_failure(self, key: SummaryKey, paper: Paper, error: Exception) -> None:
        now = self.clock()
        retry_at = now + RETRY_FAILED_AFTER
        self._failed_until = {known: until for known, until in self._failed_until.items() if until > now}
        self._failed_until[key] = retry_at
        log.warning("LLM summary of %s failed (%s); using the extractive fallback", paper.versioned_id, error)
        if isinstance(error, SummaryUnavailable):
            self._consecutive_failures += 1
            if self._consecutive_failures >= FAILURES_BEFORE_PAUSE:
                self._consecutive_failures = 0
                self._paused_until = retry_at
                log.warning(
                    "%d LLM calls in a row failed; extractive summaries only until %s",
                    FAILURES_BEFORE_PAUSE,
                    retry_at.isoformat(timespec="seconds"),
                )

    def _fallback(self, paper: Paper, language: str) -> Summary:
        return Summary(
            arxiv_id=paper.arxiv_id,
            version=paper.version,
            model=FALLBACK_MODEL,
            language=language,
            prompt_version=self.template.version,
            source_kind=ABSTRACT,
            text=extractive_summary(paper.abstract, language),
            is_fallback=True,
        )

    def _say_no_key_once(self) -> None:
        if not self._said_no_key:
            self._said_no_key = True
            log.warning(
                "no LLM API key in $%s (or $OPENAI_API_KEY): digests carry extractive summaries",
                self.settings.api_key_env,
            )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self.fulltext is not None:
            await self.fulltext.http.aclose()
