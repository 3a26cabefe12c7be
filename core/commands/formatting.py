"""How command replies show settings: keyword lists, local times, durations, the help text and README table."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from core.categories import category_name
from core.commands.registry import CommandSpec, Invocation
from core.commands.parsing import WEEKDAYS
from core.models import WEEKLY, ChatSettings, Keyword


def format_keyword(keyword: Keyword) -> str:
    return keyword.term if keyword.weight == 1.0 else f"{keyword.term}:{keyword.weight:g}"


def format_list(items: Sequence[str], empty: str = "none") -> str:
    return ", ".join(items) if items else empty


def format_categories(codes: Sequence[str]) -> str:
    return format_list([f"{code} ({category_name(code)})" if category_name(code) else code for code in codes])


def switch_word(value: bool) -> str:
    return "on" if value else "off"


def format_local_time(moment: dt.datetime, timezone: str) -> str:
    """`Mon 2026-09-28 08:30 CEST` in the chat's zone."""
    local = moment.astimezone(ZoneInfo(timezone))
    return local.strftime("%a %Y-%m-%d %H:%M %Z")


def format_duration(span: dt.timedelta) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes or not parts else []
    return " ".join(parts)


def next_delivery_line(chat: ChatSettings, next_delivery: dt.datetime | None, now: dt.datetime) -> str:
    if not chat.active:
        return "Digests are off: the bot was removed or blocked here. Send start to turn them back on."
    if chat.paused:
        return "Digests are paused. Send resume to get them again."
    if next_delivery is None:
        return "No digest is scheduled."
    shown = format_local_time(next_delivery, chat.timezone)
    which = "weekly digest" if chat.schedule == WEEKLY else "digest"
    return f"Next {which}: {shown} (in {format_duration(next_delivery - now)})."


def schedule_words(chat: ChatSettings) -> str:
    """`at 08:30 Europe/Berlin` or `weekly on Fridays at 08:30 Europe/Berlin`: when the chat's digests come."""
    at = f"at {chat.delivery_time:%H:%M} {chat.timezone}"
    return f"weekly on {WEEKDAYS[chat.weekly_day].capitalize()}s {at}" if chat.schedule == WEEKLY else at


def schedule_line(call: Invocation) -> str:
    """When the chat's next digest comes, in its local time, or why none is coming."""
    chat = call.store.chats.get_chat(call.chat.ref)
    if chat is None:
        return "No daily digest here yet: send start to get one."
    return next_delivery_line(chat, call.services.next_delivery(chat), call.store.now())


def settings_summary(chat: ChatSettings) -> list[str]:
    """The chat's whole configuration, one setting per line (used by keywords and start)."""
    return [
        f"Keywords ({len(chat.keywords)}): {format_list([format_keyword(k) for k in chat.keywords])}",
        f"Excluded: {format_list(chat.excludes)}",
        f"Authors: {format_list(chat.authors)}",
        f"Categories: {format_categories(chat.categories)}",
        f"Cross-lists: {switch_word(chat.crosslists)} · max {chat.max_papers} papers · "
        f"min score {chat.min_score:g} · summaries {switch_word(chat.summaries)} ({chat.language})",
        f"Delivery: {schedule_words(chat)}",
    ]


def help_text(specs: Sequence[CommandSpec]) -> str:
    lines = ["Commands (arguments in CAPITALS; [brackets] are optional):"]
    lines += [f"{spec.usage} - {spec.summary}" for spec in specs]
    lines.append('Send "help COMMAND" for details on one command.')
    return "\n".join(lines)


def command_help(spec: CommandSpec) -> str:
    lines = [f"{spec.usage} - {spec.summary}"]
    if spec.details:
        lines.append(spec.details)
    if spec.changes_settings:
        lines.append("In groups, only admins can change settings with it.")
    return "\n".join(lines)


def command_table(specs: Sequence[CommandSpec]) -> str:
    """The README's `## Commands` table, generated from the registry (a test keeps them equal)."""
    rows = ["| Command | What it does | Changes settings |", "| --- | --- | --- |"]
    for spec in specs:
        usage = spec.usage.replace("|", "\\|")
        rows.append(f"| `{usage}` | {spec.summary} | {'yes' if spec.changes_settings else 'no'} |")
    return "\n".join(rows)
