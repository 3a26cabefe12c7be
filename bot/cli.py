"""The `arxiv-digest` command: one click group; each subcommand turns core errors into a message and an exit code."""
from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from core.limits import MAX_PAPERS, MIN_PAPERS

if TYPE_CHECKING:  # pydantic and sqlite-utils load when a command runs, so `--help` and `--version` stay instant
    from core.config import Settings
    from core.models import Digest
    from core.store import Store

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 3
EXIT_NOTHING = 4
EXIT_BUSY = 5  # another serve holds the database

T = TypeVar("T")


class CliContext:
    """What every subcommand needs: settings and, lazily, the store."""

    def __init__(self, config_path: str | None, database: str | None) -> None:
        self.config_path = config_path
        self.database = database
        self._settings: Settings | None = None
        self._store: Store | None = None
        self._created_database = False  # this command made the file: it may take it away again if it stays empty

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from core.config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            from core.store import Store

            path = self.database or self.settings.database
            self._created_database = path != ":memory:" and not Path(path).exists()
            self._store = Store(path)
        return self._store

    def discard_new_empty_store(self) -> None:
        """After a failed first fetch: no database file holding nothing is left behind ("Nothing was stored")."""
        if self._store is None or not self._created_database or not self._store.is_empty():
            return
        self._store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(self._store.path + suffix).unlink(missing_ok=True)
        self._store = None

    def stored_day_hint(self) -> str:
        """For a command that can do without arXiv: how to go on with the papers already stored."""
        from bot.digests import DigestService

        if self._store is None or self._store.is_empty():
            return ""
        day = DigestService(self._store, self.settings).latest_day(_categories(self, ()))
        return f" The papers of {day} are stored: `arxiv-digest digest --no-fetch` uses them." if day else ""


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Config and store problems end the command with one readable line, never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from core.arxiv.errors import ArxivError
        from core.config import ConfigError
        from core.store import StoreError

        try:
            return command(*args, **kwargs)
        except (ConfigError, StoreError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_CONFIG)
        except ArxivError as exc:
            click.echo(f"error: {_arxiv_failure(exc)}", err=True)
            sys.exit(EXIT_UNAVAILABLE)

    return wrapper


def _arxiv_failure(exc: Exception) -> str:
    """What went wrong with arXiv, and how to go on; a database this command created and left empty is removed."""
    from core.arxiv.errors import ArxivUnavailable

    context = click.get_current_context()
    obj = context.find_object(CliContext)
    can_skip_fetching = any(param.name == "no_fetch" for param in context.command.params)
    hint = obj.stored_day_hint() if obj is not None and can_skip_fetching else ""
    if obj is not None:
        obj.discard_new_empty_store()
    if not isinstance(exc, ArxivUnavailable):
        return f"arXiv failed: {exc}. Nothing was stored."
    if exc.offline:
        return f"this machine seems to be offline ({exc}). Nothing was stored; try again once it is online.{hint}"
    return f"arXiv is unreachable: {exc}. Nothing was stored; try again later.{hint}"


@click.group()
@click.version_option(package_name="arxiv-digest", prog_name="arxiv-digest")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.json to use.")
@click.option("--database", type=click.Path(dir_okay=False), help="SQLite file (overrides config.json).")
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, database: str | None, verbose: bool) -> None:
    """Daily arXiv digests scored against your keywords."""
    from bot.cli_output import configure_logging

    configure_logging(verbose, long_running=ctx.invoked_subcommand == "serve")
    ctx.obj = CliContext(config_path, database)


def main() -> None:
    cli()


@cli.command()
@click.option("--web", is_flag=True, help="Also serve pages, feeds, health and platform webhooks over HTTP.")
@click.option("--host", default=None, help="Address for --web (default: config web.host, 127.0.0.1; 0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port for --web (default: config web.port).")
@click.option("--console", is_flag=True, help="Also chat with the bot in this terminal.")
@click.option("--read-only", is_flag=True, help="With --web: only serve pages and feeds from the database, next to the process that fetches and delivers.")
@click.pass_obj
@friendly_errors
def serve(obj: CliContext, web: bool, host: str | None, port: int | None, console: bool, read_only: bool) -> None:
    """Run the scheduler and every adapter that has credentials until SIGTERM or Ctrl-C (one per database)."""
    import asyncio

    from bot.app import console_adapter, serve as run_service, serve_replica
    from bot.serve_lock import ServeLockHeld, serve_lock

    settings = obj.settings
    if host is not None:
        settings = settings.model_copy(update={"web": settings.web.model_copy(update={"host": host})})
    web_port = (port or settings.web.port) if web else None
    if read_only:
        if web_port is None or console:
            raise click.UsageError("--read-only serves pages and feeds only: use it with --web and without --console")
        asyncio.run(serve_replica(settings, obj.store, web_port))
        return
    try:
        with serve_lock(obj.database or settings.database):
            asyncio.run(run_service(settings, obj.store, console=console_adapter() if console else None, web_port=web_port))
    except ServeLockHeld as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BUSY)


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
    """Fetch progress in the style of the CLI's log lines (bot.cli_output.ShortFormatter)."""
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
        stored = len(obj.store.papers.papers_announced(result.announcement_day, categories))
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


@cli.command()
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="A stored announcement day instead of today's.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the Markdown here (e.g. README.md) instead of printing it.")
@click.option("--no-fetch", is_flag=True, help="Use only what is stored; do not contact arXiv.")
@click.option("--no-summaries", is_flag=True, help="Leave out the summaries block.")
@click.option("--max", "max_papers", type=click.IntRange(MIN_PAPERS, MAX_PAPERS), help="At most N papers (default: config.json's max_papers).")
@click.option("--format", "output_format", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="json: the digest for scripts, keys described in core/data/digest.schema.json.")
@click.pass_obj
@friendly_errors
def digest(
    obj: CliContext,
    day: dt.datetime | None,
    output: Path | None,
    no_fetch: bool,
    no_summaries: bool,
    max_papers: int | None,
    output_format: str,
) -> None:
    """Today's digest for config.json's keywords as Markdown or JSON: fetch if needed, score, summarize, render."""
    import asyncio

    from bot.cli_output import ProgressSummarizer
    from bot.digests import DigestService
    from bot.static_digest import default_digest, render_page, write_atomically
    from core.render.digest_json import render_json
    from core.render.view import digest_view
    from core.summarize import Summarizer

    settings, store = obj.settings, obj.store
    categories = _categories(obj, ())
    if day is None and not no_fetch:
        click.echo(_fetch_today(obj, categories), err=True)
    service = DigestService(store, settings)
    chosen = day.date() if day else service.latest_day(categories)
    if chosen is None or not store.papers.papers_announced(chosen, categories):
        what = f"for {chosen}" if chosen else "yet"
        click.echo(f"error: no papers in {'+'.join(categories)} are stored {what}; run `arxiv-digest fetch` "
                   "(or `backfill --since DATE`) first.", err=True)
        sys.exit(EXIT_NOTHING)
    selection = default_digest(settings, store, chosen, max_papers=max_papers)
    if not no_summaries and service.wants_summaries():

        async def summarize(digest: Digest) -> Digest:
            summarizer = Summarizer.from_settings(settings, store)
            try:
                shown = DigestService(store, settings, summarizer=ProgressSummarizer(summarizer))
                return await shown.with_default_summaries(digest)
            finally:
                await summarizer.aclose()

        selection = asyncio.run(summarize(selection))
    page = render_json(selection) if output_format == "json" else render_page(settings, selection)
    if output is None:
        click.echo(page, nl=False)
        return
    try:
        write_atomically(output, page)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(output) else ""
        click.echo(f"error: cannot write {output}: {exc.strerror or exc}{where}", err=True)
        sys.exit(EXIT_CONFIG)
    click.echo(f"{chosen}: wrote {digest_view(selection).found} papers to {output}", err=True)


def _split_ids(values: tuple[str, ...]) -> list[str]:
    return [item for value in values for item in value.replace(",", " ").split() if item]


@cli.command()
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Announcement day (default: the latest stored).")
@click.option("--ids", "id_values", multiple=True, help="arXiv ids from the store instead of a day's digest (comma separated or repeated).")
@click.option("--language", default=None, help="Summary language such as en or zh (default: config summaries.language).")
@click.option("--show", is_flag=True, help="Print each summary after the run.")
@click.pass_obj
@friendly_errors
def summarize(obj: CliContext, day: dt.datetime | None, id_values: tuple[str, ...], language: str | None, show: bool) -> None:
    """Summarize the top papers of the default digest of a day (or the given ids), with a progress bar."""
    import asyncio

    from bot.cli_output import summaries_with_progress
    from core.summarize import Summarizer

    settings, store = obj.settings, obj.store
    if not settings.summaries.enabled:
        click.echo("error: summaries are disabled in config.json (summaries.enabled is false); nothing to summarize.", err=True)
        sys.exit(EXIT_CONFIG)
    ids = _split_ids(id_values)
    papers = _papers_to_summarize(obj, day.date() if day else None, ids)
    if not papers:
        click.echo("nothing to summarize")
        return
    wanted_language = language or settings.summaries.language

    async def run() -> tuple[dict[str, Any], Any]:
        summarizer = Summarizer.from_settings(settings, store)
        try:
            return await summaries_with_progress(summarizer, papers, wanted_language), summarizer.spent
        finally:
            await summarizer.aclose()

    summaries, spent = asyncio.run(run())
    fallbacks = [summary for summary in summaries.values() if summary.is_fallback]
    # Only this run's LLM calls cost anything now; cached summaries were paid for by an earlier run.
    from_cache = len(summaries) - len(fallbacks) - spent.summaries
    click.echo(
        f"{len(summaries)} summaries ({len(fallbacks)} extractive fallback) in {wanted_language}; "
        f"{spent.summaries} new ({spent.prompt_tokens} prompt + {spent.completion_tokens} completion tokens, "
        f"cost {spent.cost(settings.summaries):.4f}), {from_cache} from cache"
    )
    if show:
        for paper in papers:
            summary = summaries.get(paper.arxiv_id)
            if summary is None:
                continue
            label = "extractive" if summary.is_fallback else summary.model
            click.echo(f"\n{paper.versioned_id} ({label}): {paper.title}\n{summary.text}")


def _papers_to_summarize(obj: CliContext, day: dt.date | None, ids: list[str]) -> list[Any]:
    """The given ids from the store, or the top N of the default digest of the day."""
    store, settings = obj.store, obj.settings
    if ids:
        found = store.papers.papers_by_id(ids)
        unknown = [arxiv_id for arxiv_id in ids if arxiv_id not in found]
        if unknown:
            click.echo(f"not in the store (fetch them first): {', '.join(unknown)}", err=True)
        return [found[arxiv_id] for arxiv_id in ids if arxiv_id in found]
    from bot.digests import DigestService
    from bot.static_digest import default_digest

    day = day or DigestService(store, settings).latest_day(_categories(obj, ()))
    if day is None:
        return []
    return [scored.paper for scored in default_digest(settings, store, day).papers[: settings.summaries.top_n]]


@cli.command()
@click.option("--chat-id", default="local", show_default=True, help="Which console chat you are; each keeps its own settings.")
@click.pass_obj
@friendly_errors
def chat(obj: CliContext, chat_id: str) -> None:
    """Talk to the bot in this terminal: /subscribe llm, /digest, /help; /quit or Ctrl-D ends.

    Only commands run here; scheduled deliveries need `serve` (with --console to get them here).
    """
    import asyncio

    from bot.app import App, console_adapter

    console = console_adapter(chat_id)

    async def converse() -> None:
        app = App(obj.settings, obj.store, [console])
        await console.start(app.handle_command)
        try:
            await console.wait_closed()
        finally:
            await console.stop()
            await app.fetcher.aclose()

    asyncio.run(converse())


from bot.email_cli import email  # noqa: E402  (registered after the group exists; light to import)

cli.add_command(email)
