"""How subscribed terms, author names and paper text are normalized and compared (one paper at a time).

Matching rules, the same for keywords and exclude words:

* Text and terms are folded the same way: Unicode NFKC, accents removed (``Schrödinger`` ~
  ``Schrodinger``, also LaTeX accents such as ``Schr\\"odinger``), LaTeX commands and braces
  dropped (``\\textbf{LLM}s`` reads ``LLMs``), case-folded.
* Words are runs of letters and digits; everything else (spaces, hyphens, punctuation, ``$``)
  separates words. A term matches whole words only: ``RL`` never matches ``world``, ``early``
  or ``RLHF``; ``Training`` does not match ``pretraining``.
* A phrase matches its words in sequence with any separators in between:
  ``pre-training`` ~ ``pre training`` ~ ``pre–training``. The closed form ``pretraining`` is a
  different word; ask for it with its own keyword or a wildcard. A one-word term also matches a
  hyphenated compound written with its letters (``pretraining`` matches ``pre-training``).
* Plural and possessive tolerance: a word and a term word match when they are equal after
  dropping a plural ending (-s, -es after s/x/z/ch/sh, -ies -> y) or a possessive ``'s``:
  ``LLM`` ~ ``LLMs`` ~ ``LLM's``, ``GPU`` ~ ``GPUs``, ``cache`` ~ ``caches``, ``study`` ~
  ``studies``; but ``corpus``, ``analysis`` and short words such as ``its`` or ``has`` are not
  plurals (``IT`` does not match "its").
* Wildcards: ``*`` at the start and/or end of a term word matches any letters there:
  ``*training`` matches ``pretraining`` and ``training``, ``quantiz*`` matches ``quantized``
  and ``quantization``, ``*former*`` matches ``transformers``. The fixed part needs 2+ letters.
* Author names are folded the same way and compared word for word (``José García`` ~
  ``Jose GARCIA``).
"""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Literal, TypeAlias

WILDCARD = "*"
MIN_WILDCARD_STEM = 2

# LaTeX's letter commands (\\o in S{\\o}ren, \\l in \\L{}ukasz, dotless \\i under an accent) as plain letters.
_LATEX_LETTER = re.compile(r"\\(ss|ae|AE|oe|OE|[ijoOlL])(?![A-Za-z])")
_LATEX_ACCENT = re.compile(r"""\\(?:['"`^~=.]|[cvuHkr](?=\{))\s*\{?([A-Za-z])\}?""")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+")
_LATEX_BRACES = re.compile(r"[{}]")
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_GREEK_NAMES = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
    "upsilon phi chi psi omega"
).split()
# Greek letters read as their names, written in Unicode (α) or LaTeX (\\alpha, \\varepsilon): `alpha`,
# `α` and `$\\alpha$` are one word.
_LATEX_GREEK = re.compile(r"\\(?:var)?(" + "|".join(_GREEK_NAMES) + r")(?![A-Za-z])", re.IGNORECASE)
_GREEK_LETTERS = {chr(0x3B1 + index + (index >= 17)): name for index, name in enumerate(_GREEK_NAMES)}  # skips final sigma
# One pass over non-ASCII text: dashes and apostrophes unified, letters Unicode does not decompose
# into a base letter and an accent made plain, Greek letters by name.
_TRANSLITERATE = str.maketrans(
    {dash: "-" for dash in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"} | {"\u2019": "'", "\u02bc": "'"}
    | {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th"}
    | _GREEK_LETTERS | {letter.upper(): name for letter, name in _GREEK_LETTERS.items()} | {"ς": "sigma"}
)
_POSSESSIVE = re.compile(r"(?<=[^\W_])'s\b")
_WORD = re.compile(r"[^\W_]+")
_NOT_WORD_OR_HYPHEN = re.compile(r"[^\w-]|_")
# The same as _NOT_WORD_OR_HYPHEN for ASCII text, as a translation table (several times faster).
_ASCII_NOT_WORD_OR_HYPHEN = str.maketrans({chr(code): " " for code in range(128) if not (chr(code).isalnum() or chr(code) == "-")})
_TERM_WORD = re.compile(r"\*?[^\W_]+\*?")
_INNER_WILDCARD = re.compile(r"[^\W_]\*[^\W_]")
# `C++`, `C#`, `F#`, `.NET`: paper text is read as words, so these symbols would vanish and `C++`
# would match every lone "C"; such terms are refused with a reason rather than silently widened.
_SYMBOL_IN_WORD = re.compile(r"[^\W_][+#]+(?![^\W_])|(?:^|\s)\.[^\W_]")


class InvalidTerm(ValueError):
    """A keyword or exclude word that cannot match anything (empty, only punctuation, bad wildcard)."""


def fold(text: str) -> str:
    """Text in the one form all comparisons use: NFKC, no LaTeX markup, no accents, case-folded."""
    text = unicodedata.normalize("NFKC", text)
    if "\\" in text:
        text = _LATEX_ACCENT.sub(r"\1", _LATEX_LETTER.sub(r"\1", _LATEX_GREEK.sub(r" \1", text)))
        text = _LATEX_BRACES.sub("", _LATEX_COMMAND.sub(" ", text))
    if not text.isascii():
        text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text)).translate(_TRANSLITERATE)
    text = text.casefold()
    return _POSSESSIVE.sub("", text) if "'" in text else text


# Short words ending in s that are not plurals: read as plurals they would make `IT` match "its",
# `GA` match "gas" or `DOE` match "does".
_NOT_PLURALS = frozenset({"its", "has", "was", "his", "yes", "gas", "bus", "does", "this", "thus", "plus", "axis", "ours"})


@functools.lru_cache(maxsize=1 << 16)
def word_forms(word: str) -> tuple[str, ...]:
    """The word and its possible singulars; two words match when their forms overlap.

    -us and -is endings are Latin or Greek singulars (corpus, analysis) from five letters on;
    shorter ones are acronym plurals (GPUs, APIs, IoUs).
    """
    forms = [word]
    if len(word) >= 4 and word.endswith("ies"):
        forms.append(word[:-3] + "y")
    latin_singular = len(word) >= 5 and word.endswith(("us", "is"))
    if len(word) >= 3 and word.endswith("s") and not word.endswith("ss") and not latin_singular and word not in _NOT_PLURALS:
        forms.append(word[:-1])
    if len(word) >= 5 and word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")):
        forms.append(word[:-2])
    return tuple(forms)


@dataclass(frozen=True)
class FieldWords:
    """One text field (a title or an abstract) as words in order, plus its hyphen-joined words written closed."""

    words: tuple[str, ...]
    compounds: frozenset[str]

    @classmethod
    def of(cls, text: str) -> FieldWords:
        folded = fold(text)
        if folded.isascii():
            spaced = folded.translate(_ASCII_NOT_WORD_OR_HYPHEN)
        else:
            spaced = _NOT_WORD_OR_HYPHEN.sub(" ", folded)
        compounds = set()
        if "-" in spaced:
            for chunk in [chunk for chunk in spaced.split() if "-" in chunk]:
                if len(parts := [part for part in chunk.split("-") if part]) > 1:
                    compounds.add("".join(parts))
        # Interned: a day's papers repeat the same few ten thousand words millions of times.
        return cls(tuple(map(sys.intern, spaced.replace("-", " ").split())), frozenset(compounds))


PatternKind: TypeAlias = Literal["word", "prefix", "suffix", "infix"]


@dataclass(frozen=True)
class WordPattern:
    """One word of a term: a plain word (plural-tolerant) or a wildcard on either side."""

    stem: str
    kind: PatternKind = "word"

    @property
    def spelled(self) -> str:
        """The pattern written as a term again ("quantiz*")."""
        leading = WILDCARD if self.kind in ("suffix", "infix") else ""
        trailing = WILDCARD if self.kind in ("prefix", "infix") else ""
        return f"{leading}{self.stem}{trailing}"

    def matches(self, word: str) -> bool:
        if self.kind == "word":
            return not set(word_forms(word)).isdisjoint(word_forms(self.stem))
        if self.kind == "prefix":
            return word.startswith(self.stem)
        if self.kind == "infix":
            return self.stem in word
        return any(form.endswith(self.stem) for form in word_forms(word))


@dataclass(frozen=True)
class TermPattern:
    """A parsed keyword or exclude term: its words in order (one word, or a phrase)."""

    words: tuple[WordPattern, ...]

    def occurs_in(self, field: FieldWords) -> bool:
        """The straightforward check, word by word; the day engine must agree with it."""
        first, *rest = self.words
        if not rest:
            return any(first.matches(word) for word in {*field.words, *field.compounds})
        text = field.words
        return any(
            all(pattern.matches(word) for pattern, word in zip(rest, text[start + 1 :]))
            for start in range(len(text) - len(rest))
            if first.matches(text[start])
        )


def _word_pattern(raw_word: str) -> WordPattern:
    leading, trailing = raw_word.startswith(WILDCARD), raw_word.endswith(WILDCARD)
    stem = raw_word.strip(WILDCARD)
    if not (leading or trailing):
        return WordPattern(stem)
    if len(stem) < MIN_WILDCARD_STEM:
        raise InvalidTerm(f"a wildcard needs at least {MIN_WILDCARD_STEM} letters next to it: {raw_word!r}")
    kind: PatternKind = "infix" if leading and trailing else ("suffix" if leading else "prefix")
    return WordPattern(stem, kind)


def parse_term(term: str) -> TermPattern:
    """Parse a keyword or exclude term; raises InvalidTerm when it could never match a word."""
    folded = fold(term)
    if _INNER_WILDCARD.search(folded):
        raise InvalidTerm(f"'*' goes at the start or end of a word, not inside it: {term!r}")
    if _SYMBOL_IN_WORD.search(folded):
        raise InvalidTerm(f"text is matched word by word and symbols such as + # . are ignored, so {term!r} would match too much")
    raw_words = _TERM_WORD.findall(folded)
    if not raw_words:
        raise InvalidTerm(f"{term!r} has no letters or digits to match")
    return TermPattern(tuple(_word_pattern(raw_word) for raw_word in raw_words))


def normalize_author(name: str) -> str:
    """An author name in comparable form: folded words joined by single spaces."""
    return " ".join(_WORD.findall(fold(name)))
