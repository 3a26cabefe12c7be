"""arXiv's category taxonomy (core/data/arxiv_categories.txt): validating, spelling and naming categories."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def category_names() -> dict[str, str]:
    """Every category code arXiv announces under, mapped to its name, in file order."""
    text = resources.files("core").joinpath("data/arxiv_categories.txt").read_text(encoding="utf-8")
    names: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            code, name = line.split("\t", 1)
            names[code.strip()] = name.strip()
    return names


@lru_cache(maxsize=1)
def _by_folded_code() -> dict[str, str]:
    return {code.casefold(): code for code in category_names()}


def canonical_category(text: str) -> str | None:
    """The category's official spelling (`CS.ai` -> `cs.AI`), or None when arXiv has no such category."""
    return _by_folded_code().get(text.strip().casefold())


def category_name(code: str) -> str:
    return category_names().get(code, "")


def archive_of(code: str) -> str:
    """The archive a category belongs to: `cs.AI` -> `cs`, `hep-th` -> `hep-th`."""
    return code.split(".", 1)[0]


def archives() -> list[str]:
    return list(dict.fromkeys(archive_of(code) for code in category_names()))


def categories_in_archive(archive: str) -> list[str]:
    wanted = archive.strip().casefold()
    return [code for code in category_names() if archive_of(code).casefold() == wanted]


def similar_categories(text: str, limit: int = 3) -> list[str]:
    """Close spellings, for a 'did you mean' hint."""
    folded = _by_folded_code()
    matches = difflib.get_close_matches(text.strip().casefold(), list(folded), n=limit, cutoff=0.6)
    return [folded[match] for match in matches]


def canonical_categories(texts: Iterable[str]) -> tuple[str, ...]:
    """Each category spelled as arXiv does (`cs.cl` -> cs.CL), once, in order; ValueError names an unknown one.

    The one check for categories from config.json, the command line and chats alike: a misspelt
    category would fetch nothing, silently.
    """
    spelled = []
    for text in texts:
        code = canonical_category(text.strip())
        if code is None:
            hint = ", ".join(similar_categories(text.strip()))
            raise ValueError(f"unknown arXiv category {text.strip()!r}" + (f" (did you mean {hint}?)" if hint else ""))
        spelled.append(code)
    return tuple(dict.fromkeys(spelled))
