"""Commands that set one value each: cross-lists, delivery time and zone, schedule, max papers, min score, summaries, language."""
from __future__ import annotations

from typing import Any

from core.commands.formatting import schedule_line, schedule_words, switch_word
from core.commands.parsing import (
    WEEKDAYS,
    CommandError,
    parse_clock,
    parse_number,
    parse_switch,
    parse_weekday,
    parse_whole_number,
    resolve_timezone,
)
from core.commands.registry import Argument, Invocation, command
from core.echo import echoed
from core.limits import MAX_PAPERS, MAX_SCORE, MIN_PAPERS, MIN_SCORE
from core.models import DAILY, SCHEDULES, Reply

LANGUAGES = {
    "en": "English",
    "zh": "Chinese",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "ja": "Japanese",
    "ko": "Korean",
    "ru": "Russian",
    "pt": "Portuguese",
    "it": "Italian",
    "nl": "Dutch",
    "pl": "Polish",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "ar": "Arabic",
    "hi": "Hindi",
    "fa": "Persian",
    "he": "Hebrew",
    "id": "Indonesian",
}


def _change(call: Invocation, **changes: Any) -> None:
    call.require_permission()
    call.store.chats.update_chat(call.chat.ref, **changes)


def _switch(call: Invocation, setting: str, label: str) -> Reply:
    """Show an on/off setting, or set it from `on`/`off`."""
    if not call.args:
        return Reply(f"{label} are {switch_word(getattr(call.chat, setting))}.")
    wanted = parse_switch(call.args, call.spec.name)
    _change(call, **{setting: wanted})
    return Reply(f"{label} are now {switch_word(wanted)}.")


SWITCH = (Argument("state", "on or off; leave out to see the current setting", choices=("on", "off")),)


@command("crosslists", usage="crosslists [on|off]", changes_settings=True, arguments=SWITCH)
async def crosslists(call: Invocation) -> Reply:
    """Include papers cross-listed into your categories from other ones (on) or not (off)."""
    return _switch(call, "crosslists", "Cross-lists")


@command("summaries", usage="summaries [on|off]", changes_settings=True, arguments=SWITCH)
async def summaries(call: Invocation) -> Reply:
    """Add an AI summary under each paper (on) or show abstracts only (off)."""
    return _switch(call, "summaries", "Summaries")


DELIVERY = "delivery"  # the command family of when digests come (Discord: /arxiv delivery time|schedule|pause|resume)


@command("time", usage="time [HH:MM] [Area/City]", changes_settings=True, family=DELIVERY, arguments=(
    Argument("time", "local delivery time HH:MM, e.g. 08:30; leave out to see it"),
    Argument("timezone", "IANA time zone, e.g. Europe/Berlin", completion="timezone"),
))
async def delivery_time(call: Invocation) -> Reply:
    """Set when the digest arrives, in your time zone (e.g. time 08:30 Europe/Berlin).

    The zone is an IANA name such as Europe/Berlin, America/New_York, Asia/Shanghai or UTC;
    daylight-saving changes are followed. "time Europe/Berlin" keeps the hour and changes the zone.
    """
    words = call.args.split()
    if len(words) >= 2 and words[1].casefold().strip(".") in ("am", "pm", "a.m", "p.m"):
        words[:2] = [words[0] + words[1]]  # "8:30 pm" is one time
    if not words:
        return Reply(f"Digests arrive {schedule_words(call.chat)}. {schedule_line(call)}")
    if len(words) > 2:
        raise call.usage_error()
    clock = parse_clock(words[0])
    zone_words = words[1:] if clock is not None else words
    if clock is None and len(words) == 2:
        raise call.usage_error(f'"{echoed(words[0], 20)}" is not a time: use HH:MM.')
    changes: dict[str, Any] = {"delivery_time": clock} if clock is not None else {}
    if zone_words:
        zone = resolve_timezone(zone_words[0])
        if zone is None:
            raise CommandError(f'Unknown time zone "{echoed(zone_words[0])}": use an IANA name such as Europe/Berlin or UTC.')
        changes["timezone"] = zone
    _change(call, **changes)
    chat = call.store.chats.require_chat(call.chat.ref)
    return Reply(f"Digests will arrive {schedule_words(chat)}. {schedule_line(call)}")


@command("schedule", usage="schedule [daily|weekly] [DAY]", changes_settings=True, family=DELIVERY, arguments=(
    Argument("every", "daily or weekly; leave out to see the schedule", choices=SCHEDULES),
    Argument("day", "weekly: the weekday, e.g. friday or mon", choices=WEEKDAYS),
))
async def schedule(call: Invocation) -> Reply:
    """Get a digest every announcement day (daily) or one a week with the week's best papers (weekly).

    "schedule weekly friday" sends one digest each Friday at your delivery time (see time) with the best
    papers of the announcement days since the previous one (at most a week's), max applying to the whole
    week; no paper comes twice. "schedule weekly" keeps the weekday (Friday unless chosen before).
    """
    words = call.args.split()
    if not words:
        return Reply(f"Digests arrive {schedule_words(call.chat)}. {schedule_line(call)}")
    if len(words) > 2:
        raise call.usage_error()
    every = words[0].casefold()
    if every not in SCHEDULES:
        raise call.usage_error(f'"{echoed(words[0], 20)}" is not a schedule: say daily or weekly.')
    changes: dict[str, Any] = {"schedule": every}
    if len(words) == 2:
        if every == DAILY:
            raise call.usage_error("A daily digest comes every announcement day: only weekly takes a DAY.")
        weekday = parse_weekday(words[1])
        if weekday is None:
            raise call.usage_error(f'"{echoed(words[1], 20)}" is not a weekday: say monday to sunday, or mon to sun.')
        changes["weekly_day"] = weekday
    _change(call, **changes)
    chat = call.store.chats.require_chat(call.chat.ref)
    return Reply(f"Digests will arrive {schedule_words(chat)}. {schedule_line(call)}")


@command("max", usage="max [N]", changes_settings=True,
         arguments=(Argument("count", "most papers per digest; leave out to see it", kind="integer"),))
async def max_papers(call: Invocation) -> Reply:
    """Set the most papers one digest shows (1 to 100)."""
    if not call.args:
        return Reply(f"A digest shows at most {call.chat.max_papers} papers.")
    count = parse_whole_number(call.args, "number of papers", MIN_PAPERS, MAX_PAPERS)
    _change(call, max_papers=count)
    return Reply(f"A digest now shows at most {count} papers.")


@command("minscore", usage="minscore [X]", changes_settings=True,
         arguments=(Argument("score", "lowest score a paper needs; leave out to see it", kind="number"),))
async def minscore(call: Invocation) -> Reply:
    """Set the keyword points a paper needs (0 to 100; a match adds its weight, 3x in a title)."""
    if not call.args:
        return Reply(f"Papers need a score of at least {call.chat.min_score:g}.")
    score = round(parse_number(call.args, "minimum score", MIN_SCORE, MAX_SCORE), 2) + 0.0  # -0 reads as 0
    _change(call, min_score=score)
    return Reply(f"Papers now need a score of at least {score:g}.")


@command("language", usage="language [CODE]", changes_settings=True, arguments=(
    Argument("code", "summary language, e.g. en or de; leave out to see it", completion="language"),
))
async def language(call: Invocation) -> Reply:
    """Choose the language of AI summaries (en, zh, de, fr, es, ja, ...)."""
    choices = ", ".join(LANGUAGES)
    if not call.args:
        current = LANGUAGES.get(call.chat.language, call.chat.language)
        return Reply(f"Summaries are written in {current}. Available: {choices}.")
    code = call.args.strip().casefold()
    if code not in LANGUAGES:
        raise CommandError(f"Unknown language code. Available: {choices}.")
    _change(call, language=code)
    return Reply(f"Summaries will be written in {LANGUAGES[code]}.")
