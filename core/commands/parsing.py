"""Turning command text into validated values: names, term lists with weights, switches, numbers, times, zones."""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from core.echo import echoed
from core.limits import MAX_KEYWORD_LENGTH, MAX_KEYWORD_WEIGHT, MIN_KEYWORD_WEIGHT
from core.matching import InvalidTerm, parse_term

MAX_COMMAND_LENGTH = 1000  # characters in one command, arguments included

# Phones turn " into typographic quotes; each of these opens a phrase closed by one of its partners
# (English “…”, German „…“, Polish „…”, Swedish ”…”, French «…», Danish »…«, single ‘…’ and ‚…‘, CJK 「…」).
_QUOTES = {
    '"': '"', "\u201c": "\u201d", "\u201e": "\u201c\u201d", "\u201d": "\u201d", "\u00ab": "\u00bb", "\u00bb": "\u00ab",
    "\u2018": "\u2019", "\u201a": "\u2018\u2019", "\u300c": "\u300d",
}
# "llm:1,5" is weight 1.5 written with a decimal comma, not "llm:1" and a keyword "5".
_DECIMAL_COMMA = re.compile(r":[ \t]*\d+(,)\d+(?=\s|,|$)")
_SWITCH_WORDS = {word: True for word in ("on", "yes", "true", "1")} | {word: False for word in ("off", "no", "false", "0")}
_CLOCK = re.compile(r"(\d{1,2})(?:[:.h](\d{2}))?[ \t]*(?:([ap])\.?m\.?)?", re.IGNORECASE)
# "2501.01234", "2501.01234v2", "hep-th/0601001", or an abs/pdf link to one: the id without its version.
_ARXIV_ID = re.compile(r"(?:https?://arxiv\.org/(?:abs|pdf)/)?(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?(?:\.pdf)?", re.ASCII)
_UNPRINTABLE = ("Cc", "Cf", "Cs", "Co", "Cn")  # control, format, surrogate, private use, unassigned


class CommandError(Exception):
    """The command cannot be done as typed; the message is the whole (one-line) answer to the user."""


@dataclass(frozen=True)
class RawTerm:
    """One item of a term list as typed: its text and the weight written after `:`, if any."""

    text: str
    weight: str | None = None


def split_command(text: str) -> tuple[str, str]:
    """`/Subscribe@arxivbot llm, rl` -> ("subscribe", "llm, rl"); the name is lower-cased."""
    parts = text.strip().removeprefix("/").split(None, 1)
    if not parts:
        return "", ""
    name = parts[0].split("@", 1)[0].casefold()
    return name, parts[1].strip() if len(parts) > 1 else ""


def split_terms(args: str, spaces_separate: bool = True) -> list[RawTerm]:
    """Split a term list: commas separate items; without commas, spaces do (when allowed).

    Quotes keep a phrase together (`"large language model":2`); a `:NUMBER` written outside
    quotes at the end of an item is its weight.
    """
    closing: str | None = None
    decimal_commas = {match.start(1) for match in _DECIMAL_COMMA.finditer(args)}
    has_comma = _has_unquoted_comma(args, decimal_commas)
    items: list[RawTerm] = []
    text: list[str] = []
    weight: list[str] | None = None  # characters after the last unquoted ':'

    def flush() -> None:
        nonlocal text, weight
        term = "".join(text)
        if term.strip() or weight is not None:
            items.append(RawTerm(term, "".join(weight) if weight is not None else None))
        text, weight = [], None

    for position, character in enumerate(args):
        if closing is not None:
            if character in closing:
                closing = None
            else:
                (weight if weight is not None else text).append(character)
        elif character in _QUOTES:
            closing = _QUOTES[character]
        elif position in decimal_commas and weight is not None:
            weight.append(character)
        elif character == "," or (character.isspace() and not has_comma and spaces_separate):
            flush()
        elif character == ":":
            if weight is not None:
                text.extend([":", *weight])
            weight = []
        else:
            (weight if weight is not None else text).append(character)
    if closing is not None:
        raise CommandError("A quote is not closed: put the phrase between two quotes.")
    flush()
    return items


def _has_unquoted_comma(args: str, decimal_commas: set[int]) -> bool:
    closing: str | None = None
    for position, character in enumerate(args):
        if closing is not None:
            closing = None if character in closing else closing
        elif character in _QUOTES:
            closing = _QUOTES[character]
        elif character == "," and position not in decimal_commas:
            return True
    return False


def clean_term(text: str, what: str = "keyword") -> str:
    """A term as stored: Unicode-normalized, single-spaced, printable, within MAX_KEYWORD_LENGTH."""
    term = " ".join(unicodedata.normalize("NFKC", text).split())
    if not term:
        raise CommandError(f"An empty {what} cannot be used.")
    if any(unicodedata.category(character) in _UNPRINTABLE for character in term):
        raise CommandError(f'The {what} "{echoed(term)}" contains characters that cannot be printed.')
    if len(term) > MAX_KEYWORD_LENGTH:
        raise CommandError(f"A {what} can be at most {MAX_KEYWORD_LENGTH} characters long ({len(term)} given).")
    return term


def matchable_term(term: str, what: str = "keyword") -> str:
    """Refuse a term the matcher could never find in a paper (only punctuation, a wildcard on one letter)."""
    try:
        parse_term(term)
    except InvalidTerm as problem:
        raise CommandError(f'The {what} "{echoed(term)}" cannot be used: {problem}.') from None
    return term


def parse_weight(text: str | None) -> float:
    if text is None:
        return 1.0
    weight = parse_number(text, "weight", MIN_KEYWORD_WEIGHT, MAX_KEYWORD_WEIGHT)
    return round(weight, 2)


def parse_number(text: str, what: str, low: float, high: float) -> float:
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise CommandError(f'The {what} must be a number from {low:g} to {high:g}, not "{echoed(text, 20)}".') from None
    if not math.isfinite(value) or not low <= value <= high:
        raise CommandError(f"The {what} must be from {low:g} to {high:g} ({echoed(text, 20)} given).")
    return value


def parse_whole_number(text: str, what: str, low: int, high: int) -> int:
    stripped = text.strip()
    if not re.fullmatch(r"[+]?\d{1,9}", stripped):
        raise CommandError(f'The {what} must be a whole number from {low} to {high}, not "{echoed(stripped, 20)}".')
    value = int(stripped)
    if not low <= value <= high:
        raise CommandError(f"The {what} must be from {low} to {high} ({value} given).")
    return value


@dataclass(frozen=True)
class RefusedTerm:
    """One item of a term list that cannot be used, as typed, and why (a CommandError's sentence)."""

    typed: str
    reason: str


def parse_keywords(args: str) -> tuple[list[tuple[str, float]], list[RefusedTerm]]:
    """`llm, "large language model":2, c++` -> ([("llm", 1.0), ("large language model", 2.0)], [c++ and why]).

    Each item is judged on its own, so one bad item does not cost the others; an unclosed quote
    still refuses the whole list (where one item ends is then unknown).
    """
    accepted: list[tuple[str, float]] = []
    refused: list[RefusedTerm] = []
    for raw in split_terms(args):
        try:
            accepted.append((matchable_term(clean_term(raw.text)), parse_weight(raw.weight)))
        except CommandError as problem:
            typed = raw.text.strip() if raw.weight is None else f"{raw.text.strip()}:{raw.weight.strip()}"
            refused.append(RefusedTerm(typed, str(problem)))
    return accepted, refused


def parse_term_names(args: str) -> list[str]:
    """Terms named for removal: any weight ignored, and no matchability check, so whatever is stored can go."""
    return [clean_term(raw.text) for raw in split_terms(args)]


def parse_plain_terms(args: str, what: str, spaces_separate: bool = True) -> list[str]:
    """Terms that carry no weight (excludes, authors): a `:2` suffix is refused, not silently dropped."""
    terms = []
    for raw in split_terms(args, spaces_separate):
        if raw.weight is not None:
            raise CommandError(f"A {what} has no weight: leave out the ':{echoed(raw.weight, 10)}'.")
        terms.append(clean_term(raw.text, what))
    return terms


def parse_switch(text: str, what: str) -> bool:
    try:
        return _SWITCH_WORDS[text.strip().casefold()]
    except KeyError:
        raise CommandError(f"Say \"{what} on\" or \"{what} off\".") from None


def parse_clock(text: str) -> dt.time | None:
    """`8:30`, `08:30`, `8.30`, `8h30` or `8:30am` -> 08:30, `8` -> 08:00, `8:30 pm` -> 20:30;
    None when the text is not a clock time."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        return None
    hours, minutes, half = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
    if half and not 1 <= hours <= 12:
        raise CommandError(f"{text.strip()} is not a time of day: with am/pm the hour is 1 to 12.")
    if half:
        hours = hours % 12 + (12 if half == "p" else 0)
    if hours > 23 or minutes > 59:
        raise CommandError(f"{text.strip()} is not a time of day: use HH:MM from 00:00 to 23:59.")
    return dt.time(hours, minutes)


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY_ABBREVIATION = 3  # "mon", "tue", ... (and any longer start of the name: "thurs")


def parse_weekday(text: str) -> int | None:
    """`friday`, `Fri`, `fri.` or `Thurs` -> its number (Monday = 0); None when it names no weekday."""
    word = text.strip().rstrip(".").casefold()
    if len(word) < WEEKDAY_ABBREVIATION:
        return None
    return next((number for number, name in enumerate(WEEKDAYS) if name.startswith(word)), None)


# Files in the tz database that are not places: the server's own zone, and a placeholder of invalid times.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@lru_cache(maxsize=1)
def known_timezones() -> tuple[str, ...]:
    """Every IANA zone a chat may choose, sorted (for validation here and autocomplete in adapters)."""
    return tuple(sorted(zoneinfo.available_timezones() - _NOT_ZONES))


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in known_timezones()}


def resolve_timezone(text: str) -> str | None:
    """The IANA zone's official spelling (`europe/berlin` -> `Europe/Berlin`), or None if unknown."""
    return _zones_by_folded_name().get(text.strip().casefold())


def parse_arxiv_id(text: str) -> str | None:
    """The arXiv id (without version) that `text` names, as an id or an arxiv.org link; None if it names none."""
    matched = _ARXIV_ID.fullmatch(text.strip())
    return matched.group(1) if matched else None


def not_an_id(text: str) -> str:
    return f'"{echoed(text, 40)}" is not an arXiv id (like 2501.01234).'
