"""Discord's message and command limits as its API enforces them, answering with Discord's own error JSON."""
from __future__ import annotations

import re
from typing import Any

# Discord's documented limits; the fake enforces them because discord.py only checks the embed count.
CONTENT_LIMIT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_NAME_LIMIT = 256
AUTOCOMPLETE_CHOICES_LIMIT = 25
CHOICE_TEXT_LIMIT = 100
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
COMMAND_DESCRIPTION_LIMIT = 100
COMMAND_OPTIONS_LIMIT = 25
ACTION_ROWS_LIMIT = 5
BUTTONS_PER_ROW_LIMIT = 5
CUSTOM_ID_LIMIT = 100
BUTTON_LABEL_LIMIT = 80

def _form_error(path: list[str], code: str, message: str) -> dict[str, Any]:
    """Discord's nested "Invalid Form Body" error for one offending key path."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return {"message": "Invalid Form Body", "code": 50035, "errors": errors}


def too_long(path: list[str], limit: int) -> dict[str, Any]:
    return _form_error(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


def embed_length(embed: dict[str, Any]) -> int:
    """Characters Discord counts towards the 6000 per message: title, description, fields, footer, author."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in embed.get("fields") or [])
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def components_problem(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Discord's rules for a message's buttons: at most 5 action rows of at most 5 buttons, each with a label or
    emoji and a custom_id of at most 100 characters that no other component of the message has."""
    if len(rows) > ACTION_ROWS_LIMIT:
        return too_long(["components"], ACTION_ROWS_LIMIT)
    seen: set[str] = set()
    for number, row in enumerate(rows):
        at = ["components", str(number)]
        buttons = row.get("components") or []
        if row.get("type") != 1 or not 1 <= len(buttons) <= BUTTONS_PER_ROW_LIMIT:
            return _form_error([*at, "components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
        for index, button in enumerate(buttons):
            where = [*at, "components", str(index)]
            custom_id = button.get("custom_id") or ""
            if button.get("type") != 2 or button.get("style") not in (1, 2, 3, 4) or not 1 <= len(custom_id) <= CUSTOM_ID_LIMIT:
                return _form_error([*where, "custom_id"], "BASE_TYPE_REQUIRED", "This field is required")
            if len(button.get("label") or "") > BUTTON_LABEL_LIMIT:
                return too_long([*where, "label"], BUTTON_LABEL_LIMIT)
            if custom_id in seen:
                return _form_error([*where, "custom_id"], "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
            seen.add(custom_id)
    return None


def message_problem(body: dict[str, Any]) -> dict[str, Any] | None:
    """Discord's error JSON for a message body that breaks a limit, or None when it is valid."""
    content = body.get("content") or ""
    embeds = body.get("embeds") or []
    if problem := components_problem(body.get("components") or []):
        return problem
    if len(content) > CONTENT_LIMIT:
        return too_long(["content"], CONTENT_LIMIT)
    if not content and not embeds:
        return {"message": "Cannot send an empty message", "code": 50006}
    if len(embeds) > EMBEDS_PER_MESSAGE:
        return too_long(["embeds"], EMBEDS_PER_MESSAGE)
    for index, embed in enumerate(embeds):
        at = ["embeds", str(index)]
        checks = [
            (["title"], embed.get("title") or "", EMBED_TITLE_LIMIT),
            (["description"], embed.get("description") or "", EMBED_DESCRIPTION_LIMIT),
            (["footer", "text"], (embed.get("footer") or {}).get("text") or "", FOOTER_LIMIT),
            (["author", "name"], (embed.get("author") or {}).get("name") or "", AUTHOR_NAME_LIMIT),
        ]
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_LIMIT:
            return too_long([*at, "fields"], EMBED_FIELDS_LIMIT)
        for number, embed_field in enumerate(fields):
            for key, limit in (("name", FIELD_NAME_LIMIT), ("value", FIELD_VALUE_LIMIT)):
                text = embed_field.get(key) or ""
                if not text.strip():
                    return _form_error([*at, "fields", str(number), key], "BASE_TYPE_REQUIRED", "This field is required")
                checks.append((["fields", str(number), key], text, limit))
        for path, text, limit in checks:
            if len(text) > limit:
                return too_long([*at, *path], limit)
    if sum(embed_length(embed) for embed in embeds) > EMBED_TOTAL_LIMIT:
        return _form_error(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    return None


def _options_problem(options: list[dict[str, Any]], at: list[str]) -> dict[str, Any] | None:
    if len(options) > COMMAND_OPTIONS_LIMIT:
        return too_long([*at, "options"], COMMAND_OPTIONS_LIMIT)
    seen_optional = False
    for index, option in enumerate(options):
        where = [*at, "options", str(index)]
        problem = command_problem(option, where)
        if problem:
            return problem
        if option.get("type") in (1, 2):
            continue
        if option.get("required") and seen_optional:
            return _form_error(where, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
        seen_optional = seen_optional or not option.get("required")
        if len(option.get("choices") or []) > AUTOCOMPLETE_CHOICES_LIMIT:
            return too_long([*where, "choices"], AUTOCOMPLETE_CHOICES_LIMIT)
    return None


def command_problem(command: dict[str, Any], at: list[str]) -> dict[str, Any] | None:
    """Discord's rules for command and option names, descriptions and nesting."""
    name = command.get("name") or ""
    if not COMMAND_NAME.match(name) or name != name.lower():
        return _form_error([*at, "name"], "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    description = command.get("description") or ""
    if not 1 <= len(description) <= COMMAND_DESCRIPTION_LIMIT:
        return too_long([*at, "description"], COMMAND_DESCRIPTION_LIMIT)
    return _options_problem(command.get("options") or [], at)
