"""The `arxiv-digest` command: one click group; each subcommand turns core errors into a message and an exit code."""
from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import click

from core.arxiv.errors import ArxivError, ArxivUnavailable
from core.config import ConfigError, Settings, load_settings
from core.store import Store, StoreError

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 3

T = TypeVar("T")


class CliContext:
    """What every subcommand needs: settings and, lazily, the store."""

    def __init__(self, config_path: str | None, database: str | None) -> None:
        self.config_path = config_path
        self.database = database
        self._settings: Settings | None = None
        self._store: Store | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.database or self.settings.database)
        return self._store


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Config and store problems end the command with one readable line, never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_CONFIG)
        except StoreError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_CONFIG)
        except ArxivUnavailable as exc:
            click.echo(f"error: arXiv is unreachable: {exc}. Nothing was stored; try again later.", err=True)
            sys.exit(EXIT_UNAVAILABLE)
        except ArxivError as exc:
            click.echo(f"error: arXiv failed: {exc}. Nothing was stored.", err=True)
            sys.exit(EXIT_UNAVAILABLE)

    return wrapper


@click.group()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.json to use.")
@click.option("--database", type=click.Path(dir_okay=False), help="SQLite file (overrides config.json).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, database: str | None, verbose: bool) -> None:
    """Daily arXiv digests scored against your keywords."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs full request URLs at INFO, and a Telegram URL contains the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx.obj = CliContext(config_path, database)


def main() -> None:
    cli()


def run_with_fetcher(obj: CliContext, action: Callable[[Any], Awaitable[T]]) -> T:
    """Run one async arXiv action with a Fetcher over the CLI's settings and store."""
    import asyncio

    from core.arxiv.fetcher import Fetcher

    async def run() -> T:
        fetcher = Fetcher(obj.settings.arxiv, obj.store)
        try:
            return await action(fetcher)
        finally:
            await fetcher.aclose()

    return asyncio.run(run())


def _progress(message: str) -> None:
    click.echo(f"... {message}", err=True)


def _categories(obj: CliContext, given: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(given or obj.settings.defaults.categories)))


def _fetch_today(obj: CliContext, categories: tuple[str, ...]) -> str:
    """Fetch the current announcement day; a one-line account of what happened."""
    try:
        result = run_with_fetcher(obj, lambda fetcher: fetcher.fetch_day(categories, progress=_progress))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    joined = "+".join(categories)
    if result.status == "ok":
        return f"{result.announcement_day}: stored {len(result.papers)} papers announced in {joined}"
    if result.announcement_day is not None:
        stored = len(obj.store.papers_announced(result.announcement_day, categories))
        return f"{result.announcement_day}: already stored ({stored} papers in {joined}); nothing fetched"
    return f"arXiv announced nothing new in {joined} (weekend, holiday, or the feed is not rebuilt yet)"


@cli.command()
@click.option("--category", "categories", multiple=True, help="arXiv category (repeatable); default: config.json's.")
@click.pass_obj
@friendly_errors
def fetch(obj: CliContext, categories: tuple[str, ...]) -> None:
    """Store today's arXiv announcements for the configured categories (once per announcement day)."""
    click.echo(_fetch_today(obj, _categories(obj, categories)))


@cli.command()
@click.option("--since", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="First day, YYYY-MM-DD.")
@click.option("--category", "categories", multiple=True, help="arXiv category (repeatable); default: config.json's.")
@click.pass_obj
@friendly_errors
def backfill(obj: CliContext, since: dt.datetime, categories: tuple[str, ...]) -> None:
    """Store missed announcement days since DATE from the export API, then today's feed."""
    wanted = _categories(obj, categories)
    try:
        added = run_with_fetcher(obj, lambda fetcher: fetcher.backfill(since.date(), wanted, progress=_progress))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"backfilled {added} papers in {'+'.join(wanted)} since {since.date()}")
    click.echo(_fetch_today(obj, wanted))
