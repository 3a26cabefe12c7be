"""The domain's data: frozen dataclasses that cross every boundary (store, scoring, adapters)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")
CHAT_KINDS = ("private", "group", "channel")
DAILY, WEEKLY = "daily", "weekly"
SCHEDULES = (DAILY, WEEKLY)  # a digest every wanted announcement day, or one a week with the week's best papers
ABS_URL = "https://arxiv.org/abs/{}"
PDF_URL = "https://arxiv.org/pdf/{}"


@dataclass(frozen=True, slots=True)
class Paper:
    """One arXiv paper as announced on one day (latest known version)."""

    arxiv_id: str  # without version: "2601.14942" or "hep-th/0601001"
    version: int
    title: str
    authors: tuple[str, ...]
    abstract: str
    categories: tuple[str, ...]
    primary_category: str
    announce_type: str = "new"
    announced: dt.date | None = None
    published: dt.date | None = None
    comment: str = ""
    journal_ref: str = ""
    doi: str = ""

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return ABS_URL.format(self.arxiv_id)

    @property
    def pdf_url(self) -> str:
        return PDF_URL.format(self.versioned_id)

    @property
    def is_crosslist(self) -> bool:
        return self.announce_type in ("cross", "replace-cross")

    @property
    def is_replacement(self) -> bool:
        return self.announce_type in ("replace", "replace-cross")


@dataclass(frozen=True, slots=True)
class Keyword:
    """A subscribed term (word or phrase) and how much a match is worth."""

    term: str
    weight: float = 1.0
    aliases: bool = True  # relevance ranking: also match the term's aliases (LLM ~ large language model)


@dataclass(frozen=True, slots=True)
class Subscription:
    """Everything scoring needs to know about one subscriber (a chat, or the config defaults)."""

    subscriber: str
    keywords: tuple[Keyword, ...]
    excludes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # empty: every category
    authors: tuple[str, ...] = ()
    crosslists: bool = True
    replacements: bool = False
    min_score: float = 0.0
    max_papers: int = 30
    ranking: str = "relevance"  # "relevance" | "classic" (core/relevance.py)
    learned: tuple[Keyword, ...] = ()  # words learned from the chat's 👍/👎 (relevance ranking only)


# Where a matched term came from: a subscribed keyword, a word of a subscribed phrase, or feedback.
KEYWORD, PHRASE_WORD, LEARNED = "keyword", "phrase word", "learned"


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """Why a paper scored: which term matched, where, and whether the chat subscribed to it or it was derived."""

    term: str
    in_title: bool
    in_abstract: bool
    points: float
    source: str = KEYWORD  # KEYWORD | PHRASE_WORD (of the phrase in `via`) | LEARNED (from feedback)
    via: str = ""


@dataclass(frozen=True, slots=True)
class ScoredPaper:
    paper: Paper
    score: float
    matches: tuple[KeywordMatch, ...] = ()
    matched_authors: tuple[str, ...] = ()
    related: bool = False  # found by similarity to papers the chat liked, not by its keywords

    @property
    def matched_terms(self) -> tuple[str, ...]:
        """The subscribed keywords that matched (not the words derived from phrases or feedback)."""
        return tuple(m.term for m in self.matches if m.source == KEYWORD)


class PlanEntry(NamedTuple):
    """One selected paper as the outbox plans it (a digest's rows are these, in order)."""

    arxiv_id: str
    version: int
    score: float


@dataclass(frozen=True, slots=True)
class DigestPlan:
    """One chat's selected papers as the outbox plans them, column by column in digest order. Columns, not one
    object per paper: a tick plans about 270,000 papers for 10,000 chats, read straight from the selection's arrays."""

    arxiv_ids: tuple[str, ...]
    versions: tuple[int, ...]
    scores: tuple[float, ...]

    @classmethod
    def of(cls, entries: Iterable[PlanEntry]) -> DigestPlan:
        listed = list(entries)
        return cls(tuple(e.arxiv_id for e in listed), tuple(e.version for e in listed), tuple(e.score for e in listed))

    def __len__(self) -> int:
        return len(self.arxiv_ids)


@dataclass(frozen=True)
class Summary:
    """An LLM (or extractive fallback) summary, cached per paper version, model, language and prompt."""

    arxiv_id: str
    version: int
    model: str
    language: str
    prompt_version: str
    source_kind: str  # "abstract" | "fulltext"
    text: str
    is_fallback: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class Digest:
    """One subscriber's selection for one announcement day, ready to render anywhere."""

    announcement_day: dt.date
    papers: tuple[ScoredPaper, ...]
    categories: tuple[str, ...]
    keywords: tuple[Keyword, ...]
    considered: int  # papers announced that day in the watched categories
    generated_at: dt.datetime
    summaries: dict[str, Summary] = field(default_factory=dict)  # by arxiv_id
    # The rest of the subscription's rules, and how many papers passed them before the cut to
    # max_papers (None: not counted, as for a digest that was not scored here).
    excludes: tuple[str, ...] = ()
    min_score: float = 0.0
    max_papers: int | None = None
    matched: int | None = None
    # A weekly digest: the oldest announcement day it covers (announcement_day is the newest); None for a daily one.
    week_from: dt.date | None = None

    def summary_for(self, paper: Paper) -> Summary | None:
        return self.summaries.get(paper.arxiv_id)

    def plan_entries(self) -> list[PlanEntry]:
        """The digest's papers as the outbox plans them, for a digest built before planning (tests, benchmarks);
        the scheduler reads the entries from the selection without building the Digest."""
        return [PlanEntry(scored.paper.arxiv_id, scored.paper.version, scored.score) for scored in self.papers]


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat's identity: the platform and the platform's own id for it."""

    platform: str  # "telegram" | "discord" | "slack" | "console"
    chat_id: str

    @property
    def subscriber(self) -> str:
        """The chat's key among a day's subscriptions (Subscription.subscriber)."""
        return f"{self.platform}:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class DeliverySchedule:
    """When a chat wants its digests (ChatSettings' fields of the same names): all the scheduler needs to tell
    whether it is due. Many chats share one, so what it implies is worked out once per schedule, not per chat."""

    timezone: str = "UTC"
    delivery_time: dt.time = dt.time(8, 0)
    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    schedule: str = DAILY
    weekly_day: int = 4


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """A chat's stored preferences; new chats start from config.json's defaults."""

    ref: ChatRef
    title: str = ""
    kind: str = "private"
    active: bool = True
    paused: bool = False
    timezone: str = "UTC"
    delivery_time: dt.time = dt.time(8, 0)
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # ISO weekday - 1: Monday is 0
    max_papers: int = 30
    min_score: float = 2.5
    summaries: bool = True
    language: str = "en"
    crosslists: bool = True
    keywords: tuple[Keyword, ...] = ()
    excludes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    feed_token: str = ""
    ranking: str = "relevance"
    learned: tuple[Keyword, ...] = ()  # words learned from the chat's 👍/👎 (core/feedback.py)
    schedule: str = DAILY  # one of SCHEDULES
    weekly_day: int = 4  # a weekly chat's weekday (Monday = 0): Friday's digest covers Monday to Friday

    @property
    def delivery_schedule(self) -> DeliverySchedule:
        return DeliverySchedule(self.timezone, self.delivery_time, self.days, self.schedule, self.weekly_day)

    def subscription(self, default_categories: tuple[str, ...] = ()) -> Subscription:
        """What scoring reads of the chat; `default_categories` when it has no categories of its own."""
        return Subscription(
            subscriber=self.ref.subscriber,
            keywords=self.keywords,
            excludes=self.excludes,
            categories=self.categories or default_categories,
            authors=self.authors,
            crosslists=self.crosslists,
            min_score=self.min_score,
            max_papers=self.max_papers,
            ranking=self.ranking,
            learned=self.learned,
        )


@dataclass(frozen=True)
class FetchResult:
    """What one fetch of an announcement feed produced."""

    categories: tuple[str, ...]
    announcement_day: dt.date | None  # None when the feed announced nothing
    papers: tuple[Paper, ...]
    status: str  # "ok" | "empty" | "failed"
    error: str = ""


@dataclass(frozen=True)
class CommandContext:
    """Who typed a command where; the adapter reports what the platform says about their rights.

    `can_change_settings`: the platform makes them an admin of the chat (or it is their private chat).
    `configurer_may_change`: the chat's policy also lets the first person who configured it (or anyone,
    while no one has) change its settings; the command core applies that rule.
    """

    chat: ChatRef
    user_id: str
    can_change_settings: bool
    chat_title: str = ""
    chat_kind: str = "private"
    configurer_may_change: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a reply (`bibtex`); platforms without files show its content as text instead."""

    filename: str
    content: str
    media_type: str = "text/plain"


@dataclass(frozen=True)
class Reply:
    """The core's answer to a command, in plain text; adapters format and escape it."""

    text: str
    ok: bool = True
    digest: Digest | None = None  # set by the `digest` command
    ephemeral: bool = True  # only the caller needs to see it (where the platform allows)
    attachment: Attachment | None = None  # sent after the text, as a file where the platform allows
