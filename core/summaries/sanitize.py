"""Output checks for LLM text: reject what must not be published, and make the rest safe Markdown inside a <details> block."""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.xml_text import xml_safe

MAX_SUMMARY_CHARS = 6000  # four sections of a few bullets; far beyond this the model is rambling or looping
MIN_SUMMARY_CHARS = 40
CJK_LANGUAGES = frozenset({"zh", "ja", "ko"})
MIN_CJK_SHARE = 0.15  # of non-space characters, for a summary requested in a CJK language
MAX_CJK_SHARE_ELSEWHERE = 0.3  # a Latin-script summary may quote a few CJK terms, not be written in CJK

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_DROPPED_ELEMENTS = re.compile(r"<(script|style|iframe|object|embed|template|think)\b.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
# Block quote and list markers, at any indentation: inside a list item a deeply indented line still opens blocks.
_CONTAINER_LEAD = r"(?P<lead>[ \t]*(?:(?:>|[-+*]|\d{1,9}[.)])[ \t]*)*)"
# A heading, also inside a block quote or list item ("> ## x", "- # x"), which would outrank the page's own.
_ATX_HEADING = re.compile(rf"^{_CONTAINER_LEAD}#{{1,6}}(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
# A setext underline (any run of = or -, which turns the text above into a heading) or a thematic break.
_SETEXT_OR_RULE = re.compile(rf"^{_CONTAINER_LEAD}(?P<rule>=+|-+|[-*_](?:[ \t]*[-*_]){{2,}})[ \t]*$")
_FENCE_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\([^)]*\)")
SAFE_LINK_PREFIXES = ("http://", "https://", "mailto:", "#")
# A link reference definition's target follows "]:" after spaces and at most one line break.
_LINK_DEFINITION = re.compile(r"\]:(?P<gap>[ \t]*(?:\n[ \t]*)?)(?P<target>\S*)")
_BACKSLASH_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_BLANK_RUNS = re.compile(r"\n{3,}")


class MalformedSummary(Exception):
    """The model's answer cannot be published (empty, wrong language, runaway length); the message says why."""


def cjk_share(text: str) -> float:
    visible = [char for char in text if not char.isspace()]
    if not visible:
        return 0.0
    return sum(1 for char in visible if _CJK.match(char)) / len(visible)


def is_cjk_language(language: str) -> bool:
    return language.lower().split("-")[0] in CJK_LANGUAGES


def check_summary(text: str | None, language: str, truncated: bool = False) -> str:
    """Return the text if it may be published, else raise MalformedSummary saying why."""
    if text is None or len(text.strip()) < MIN_SUMMARY_CHARS:
        raise MalformedSummary("empty or near-empty answer")
    if truncated:
        raise MalformedSummary("answer was cut off at the output token limit")
    if len(text) > MAX_SUMMARY_CHARS:
        raise MalformedSummary(f"runaway answer of {len(text)} characters (limit {MAX_SUMMARY_CHARS})")
    share = cjk_share(text)
    if is_cjk_language(language) and share < MIN_CJK_SHARE:
        raise MalformedSummary(f"{language} requested but the answer is not in it ({share:.0%} CJK characters)")
    if not is_cjk_language(language) and share > MAX_CJK_SHARE_ELSEWHERE:
        raise MalformedSummary(f"{language} requested but the answer is mostly CJK ({share:.0%})")
    return text


@dataclass(frozen=True)
class TextBlock:
    """A run of summary lines: Markdown text (fence "") or the content of one fenced code block."""

    lines: tuple[str, ...]
    fence: str = ""  # the opening run of backticks or tildes; a code block always closes with exactly it
    opener: str = ""  # the opening line as written (with its info string)


def split_code_fences(text: str) -> list[TextBlock]:
    """Text and fenced code, by CommonMark's rule: only the same character, at least as many, closes a fence.

    A fence still open at the end closes there, so it can never swallow what follows the summary.
    """
    blocks: list[TextBlock] = []
    current: list[str] = []
    fence = opener = ""
    for line in text.split("\n"):
        if fence:
            if re.fullmatch(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*", line):
                blocks.append(TextBlock(tuple(current), fence, opener))
                current, fence = [], ""
            else:
                current.append(line)
            continue
        opened = _FENCE_OPEN.match(line)
        if opened and not (opened.group("fence")[0] == "`" and "`" in opened.group("info")):
            blocks.append(TextBlock(tuple(current)))
            current, fence, opener = [], opened.group("fence"), line
        else:
            current.append(line)
    blocks.append(TextBlock(tuple(current), fence, opener))
    return [block for block in blocks if block.lines or block.fence]


def heading_as_bold(line: str) -> str | None:
    """An ATX heading line as a bold line (keeping any quote or list marker before it); None for other lines."""
    heading = _ATX_HEADING.match(line)
    if heading is None:
        return None
    inner = (heading.group("text") or "").strip().strip("*_").strip()
    return f"{heading.group('lead')}**{inner}**" if inner else heading.group("lead").rstrip()


def disarm_setext_or_rule(line: str) -> str | None:
    """A setext underline or thematic break with its first character escaped (plain text); None for other lines."""
    found = _SETEXT_OR_RULE.match(line)
    if found is None or not found.group("rule").strip():
        return None
    return f"{found.group('lead')}\\{found.group('rule').strip()}"


def is_safe_link_target(target: str) -> bool:
    """Whether a link destination, as a Markdown parser decodes it (escapes, entities), is http(s), mailto or #anchor.

    `&#106;avascript:`, `java&#x73;cript:`, `<java\tscript:...>` and relative paths are all unsafe.
    """
    destination = target.strip(" \t\n")
    if destination.startswith("<"):
        destination = destination[1:].split(">", 1)[0]
    elif destination:
        destination = destination.split()[0]
    decoded = html.unescape(_BACKSLASH_ESCAPE.sub(r"\1", destination))
    return decoded.lower().startswith(SAFE_LINK_PREFIXES)


def _parenthesis_end(line: str, start: int) -> int:
    """The index after the `)` matching the `(` at `start` (backslash escapes skipped), or the line's end."""
    depth, index = 0, start
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        index += 1
        if depth == 0:
            return index
    return len(line)


def drop_unsafe_link_targets(line: str) -> str:
    """`[text](target)` keeps its target only when it is safe; otherwise just `[text]` remains."""
    out: list[str] = []
    position = 0
    while (bracket := line.find("](", position)) != -1:
        end = _parenthesis_end(line, bracket + 1)
        target = line[bracket + 2:end].removesuffix(")")
        out.append(line[position:end] if is_safe_link_target(target) else line[position:bracket + 1])
        position = end
    return "".join(out) + line[position:]


def disarm_link_definitions(text: str) -> str:
    """`[ref]: target` stays a reference definition only for a safe target; otherwise `] :` makes it plain text."""
    return _LINK_DEFINITION.sub(
        lambda match: match.group(0) if is_safe_link_target(match.group("target")) else f"] :{match.group('gap')}{match.group('target')}",
        text,
    )


def _line_without_block_syntax(line: str) -> str:
    """Headings become bold lines; setext underlines and thematic breaks disappear; unsafe link targets go."""
    bold = heading_as_bold(line)
    if bold is not None:
        return bold
    if _SETEXT_OR_RULE.match(line):
        return ""
    return drop_unsafe_link_targets(line)


def _fenced(block: TextBlock) -> Sequence[str]:
    return [block.opener.rstrip(), *(line.rstrip() for line in block.lines), block.fence]


def sanitize_summary(text: str) -> str:
    """Markdown that cannot break out of its paper's <details> block or run code when rendered.

    No raw HTML (tags and the contents of script-like elements are removed, any other `<` that
    could open a tag gets a space), no headings or rules, every code fence closed by its own kind,
    images turned into their alt text, links and reference definitions only to http(s)/mailto,
    control characters removed.
    """
    cleaned = xml_safe(_CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    cleaned = _DROPPED_ELEMENTS.sub("", cleaned)
    cleaned = _HTML_COMMENT.sub("", cleaned)
    cleaned = _HTML_TAG.sub("", cleaned)
    cleaned = _TAG_START.sub("< ", cleaned)
    cleaned = _IMAGE.sub(lambda match: match.group("alt"), cleaned)
    lines: list[str] = []
    for block in split_code_fences(cleaned):
        if block.fence:
            lines += _fenced(block)
        else:
            prose = "\n".join(_line_without_block_syntax(line.rstrip()) for line in block.lines)
            lines.append(disarm_link_definitions(prose))
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
