"""The command language every platform speaks: parse -> validate -> change the store -> Reply.

Importing this package registers every command; COMMAND_SPECS lists them in help order.
"""
# Importing the handler modules registers their commands; this order is the help order.
from core.commands import basics, terms, options, feedback, saved, reading, lifecycle  # noqa: F401, I001
from core.commands.parsing import MAX_COMMAND_LENGTH, CommandError
from core.commands.processor import APOLOGY, CommandProcessor
from core.commands.registry import Argument, CommandServices, CommandSpec, Invocation, command, registered_specs
from core.commands.options import LANGUAGES
from core.commands.reading import SEARCH_RESULTS

COMMAND_SPECS: tuple[CommandSpec, ...] = registered_specs()

__all__ = [
    "APOLOGY",
    "Argument",
    "COMMAND_SPECS",
    "LANGUAGES",
    "SEARCH_RESULTS",
    "MAX_COMMAND_LENGTH",
    "CommandError",
    "CommandProcessor",
    "CommandServices",
    "CommandSpec",
    "Invocation",
    "command",
]
