"""Output checks for LLM text: reject what must not be published, and make the rest safe Markdown inside a <details> block."""
from __future__ import annotations

import re

MAX_SUMMARY_CHARS = 6000  # four sections of a few bullets; far beyond this the model is rambling or looping
MIN_SUMMARY_CHARS = 40
CJK_LANGUAGES = frozenset({"zh", "ja", "ko"})
MIN_CJK_SHARE = 0.15  # of non-space characters, for a summary requested in a CJK language
MAX_CJK_SHARE_ELSEWHERE = 0.3  # a Latin-script summary may quote a few CJK terms, not be written in CJK

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_DROPPED_ELEMENTS = re.compile(r"<(script|style|iframe|object|embed|template)\b.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_ATX_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+|$)(?P<text>.*?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT_OR_RULE = re.compile(r"^[ \t]{0,3}(?:[=]+|[-*_](?:[ \t]*[-*_]){2,})[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(?:```|~~~)")
_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\([^)]*\)")
_UNSAFE_LINK = re.compile(r"\]\(\s*(?:javascript|data|vbscript):(?:[^()]|\([^()]*\))*\)", re.IGNORECASE)
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


def _line_without_block_syntax(line: str) -> str:
    """Headings become bold lines; setext underlines and thematic breaks disappear."""
    heading = _ATX_HEADING.match(line)
    if heading:
        inner = heading.group("text").strip().strip("*_").strip()
        return f"**{inner}**" if inner else ""
    if _SETEXT_OR_RULE.match(line):
        return ""
    return line


def sanitize_summary(text: str) -> str:
    """Markdown that cannot break out of its paper's <details> block or run code when rendered.

    No raw HTML (tags and the contents of script-like elements are removed, any other `<` that
    could open a tag gets a space), no headings or rules, code fences closed, images turned into
    their alt text, script links dropped, control characters removed.
    """
    cleaned = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    cleaned = _DROPPED_ELEMENTS.sub("", cleaned)
    cleaned = _HTML_COMMENT.sub("", cleaned)
    cleaned = _HTML_TAG.sub("", cleaned)
    cleaned = _TAG_START.sub("< ", cleaned)
    cleaned = _IMAGE.sub(lambda match: match.group("alt"), cleaned)
    cleaned = _UNSAFE_LINK.sub("]", cleaned)
    lines = []
    in_fence = False
    for line in cleaned.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            lines.append(line.rstrip())
            continue
        lines.append(line.rstrip() if in_fence else _line_without_block_syntax(line.rstrip()))
    if in_fence:
        lines.append("```")
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
