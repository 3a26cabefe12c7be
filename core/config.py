"""Settings: config.json (non-secret defaults) validated with pydantic, secrets read from the environment."""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.categories import canonical_categories
from core.matching import InvalidTerm, parse_term
from core.limits import (
    MAX_AUTHORS_PER_CHAT,
    MAX_CATEGORIES_PER_CHAT,
    MAX_EXCLUDES_PER_CHAT,
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORD_WEIGHT,
    MAX_KEYWORDS_PER_CHAT,
    MAX_PAPERS,
    MAX_SCORE,
    MIN_KEYWORD_WEIGHT,
    MIN_PAPERS,
    MIN_SCORE,
)

DEFAULT_CONFIG_PATH = Path("config.json")
CONFIG_ENV = "ARXIV_DIGEST_CONFIG"


class ConfigError(Exception):
    """config.json (or the environment) holds a value we cannot use; the message names it."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArxivSettings(_Section):
    feed_url: str = "https://rss.arxiv.org/rss/"
    api_url: str = "https://export.arxiv.org/api/query"
    user_agent: str = "arxiv-digest/0.1 (+https://github.com/arxiv-digest/arxiv-digest)"
    min_interval_seconds: float = Field(3.0, ge=0)
    timeout_seconds: float = Field(30.0, gt=0)
    max_retries: int = Field(4, ge=0, le=10)
    max_retry_after_seconds: float = Field(300.0, ge=0)
    retry_backoff_seconds: float = Field(2.0, ge=0)  # first retry wait; doubles each attempt
    api_page_size: int = Field(200, ge=1, le=2000)  # export API results per request (arXiv caps pages at 2000)
    announcement_timezone: str = "America/New_York"
    holidays: tuple[dt.date, ...] = ()

    @field_validator("announcement_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)


def _matchable(term: str) -> str:
    """A term the matcher can find in a paper; a chat could not even unsubscribe from one it cannot parse."""
    try:
        parse_term(term)
    except InvalidTerm as problem:
        raise ValueError(str(problem)) from None
    return term


class KeywordSetting(_Section):
    term: str = Field(min_length=1, max_length=MAX_KEYWORD_LENGTH)
    weight: float = Field(1.0, ge=MIN_KEYWORD_WEIGHT, le=MAX_KEYWORD_WEIGHT)

    _matchable_term = field_validator("term")(_matchable)


# The original bot's 30 keywords: what a digest uses when no config.json says otherwise.
ORIGINAL_KEYWORDS = (
    "LLM", "RL", "RLHF", "Inference", "Training", "Attention", "Pipeline", "MOE", "Sparse", "Quantization",
    "Speculative", "Efficient", "Efficiency", "Framework", "Parallel", "Distributed", "Kernel", "Decode",
    "Decoding", "Prefill", "Throughput", "Fast", "Network", "Hardware", "Cluster", "FP8", "FP4",
    "Optimization", "Scalable", "Communication",
)


class DefaultsSettings(_Section):
    """What a new chat (and the static README digest) starts from."""

    categories: tuple[str, ...] = Field(("cs.AI", "cs.CL", "cs.DC", "cs.LG"), max_length=MAX_CATEGORIES_PER_CHAT)
    keywords: tuple[KeywordSetting, ...] = Field(
        tuple(KeywordSetting(term=term) for term in ORIGINAL_KEYWORDS), max_length=MAX_KEYWORDS_PER_CHAT
    )
    exclude: tuple[str, ...] = Field(("survey", "review", "tutorial"), max_length=MAX_EXCLUDES_PER_CHAT)
    authors: tuple[str, ...] = Field((), max_length=MAX_AUTHORS_PER_CHAT)
    max_papers: int = Field(30, ge=MIN_PAPERS, le=MAX_PAPERS)
    min_score: float = Field(2.5, ge=MIN_SCORE, le=MAX_SCORE)
    crosslists: bool = True
    timezone: str = "UTC"
    delivery_time: dt.time = dt.time(8, 0)
    language: str = "en"
    summaries: bool = True
    ranking: Literal["relevance", "classic"] = "relevance"

    @field_validator("keywords", mode="before")
    @classmethod
    def _plain_terms(cls, value: object) -> object:
        """Allow "LLM" as shorthand for {"term": "LLM"}."""
        if isinstance(value, (list, tuple)):
            return [{"term": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("exclude")
    @classmethod
    def _matchable_excludes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_matchable(term) for term in value)

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """A misspelt category would silently fetch nothing; spell each one as arXiv does."""
        return canonical_categories(value)


class ScoringSettings(_Section):
    """A title match is worth weight * (1 + title_bonus), an abstract match weight; a followed author author_points."""

    title_bonus: float = Field(2.0, ge=0, le=10)
    author_points: float = Field(5.0, ge=0, le=100)


_PAPER_URL = r"^https?://[^{}\s]*\{id\}[^{}\s]*$"  # a URL template with exactly one {id} placeholder


class SummarySettings(_Section):
    enabled: bool = True
    model: str = "qwen-long"
    base_url: str = Field("https://dashscope.aliyuncs.com/compatible-mode/v1", pattern=r"^https?://\S+$")
    api_key_env: str = Field("DASHSCOPE_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    temperature: float = Field(0.3, ge=0, le=2)
    max_output_tokens: int = Field(1500, ge=64, le=32000)
    concurrency: int = Field(4, ge=1, le=64)
    timeout_seconds: float = Field(120.0, gt=0)
    max_retries: int = Field(3, ge=0, le=10)
    top_n: int = Field(15, ge=0, le=200)
    language: str = Field("en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")  # a language code: en, zh, pt-BR
    source: Literal["abstract", "fulltext"] = "abstract"
    fulltext_token_budget: int = Field(12000, ge=500)
    cache_dir: str = ".cache/fulltext"
    price_per_million_prompt_tokens: float = Field(0.0, ge=0)
    price_per_million_completion_tokens: float = Field(0.0, ge=0)
    prompt_version: str = Field("summary-v1", pattern=r"^[a-z0-9][a-z0-9._-]*$")
    # Full-text downloads follow the arxiv section's HTTP policy (User-Agent, spacing, retries).
    fulltext_html_url: str = Field("https://arxiv.org/html/{id}", pattern=_PAPER_URL)  # {id}: e.g. 2601.00001v2
    fulltext_pdf_url: str = Field("https://arxiv.org/pdf/{id}", pattern=_PAPER_URL)


class TelegramSettings(_Section):
    api_base_url: str = "https://api.telegram.org/bot"
    mode: Literal["polling", "webhook"] = "polling"
    webhook_path: str = "/telegram/webhook"
    public_url: str = ""
    # Long polling that stopped on a fatal error (a 401 while the token was revoked) restarts after this
    # many seconds, doubling on each failed restart up to poll_restart_max_seconds.
    poll_restart_seconds: float = Field(5.0, gt=0)
    poll_restart_max_seconds: float = Field(300.0, gt=0)


class DiscordSettings(_Section):
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = ""  # empty: discord.py's default gateway
    # Where slash commands arrive: the gateway websocket, or Discord POSTing them to /discord/interactions
    # on the web app (needs DISCORD_PUBLIC_KEY and the endpoint URL set in the Developer Portal).
    interactions: Literal["gateway", "http"] = "gateway"
    # discord.py waits out 429s itself up to this many seconds, then the outbox retries later; it refuses less than 30.
    max_rate_limit_wait_seconds: float = Field(30.0, ge=30, le=3600)
    send_timeout_seconds: float = Field(60.0, gt=0, le=3600)  # one message, retries included


class SlackSettings(_Section):
    api_base_url: str = "https://slack.com/api/"
    mode: Literal["http", "socket"] = "http"
    settings_change: Literal["admins", "admins_or_configurer", "anyone"] = "admins_or_configurer"


class WebSettings(_Section):
    host: str = "127.0.0.1"  # loopback unless told otherwise: the Procfile and Docker pass --host 0.0.0.0
    port: int = Field(8000, ge=1, le=65535)
    public_url: str = ""  # empty: feed links are built from each request's own address
    # /healthz fails when the last successful fetch is older: a long weekend plus a holiday fits.
    max_fetch_age_hours: float = Field(100.0, gt=0)
    # /healthz fails when the current announcement day is still not stored this long after its feed is out.
    announcement_overdue_hours: float = Field(6.0, gt=0, le=48)

    @property
    def link_base(self) -> str:
        """Where links that leave the site point (email, the feed command): public_url, else this machine's port."""
        return self.public_url.rstrip("/") or f"http://localhost:{self.port}"


class EmailSettings(_Section):
    """Email delivery (on when SMTP_URL is set): who digests come from; the server and its password are secrets in env."""

    sender: str = ""  # "arxiv-digest <digest@example.org>": required once SMTP_URL is set
    timeout_seconds: float = Field(30.0, gt=0, le=600)  # one SMTP conversation: connect, TLS, auth, one message


class SchedulerSettings(_Section):
    tick_seconds: float = Field(60.0, gt=0)
    catch_up_days: int = Field(5, ge=0, le=30)


class Settings(_Section):
    database: str = "arxiv-digest.db"
    arxiv: ArxivSettings = ArxivSettings()
    defaults: DefaultsSettings = DefaultsSettings()
    scoring: ScoringSettings = ScoringSettings()
    summaries: SummarySettings = SummarySettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    slack: SlackSettings = SlackSettings()
    web: WebSettings = WebSettings()
    email: EmailSettings = EmailSettings()
    scheduler: SchedulerSettings = SchedulerSettings()


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from exc
    return name


def _describe(error: ValidationError) -> str:
    """One line per bad value: the dotted key, what was there, what is wrong."""
    lines = []
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        given = problem.get("input")
        shown = json.dumps(given, default=str)[:80] if not isinstance(given, dict) else "{...}"
        lines.append(f"  {key} = {shown}: {problem['msg']}")
    return "\n".join(lines)


def parse_settings(raw: dict, source: str = "config.json") -> Settings:
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source} has invalid settings:\n{_describe(exc)}") from None


def load_settings(path: Path | str | None = None) -> Settings:
    """Read the named file, else $ARXIV_DIGEST_CONFIG, else ./config.json; only a missing ./config.json means the embedded defaults.

    A file named on purpose (the argument or the variable) that is missing is an error: a typo must not run on defaults.
    """
    named = path or os.environ.get(CONFIG_ENV)
    config_path = Path(named or DEFAULT_CONFIG_PATH)
    if not config_path.exists():
        if named:
            raise ConfigError(f"config file {config_path} does not exist")
        return Settings()
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{config_path} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {config_path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path} must hold a JSON object at the top level")
    return parse_settings(raw, str(config_path))


def secret(name: str) -> str | None:
    """A secret from the environment, or None when unset or blank. Never logged."""
    value = os.environ.get(name, "").strip()
    return value or None
