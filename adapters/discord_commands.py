"""The `/arxiv` slash command group built from the command registry, and slash interactions turned back into command text."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from core.categories import category_names
from core.commands import Argument
from core.commands.options import LANGUAGES
from core.commands.parsing import known_timezones
from core.render.chunks import cut_text

GROUP_NAME = "arxiv"
GROUP_DESCRIPTION = "arXiv digests: keywords, categories, schedule, papers"
SUBCOMMANDS_LIMIT = 25  # Discord's cap on options (here: subcommands) of one command
DESCRIPTION_LIMIT = 100
CHOICES_LIMIT = 25
CHOICE_TEXT_LIMIT = 100

# Discord's application command option types.
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
NUMBER = 10


class SpecLike(Protocol):
    """What a slash command needs of core.commands' CommandSpec (read-only, as the frozen spec's fields are)."""

    @property
    def name(self) -> str: ...
    @property
    def usage(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def slow(self) -> bool: ...
    @property
    def arguments(self) -> tuple[Argument, ...]: ...
    @property
    def family(self) -> str: ...


OPTION_TYPES = {"text": STRING, "integer": INTEGER, "number": NUMBER}


@dataclass(frozen=True)
class SlashOption:
    """One typed option of a subcommand; its value is appended to the command text in declared order."""

    name: str
    description: str
    kind: int = STRING
    required: bool = True
    choices: tuple[str, ...] = ()
    autocomplete: str = ""  # key into AUTOCOMPLETERS

    @classmethod
    def of(cls, argument: Argument) -> SlashOption:
        return cls(argument.name, cut_text(argument.description, DESCRIPTION_LIMIT), OPTION_TYPES[argument.kind],
                   argument.required, argument.choices, argument.completion)

    def payload(self) -> dict[str, Any]:
        option: dict[str, Any] = {"type": self.kind, "name": self.name, "description": self.description, "required": self.required}
        if self.choices:
            option["choices"] = [{"name": choice, "value": choice} for choice in self.choices]
        if self.autocomplete:
            option["autocomplete"] = True
        return option


def _arguments_usage(spec: SpecLike) -> str:
    return spec.usage[len(spec.name):].strip() if spec.usage.startswith(spec.name) else spec.usage


def options_for(spec: SpecLike) -> tuple[SlashOption, ...]:
    """The subcommand's options: the command's typed arguments, else one `args` string when the usage shows arguments."""
    if spec.arguments:
        return tuple(SlashOption.of(argument) for argument in spec.arguments)
    arguments = _arguments_usage(spec)
    if not arguments:
        return ()
    # "[...]" around the whole argument list means the command also works without one.
    return (SlashOption("args", cut_text(arguments, DESCRIPTION_LIMIT), required=not arguments.startswith("[")),)


def _subcommand_payload(spec: SpecLike) -> dict[str, Any]:
    return {
        "type": SUB_COMMAND,
        "name": spec.name,
        "description": cut_text(spec.summary, DESCRIPTION_LIMIT),
        "options": [option.payload() for option in options_for(spec)],
    }


def slash_commands_payload(specs: Sequence[SpecLike]) -> list[dict[str, Any]]:
    """The global command list to PUT at start-up: one `/arxiv` group, a subcommand per registry entry; a
    command family (`/arxiv feedback like`) is a subcommand group, so the group stays within Discord's 25."""
    families: dict[str, list[SpecLike]] = {}
    entries: list[dict[str, Any]] = []
    for spec in specs:
        if spec.family:
            if spec.family not in families:
                families[spec.family] = []
                entries.append({"type": SUB_COMMAND_GROUP, "name": spec.family, "options": []})
            families[spec.family].append(spec)
        else:
            entries.append(_subcommand_payload(spec))
    for entry in entries:
        if entry["type"] == SUB_COMMAND_GROUP:
            members = families[entry["name"]]
            entry["description"] = cut_text(", ".join(member.name for member in members), DESCRIPTION_LIMIT)
            entry["options"] = [_subcommand_payload(member) for member in members]
    if len(entries) > SUBCOMMANDS_LIMIT or any(len(family) > SUBCOMMANDS_LIMIT for family in families.values()):
        raise ValueError(f"Discord allows {SUBCOMMANDS_LIMIT} subcommands (and groups) in /{GROUP_NAME}; the registry has {len(entries)}")
    return [{"name": GROUP_NAME, "type": 1, "description": GROUP_DESCRIPTION, "options": entries, "dm_permission": True}]


def _subcommand(data: Mapping[str, Any]) -> tuple[str, list[Mapping[str, Any]]]:
    options = data.get("options") or []
    if options and options[0].get("type") == SUB_COMMAND_GROUP:  # /arxiv feedback like: the subcommand inside
        options = options[0].get("options") or []
    if not options or options[0].get("type") != SUB_COMMAND:
        return "", []
    return options[0]["name"], list(options[0].get("options") or [])


def _as_text(value: Any) -> str:
    # Discord sends NUMBER options as floats: 3.0 reads better as "3".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def command_text(data: Mapping[str, Any], specs_by_name: Mapping[str, SpecLike]) -> str:
    """The command-language text of a slash interaction: `/arxiv time 08:30 Europe/Berlin` -> "time 08:30 Europe/Berlin"."""
    name, given = _subcommand(data)
    if not name:
        return ""
    spec = specs_by_name.get(name)
    declared = options_for(spec) if spec is not None else ()
    values = {option["name"]: option.get("value") for option in given}
    ordered = [values[o.name] for o in declared if values.get(o.name) not in (None, "")]
    return " ".join([name, *(_as_text(value).strip() for value in ordered)])


@dataclass(frozen=True)
class Choice:
    name: str
    value: str


def _category_choices(typed: str) -> list[Choice]:
    """Complete the last space-separated category, keeping the ones already typed."""
    head, _, last = typed.rpartition(" ")
    prefix = f"{head} " if head else ""
    wanted = last.casefold()
    starts = [c for c in category_names() if c.casefold().startswith(wanted)]
    named = [c for c, label in category_names().items() if wanted and wanted in label.casefold() and c not in starts]
    choices = []
    for code in starts + named:
        value = prefix + code
        if len(value) <= CHOICE_TEXT_LIMIT:
            choices.append(Choice(cut_text(f"{value} ({category_names()[code]})", CHOICE_TEXT_LIMIT), value))
    return choices


def _timezone_choices(typed: str) -> list[Choice]:
    wanted = typed.strip().casefold().replace(" ", "_")
    starts = [z for z in known_timezones() if z.casefold().startswith(wanted)]
    inside = [z for z in known_timezones() if wanted in z.casefold() and z not in starts]
    return [Choice(zone, zone) for zone in starts + inside]


def _language_choices(typed: str) -> list[Choice]:
    wanted = typed.strip().casefold()
    return [Choice(f"{code} ({name})", code) for code, name in LANGUAGES.items() if wanted in code or wanted in name.casefold()]


AUTOCOMPLETERS: dict[str, Callable[[str], list[Choice]]] = {
    "categories": _category_choices,
    "timezone": _timezone_choices,
    "language": _language_choices,
}


def autocomplete_choices(data: Mapping[str, Any], specs_by_name: Mapping[str, SpecLike]) -> list[Choice]:
    """Suggestions for the focused option of an autocomplete interaction (at most Discord's 25)."""
    name, given = _subcommand(data)
    focused = next((option for option in given if option.get("focused")), None)
    spec = specs_by_name.get(name)
    if focused is None or spec is None:
        return []
    declared = {option.name: option for option in options_for(spec)}
    option = declared.get(focused["name"])
    if option is None or not option.autocomplete:
        return []
    return AUTOCOMPLETERS[option.autocomplete](str(focused.get("value") or ""))[:CHOICES_LIMIT]
