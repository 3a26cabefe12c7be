"""The `arxiv-digest` command: one click group; each subcommand turns core errors into a message and an exit code."""
from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from core.config import ConfigError, Settings, load_settings
from core.store import Store, StoreError

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 3


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
