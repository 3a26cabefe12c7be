"""The `/arxiv` slash command schema from the registry, option values back to command text, and autocomplete."""
from __future__ import annotations

from adapters import discord_commands as slash
from core.commands import COMMAND_SPECS
from core.commands.registry import CommandSpec

SPECS = {spec.name: spec for spec in COMMAND_SPECS}


def subcommands() -> dict[str, dict]:
    """Every subcommand by name, those nested in a family's subcommand group (`/arxiv feedback like`) too."""
    [group] = slash.slash_commands_payload(COMMAND_SPECS)
    shown = {}
    for option in group["options"]:
        nested = option["options"] if option["type"] == slash.SUB_COMMAND_GROUP else [option]
        shown.update({member["name"]: member for member in nested})
    return shown


def interaction_data(subcommand: str, *options: dict) -> dict:
    return {"name": "arxiv", "type": 1, "options": [{"type": 1, "name": subcommand, "options": list(options)}]}


def test_every_registry_command_is_a_subcommand_with_its_summary() -> None:
    shown = subcommands()
    assert sorted(shown) == sorted(SPECS)
    [group] = slash.slash_commands_payload(COMMAND_SPECS)
    assert len(group["options"]) <= slash.SUBCOMMANDS_LIMIT < len(SPECS)  # families keep the menu within Discord's limit
    for name, option in shown.items():
        assert option["description"] == SPECS[name].summary[: slash.DESCRIPTION_LIMIT] or option["description"].endswith("…")
        assert len(option["description"]) <= slash.DESCRIPTION_LIMIT


def test_typed_options_come_from_the_arguments_declared_with_each_command() -> None:
    shown = subcommands()
    typed = {name for name, spec in SPECS.items() if spec.arguments}
    assert {"categories", "time", "max", "minscore", "crosslists", "summaries", "language"} <= typed
    for name in typed:
        assert [option["name"] for option in shown[name]["options"]] == [argument.name for argument in SPECS[name].arguments]


def test_optional_arguments_follow_the_usage_line() -> None:
    shown = subcommands()
    assert shown["subscribe"]["options"] == [{"type": slash.STRING, "name": "args", "description": SPECS["subscribe"].usage.removeprefix("subscribe "), "required": True}]
    assert shown["help"]["options"][0]["required"] is False
    assert shown["categories"]["options"][0] | {"required": False, "autocomplete": True} == shown["categories"]["options"][0]
    assert shown["max"]["options"][0]["type"] == slash.INTEGER
    assert shown["language"]["options"][0] | {"type": slash.STRING, "autocomplete": True} == shown["language"]["options"][0]
    assert [c["value"] for c in shown["crosslists"]["options"][0]["choices"]] == ["on", "off"]
    assert shown["keywords"]["options"] == []


def test_value_commands_may_be_sent_bare_to_show_the_current_value() -> None:
    shown = subcommands()
    for name in ("time", "schedule", "max", "minscore", "crosslists", "summaries", "language"):
        assert shown[name]["options"], name
        assert not any(option["required"] for option in shown[name]["options"]), name
        assert slash.command_text(interaction_data(name), SPECS) == name
    assert slash.command_text(interaction_data("time", {"type": 3, "name": "timezone", "value": "Asia/Tokyo"}), SPECS) == "time Asia/Tokyo"
    assert slash.command_text(interaction_data("language", {"type": 3, "name": "code", "value": "de"}), SPECS) == "language de"


def test_too_many_commands_for_one_group_is_an_error() -> None:
    many = [CommandSpec(f"c{i}", f"c{i}", "x", False) for i in range(slash.SUBCOMMANDS_LIMIT + 1)]
    try:
        slash.slash_commands_payload(many)
    except ValueError as error:
        assert "25 subcommands" in str(error)
    else:
        raise AssertionError("26 subcommands were accepted")


def test_option_values_become_command_text_in_declared_order() -> None:
    data = interaction_data(
        "time",
        {"type": 3, "name": "timezone", "value": "Asia/Tokyo"},
        {"type": 3, "name": "time", "value": "07:30"},
    )
    assert slash.command_text(data, SPECS) == "time 07:30 Asia/Tokyo"
    assert slash.command_text(interaction_data("minscore", {"type": 10, "name": "score", "value": 3.0}), SPECS) == "minscore 3"
    assert slash.command_text(interaction_data("minscore", {"type": 10, "name": "score", "value": 2.5}), SPECS) == "minscore 2.5"
    assert slash.command_text(interaction_data("subscribe", {"type": 3, "name": "args", "value": ' "graph neural", llm:2 '}), SPECS) == 'subscribe "graph neural", llm:2'
    assert slash.command_text(interaction_data("keywords"), SPECS) == "keywords"
    assert slash.command_text({"name": "arxiv", "options": []}, SPECS) == ""


def autocomplete(subcommand: str, option: str, typed: str) -> list[slash.Choice]:
    return slash.autocomplete_choices(interaction_data(subcommand, {"type": 3, "name": option, "value": typed, "focused": True}), SPECS)


def test_category_autocomplete_keeps_what_was_typed_and_completes_the_last() -> None:
    choices = autocomplete("categories", "categories", "add cs.AI cs.c")
    assert choices
    assert all(c.value.startswith("add cs.AI cs.") for c in choices)
    assert "add cs.AI cs.CL" in [c.value for c in choices]
    assert len(choices) <= slash.CHOICES_LIMIT
    assert all(len(c.name) <= slash.CHOICE_TEXT_LIMIT and len(c.value) <= slash.CHOICE_TEXT_LIMIT for c in choices)
    assert "quant-ph" in [c.value for c in autocomplete("categories", "categories", "quantum")]
    assert len(autocomplete("categories", "categories", "")) == slash.CHOICES_LIMIT


def test_time_zone_autocomplete() -> None:
    assert [c.value for c in autocomplete("time", "timezone", "new_yo")] == ["America/New_York"]
    assert "Europe/Berlin" in [c.value for c in autocomplete("time", "timezone", "berlin")]
    assert autocomplete("time", "time", "08") == []
    assert autocomplete("time", "timezone", "no such zone") == []


def test_language_autocomplete_by_code_or_name() -> None:
    assert [c.value for c in autocomplete("language", "code", "germ")] == ["de"]
    assert ("ja (Japanese)", "ja") in [(c.name, c.value) for c in autocomplete("language", "code", "ja")]
    assert len(autocomplete("language", "code", "")) <= slash.CHOICES_LIMIT


def test_a_family_is_a_subcommand_group_and_its_commands_read_back_as_text() -> None:
    [group] = slash.slash_commands_payload(COMMAND_SPECS)
    [feedback] = [option for option in group["options"] if option["name"] == "feedback"]
    assert feedback["type"] == slash.SUB_COMMAND_GROUP
    assert [member["name"] for member in feedback["options"]] == ["like", "dislike", "more", "forget", "ranking", "aliases"]
    [reading] = [option for option in group["options"] if option["name"] == "reading"]
    assert [member["name"] for member in reading["options"]] == ["save", "unsave", "saved", "bibtex"]
    assert len(group["options"]) < slash.SUBCOMMANDS_LIMIT  # room for one more before another family is needed
    pressed = {"name": "arxiv", "type": 1, "options": [
        {"type": slash.SUB_COMMAND_GROUP, "name": "feedback", "options": [
            {"type": slash.SUB_COMMAND, "name": "like", "options": [{"type": slash.STRING, "name": "id", "value": "2501.01234"}]},
        ]},
    ]}
    assert slash.command_text(pressed, SPECS) == "like 2501.01234"


def test_the_delivery_family_holds_time_schedule_pause_and_resume() -> None:
    """/arxiv had Discord's 25 entries; the delivery family makes room for schedule."""
    [group] = slash.slash_commands_payload(COMMAND_SPECS)
    [delivery] = [option for option in group["options"] if option["name"] == "delivery"]
    assert delivery["type"] == slash.SUB_COMMAND_GROUP
    assert [member["name"] for member in delivery["options"]] == ["time", "schedule", "pause", "resume"]
    assert not {"time", "schedule", "pause", "resume"} & {option["name"] for option in group["options"]}
    assert [option["name"] for option in subcommands()["schedule"]["options"]] == ["every", "day"]
    chosen = {"name": "arxiv", "type": 1, "options": [
        {"type": slash.SUB_COMMAND_GROUP, "name": "delivery", "options": [
            {"type": slash.SUB_COMMAND, "name": "schedule", "options": [
                {"type": slash.STRING, "name": "day", "value": "friday"},
                {"type": slash.STRING, "name": "every", "value": "weekly"},
            ]},
        ]},
    ]}
    assert slash.command_text(chosen, SPECS) == "schedule weekly friday"
