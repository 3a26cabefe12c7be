"""Papers as BibTeX entries, in the shape arXiv's own export uses (eprint, archivePrefix, primaryClass).

Hand-written rather than through a BibTeX library's writer: the entries are a fixed handful of
fields, and what needs care (keys, balanced braces, LaTeX specials in arXiv titles) is ours to
decide either way; the tests parse the output back with bibtexparser.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from core.models import Paper

BIBTEX_FILENAME = "arxiv-papers.bib"
_SPECIAL = re.compile(r"(?<!\\)([&%#])")  # meaningful to LaTeX even inside a field; arXiv titles often carry them bare
_NOT_KEY = re.compile(r"[^a-z0-9]")


def _ascii_word(text: str) -> str:
    """Letters and digits only, accents dropped: "Müller-Lüdenscheidt" -> "mullerludenscheidt"."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NOT_KEY.sub("", folded)


def _surname(author: str) -> str:
    words = author.replace(",", " ").split()
    # "Smith, J." is surname-first; "Jane Smith" is surname-last.
    return words[0] if "," in author else (words[-1] if words else "")


def paper_year(paper: Paper) -> int | None:
    """The year of the first version (the announcement's when v1's date is not known)."""
    day = paper.published or paper.announced
    return day.year if day else None


def citation_key(paper: Paper) -> str:
    """Stable and unique: the first author's surname, the year, and the arXiv id ("vaswani2017_1706.03762").

    It depends on the paper alone, so a paper keeps its key whichever list it is exported with.
    """
    surname = _ascii_word(_surname(paper.authors[0])) if paper.authors else ""
    year = paper_year(paper)
    return f"{surname or 'arxiv'}{year or ''}_{paper.arxiv_id.replace('/', '_')}"


def field_value(text: str) -> str:
    """Text safe inside `{...}`: one line, LaTeX specials escaped, braces balanced (escaped when they are not)."""
    value = _SPECIAL.sub(r"\\\1", " ".join(text.split()))
    depth = 0
    for character in value:
        depth += {"{": 1, "}": -1}.get(character, 0)
        if depth < 0:
            break
    if depth != 0:
        value = value.replace("{", r"\{").replace("}", r"\}")
    return value


def bibtex_entry(paper: Paper) -> str:
    """One entry: @article when arXiv knows where it was published (journal ref), @misc otherwise."""
    fields: list[tuple[str, str]] = [
        ("title", paper.title),
        ("author", " and ".join(paper.authors)),
        ("year", str(paper_year(paper) or "")),
        ("eprint", paper.arxiv_id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", paper.primary_category),
        ("url", paper.abs_url),
        ("doi", paper.doi),
        ("journal", paper.journal_ref),
    ]
    kind = "article" if paper.journal_ref else "misc"
    lines = [f"  {name} = {{{field_value(value)}}}" for name, value in fields if value]
    return f"@{kind}{{{citation_key(paper)},\n" + ",\n".join(lines) + "\n}\n"


def bibtex_document(papers: Iterable[Paper]) -> str:
    """Entries separated by blank lines, each paper once."""
    unique = {paper.arxiv_id: paper for paper in papers}
    return "\n".join(bibtex_entry(paper) for paper in unique.values())
