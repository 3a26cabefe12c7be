"""The command language every platform speaks: parse -> validate -> change the store -> Reply.

Importing this package registers every command; COMMAND_SPECS lists them in help order.
"""
# Importing the handler modules registers their commands; this order is the help order.
from core.commands import basics, terms, options, reading, lifecycle  # noqa: F401, I001
from core.commands.parsing import MAX_COMMAND_LENGTH, MAX_KEYWORD_LENGTH, CommandError
from core.commands.processor import APOLOGY, CommandProcessor
from core.commands.registry import CommandServices, CommandSpec, Invocation, command, registered_specs
from core.commands.options import LANGUAGES, MAX_PAPERS, MAX_SCORE
from core.commands.reading import SEARCH_RESULTS
from core.commands.terms import (
    MAX_AUTHORS_PER_CHAT,
    MAX_CATEGORIES_PER_CHAT,
    MAX_EXCLUDES_PER_CHAT,
    MAX_KEYWORDS_PER_CHAT,
)

COMMAND_SPECS: tuple[CommandSpec, ...] = registered_specs()

__all__ = [
    "APOLOGY",
    "COMMAND_SPECS",
    "LANGUAGES",
    "MAX_PAPERS",
    "MAX_SCORE",
    "SEARCH_RESULTS",
    "MAX_AUTHORS_PER_CHAT",
    "MAX_CATEGORIES_PER_CHAT",
    "MAX_COMMAND_LENGTH",
    "MAX_EXCLUDES_PER_CHAT",
    "MAX_KEYWORDS_PER_CHAT",
    "MAX_KEYWORD_LENGTH",
    "CommandError",
    "CommandProcessor",
    "CommandServices",
    "CommandSpec",
    "Invocation",
    "command",
]
