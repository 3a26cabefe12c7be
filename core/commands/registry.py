"""The command registry: each command declared once with `@command`, and what handlers are given and may use."""
from __future__ import annotations

import datetime as dt
import difflib
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.commands.parsing import CommandError
from core.config import Settings
from core.echo import echoed
from core.models import ChatSettings, CommandContext, Digest, Paper, Reply
from core.store import Store

NOT_ALLOWED = "Only the chat's admins can change its settings; anyone can read them."


class CommandServices(Protocol):
    """What commands need beyond the store; bot/ implements it with the fetcher, scoring and scheduler."""

    async def digest_now(self, chat: ChatSettings) -> Digest:
        """The chat's digest of the current announcement day, built now (fetching if needed)."""

    async def search(self, query: str, limit: int) -> list[Paper]:
        """Top matches of the arXiv export API for a free-text query."""

    async def papers_by_id(self, arxiv_ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by id: stored ones, the rest fetched once (batched) from the export API and stored; unknown ids are left out."""

    def next_delivery(self, chat: ChatSettings) -> dt.datetime | None:
        """When the chat's next digest is due (aware), or None when nothing is scheduled."""

    def feed_url(self, chat: ChatSettings, *, saved: bool = False) -> str:
        """The chat's personal RSS feed URL, or its reading list's (contains its feed token)."""

    def arxiv_status(self) -> str:
        """One line about arXiv access: fine, throttled until ..., or failing since ..."""


ARGUMENT_KINDS = ("text", "integer", "number")
COMPLETIONS = ("", "categories", "timezone", "language")


@dataclass(frozen=True)
class Argument:
    """A typed argument, declared with its command (as maubot does), for platforms that offer typed input.

    The command still receives plain text: the values joined in declared order. `completion` names
    what a platform may suggest while typing (a category, a time zone, a language code).
    """

    name: str
    description: str
    kind: str = "text"  # one of ARGUMENT_KINDS
    required: bool = False
    choices: tuple[str, ...] = ()
    completion: str = ""  # one of COMPLETIONS

    def __post_init__(self) -> None:
        if self.kind not in ARGUMENT_KINDS or self.completion not in COMPLETIONS:
            raise ValueError(f"argument {self.name!r}: unknown kind {self.kind!r} or completion {self.completion!r}")


@dataclass(frozen=True)
class CommandSpec:
    """One command as users see it: help, the Telegram menu, Discord slash commands and the README come from it.

    `slow`: it may take longer than a platform waits for an answer (fetching, an LLM), so platforms
    acknowledge first and answer when it is done. `arguments`: typed arguments where the command has them.
    """

    name: str
    usage: str
    summary: str
    changes_settings: bool
    details: str = ""
    slow: bool = False
    arguments: tuple[Argument, ...] = ()
    family: str = ""  # commands that belong together ("feedback"); platforms with menu limits nest them

    def __post_init__(self) -> None:
        if self.arguments and not self.takes_arguments:  # the dispatcher would refuse what the platform offers
            raise ValueError(f"command {self.name!r} declares arguments but its usage names none")

    @property
    def takes_arguments(self) -> bool:
        """Whether words may follow the command; the dispatcher refuses them where its usage names none."""
        return self.usage != self.name


@dataclass(frozen=True)
class Invocation:
    """One command being run: who asked where, the arguments, the chat's settings, and the services.

    `chat` is the stored chat, or (when `stored` is False) what a new chat would start with: reading
    a chat's settings never creates it, so a stray `help` does not sign a group up for digests.
    """

    spec: CommandSpec
    context: CommandContext
    args: str
    chat: ChatSettings
    stored: bool
    store: Store
    settings: Settings
    services: CommandServices

    def ensure_stored(self) -> ChatSettings:
        """Store the chat (from config defaults) if it is new; returns its stored settings."""
        return self.store.chats.get_or_create_chat(
            self.chat.ref, self.settings.defaults, title=self.context.chat_title, kind=self.context.chat_kind
        )

    def require_permission(self) -> None:
        """Call before changing anything: refuses senders who are neither admins nor (where the chat's
        policy allows it) the chat's first configurer; remembers who configured it first."""
        if not (self.context.can_change_settings or self._is_configurer()):
            raise CommandError(NOT_ALLOWED)
        self.ensure_stored()
        self.store.chats.note_configurer(self.chat.ref, self.context.user_id)

    def _is_configurer(self) -> bool:
        """The first-configurer rule: whoever configured the chat first keeps configuring it; until then, anyone may."""
        if not self.context.configurer_may_change:
            return False
        return self.store.chats.chat_configurer(self.chat.ref) in ("", self.context.user_id)

    def usage_error(self, problem: str = "") -> CommandError:
        prefix = f"{problem} " if problem else ""
        return CommandError(f"{prefix}Usage: {self.spec.usage}")


Handler = Callable[[Invocation], Awaitable[Reply]]

_specs: dict[str, CommandSpec] = {}
_handlers: dict[str, Handler] = {}


def command(
    name: str,
    usage: str = "",
    changes_settings: bool = False,
    *,
    slow: bool = False,
    arguments: tuple[Argument, ...] = (),
    family: str = "",
) -> Callable[[Handler], Handler]:
    """Register a handler; its docstring's first line is the summary, the rest the `help NAME` details."""

    def register(handler: Handler) -> Handler:
        if name in _specs:
            raise ValueError(f"command {name!r} is declared twice")
        summary, _, details = (inspect.getdoc(handler) or "").partition("\n")
        if not summary:
            raise ValueError(f"command {name!r} needs a docstring: its first line is the help summary")
        _specs[name] = CommandSpec(
            name, usage or name, summary.strip(), changes_settings, details.strip(), slow=slow, arguments=arguments, family=family
        )
        _handlers[name] = handler
        return handler

    return register


def registered_specs() -> tuple[CommandSpec, ...]:
    return tuple(_specs.values())


def handler_for(name: str) -> Handler | None:
    return _handlers.get(name)


def spec_for(name: str) -> CommandSpec | None:
    return _specs.get(name)


def unknown_command_hint(name: str) -> str:
    """The answer to a command name we do not know: shown safely (no control characters), with a close match."""
    if not name:
        return 'Type a command, for example "help".'
    close = difflib.get_close_matches(name, list(_specs), n=1)
    suggestion = f' Did you mean "{close[0]}"?' if close else ""
    return f'Unknown command "{echoed(name, 32)}".{suggestion} Send "help" for the list.'
