"""How a reply quotes what the user typed: the one sanitizer for echoed input.

Text quoted back must not break or bend the reply around it: a lone surrogate ("\\udfff") cannot
be encoded, so Telegram's renderer failed and no reply was sent; a right-to-left override (U+202E)
reversed the rest of the reply; control characters garble it. These are dropped, whitespace is made
single spaces, and the quote is cut to a length the reply can carry.
"""
from __future__ import annotations

import unicodedata

ECHO_MAX_CHARS = 40  # a quoted word or query; longer input is cut with an ellipsis
# Format characters that carry meaning in ordinary text (emoji sequences, Persian and Indic scripts) stay.
_KEPT_FORMAT = frozenset({"\u200c", "\u200d"})
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})  # controls, format (the bidi controls among them), surrogates


def echoed(text: str, limit: int = ECHO_MAX_CHARS) -> str:
    """`text` as a reply may quote it: no lone surrogates, bidi or other control characters, at most `limit` characters."""
    kept = "".join(
        character for character in " ".join(text.split())
        if character in _KEPT_FORMAT or unicodedata.category(character) not in _DROPPED_CATEGORIES
    ).strip()
    return kept if len(kept) <= limit else kept[: limit - 1].rstrip() + "…"
