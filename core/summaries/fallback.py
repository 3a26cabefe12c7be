"""The extractive fallback: an abstract's key sentences, labelled so nobody takes them for an AI summary."""
from __future__ import annotations

import re

from core.summaries.sanitize import is_cjk_language, sanitize_summary

FALLBACK_MODEL = "extractive"
KEY_SENTENCES = 3
MAX_SENTENCE_CHARS = 400
FALLBACK_LABELS = {
    "en": "Key sentences from the abstract (automatic extract, not an AI summary):",
    "zh": "摘要中的关键句（自动摘录，并非 AI 总结）：",
}

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"'])")
_CUES = (
    (re.compile(r"\b(?:we|this (?:paper|work))\s+(?:propose|present|introduce|develop|design)", re.I), 3.0),
    (re.compile(r"\b(?:outperform|improv|achiev|reduc|speed|accelerat|surpass)\w*", re.I), 2.0),
    (re.compile(r"\b(?:results?|experiments?|evaluation)\b.*\b(?:show|demonstrat)\w*", re.I), 2.0),
    (re.compile(r"\d+(?:\.\d+)?\s*(?:%|x\b|×|times\b)", re.I), 2.0),
    (re.compile(r"\b(?:novel|first|new)\b", re.I), 1.0),
    (re.compile(r"\b(?:code|data|models?)\s+(?:is|are)\s+(?:available|released)", re.I), -1.0),
)


def fallback_label(language: str) -> str:
    return FALLBACK_LABELS["zh"] if is_cjk_language(language) else FALLBACK_LABELS["en"]


def split_sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in _SENTENCE_END.split(" ".join(text.split())) if sentence.strip()]


def _sentence_score(sentence: str, position: int) -> float:
    score = sum(weight for pattern, weight in _CUES if pattern.search(sentence))
    return score + (1.5 if position == 0 else 0.0)


def key_sentences(abstract: str, count: int = KEY_SENTENCES) -> list[str]:
    """The `count` best sentences by cue phrases and position, in their original order."""
    sentences = split_sentences(abstract)
    ranked = sorted(range(len(sentences)), key=lambda index: (-_sentence_score(sentences[index], index), index))
    chosen = sorted(ranked[:count])
    return [_shorten(sentences[index]) for index in chosen]


def _shorten(sentence: str) -> str:
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return sentence
    return sentence[: MAX_SENTENCE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def extractive_summary(abstract: str, language: str) -> str:
    """A labelled bullet list of the abstract's key sentences (sanitized like LLM output)."""
    sentences = key_sentences(abstract) or ["(The abstract is empty.)"]
    bullets = "\n".join(f"- {sentence}" for sentence in sentences)
    return sanitize_summary(f"*{fallback_label(language)}*\n\n{bullets}")
