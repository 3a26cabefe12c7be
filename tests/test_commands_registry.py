"""One registry feeds help, the README table and the platform menus: they must agree with COMMAND_SPECS."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.commands import COMMAND_SPECS, CommandProcessor
from core.commands.formatting import command_table
from core.commands.registry import Argument, CommandSpec
from tests.commands_support import SETTINGS, FakeServices, context

README = Path(__file__).resolve().parent.parent / "README.md"
# Telegram's setMyCommands and Discord's application commands both accept these names and descriptions.
PLATFORM_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_SUMMARY_LENGTH = 100


def _readme_commands_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Commands\n")
    following = text.find("\n## ", start + 1)
    return text[start : following if following != -1 else len(text)]


def test_readme_command_table_is_the_registry():
    section = _readme_commands_section()
    assert command_table(COMMAND_SPECS) in section, "regenerate README's table with core.commands.formatting.command_table"
    listed = re.findall(r"^\| `([a-z]+)", section, flags=re.MULTILINE)
    assert listed == [spec.name for spec in COMMAND_SPECS]


async def test_help_lists_every_command_with_usage_and_summary(store):
    reply = await CommandProcessor(store, SETTINGS, FakeServices()).handle(context(), "help")
    lines = reply.text.splitlines()
    for spec in COMMAND_SPECS:
        assert f"{spec.usage} - {spec.summary}" in lines
    assert len(lines) == len(COMMAND_SPECS) + 2


async def test_help_for_one_command_shows_its_details(store):
    reply = await CommandProcessor(store, SETTINGS, FakeServices()).handle(context(), "help /Categories")
    assert reply.text.startswith("categories [CAT ...")
    assert '"categories add cs.CV"' in reply.text


def test_specs_fit_every_platform_menu():
    names = [spec.name for spec in COMMAND_SPECS]
    assert len(names) == len(set(names))
    for spec in COMMAND_SPECS:
        assert PLATFORM_NAME.fullmatch(spec.name), spec.name
        assert spec.usage.split()[0] == spec.name
        assert 3 <= len(spec.summary) <= MAX_SUMMARY_LENGTH, spec.name
        assert spec.takes_arguments == (spec.usage != spec.name)


def test_the_documented_command_set_is_complete():
    assert {spec.name for spec in COMMAND_SPECS} == {
        "help", "start", "subscribe", "unsubscribe", "exclude", "include", "keywords", "authors", "categories",
        "crosslists", "time", "schedule", "max", "minscore", "summaries", "language", "digest", "search", "feed", "pause",
        "resume", "status", "stats", "like", "dislike", "more", "forget", "ranking", "aliases",
        "save", "unsave", "saved", "bibtex",
    }


def test_a_command_with_typed_arguments_must_name_them_in_its_usage() -> None:
    """Typed arguments (Discord's options) and the refusal of words after an argument-less command agree."""
    with pytest.raises(ValueError, match="declares arguments"):
        CommandSpec("pause", "pause", "Pause.", changes_settings=True, arguments=(Argument("when", "When."),))
    assert all(spec.takes_arguments for spec in COMMAND_SPECS if spec.arguments)
