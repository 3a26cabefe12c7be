"""Splitting a rendered digest into messages at paper boundaries under a size budget (one place for every platform)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    """Consecutive blocks that fit one message; indices point into the blocks given."""

    indices: tuple[int, ...]
    text: str


def split_blocks(
    blocks: Sequence[str],
    budget: int,
    separator: str = "\n\n",
    measure: Callable[[str], int] = len,
    max_blocks: int | None = None,
) -> list[Chunk]:
    """Group whole blocks greedily into chunks whose measured size stays within budget.

    A block larger than the budget on its own gets a chunk of its own: cutting it cleanly is the
    renderer's job (it knows the markup), so callers pass blocks already cut to fit.
    """
    if budget <= 0:
        raise ValueError("budget must be positive")
    chunks: list[Chunk] = []
    current: list[int] = []
    current_text = ""
    for index, block in enumerate(blocks):
        candidate = block if not current else current_text + separator + block
        full = max_blocks is not None and len(current) >= max_blocks
        if current and (full or measure(candidate) > budget):
            chunks.append(Chunk(tuple(current), current_text))
            current, current_text = [index], block
        else:
            current.append(index)
            current_text = candidate
    if current:
        chunks.append(Chunk(tuple(current), current_text))
    return chunks


def cut_text(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut plain text to at most `limit` characters at a word boundary, marking the cut."""
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis):
        return ellipsis[:limit]
    head = text[: limit - len(ellipsis)]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip() + ellipsis
