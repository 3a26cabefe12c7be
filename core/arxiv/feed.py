"""Parsing rss.arxiv.org announcement feeds (RSS 2.0 and Atom) into Papers and the day they announce."""
from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from core.arxiv.calendar import ARXIV_TIMEZONE
from core.arxiv.errors import ArxivMalformed
from core.models import ANNOUNCE_TYPES, Paper

log = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"

# New ids (2301.00001, 0704.0001) and old ones (hep-th/0601001, math.GT/0309136), optionally versioned.
ARXIV_ID = re.compile(r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<version>\d+))?")
# "arXiv:2609.26811v1 Announce Type: new \nAbstract: ..." (the description of every feed item since 2024)
DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?(?P<abstract>.*)$", re.DOTALL
)
# Older feeds suffixed titles with "(arXiv:2301.00001v1 [cs.LG] UPDATED)".
TITLE_SUFFIX = re.compile(r"\s*\(arXiv:\S+\s+\[[^\]]*\][^)]*\)\s*$")
WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class FeedPage:
    """One feed document: the announcement day it describes (None if it says nothing) and its papers."""

    announcement_day: dt.date | None
    papers: tuple[Paper, ...]


def read_xml(body: bytes, what: str) -> ET.Element:
    """The document's root; DTDs with entities (billion laughs, external files) are refused, not expanded."""
    try:
        return SafeET.fromstring(body)
    except ET.ParseError as exc:
        raise ArxivMalformed(f"{what} is not valid XML: {exc}") from exc
    except DefusedXmlException as exc:
        raise ArxivMalformed(f"{what} declares XML entities, which a feed never needs: {exc!r}") from exc


def clean_text(text: str | None) -> str:
    """NFC-normalised text with runs of whitespace (arXiv hard-wraps lines) collapsed; LaTeX kept verbatim."""
    return WHITESPACE.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def split_arxiv_id(text: str) -> tuple[str, int] | None:
    """("2609.26811", 1) from "oai:arXiv.org:2609.26811v1", an abs URL or a bare id; None if there is no id."""
    matches = list(ARXIV_ID.finditer(text))
    if not matches:
        return None
    found = matches[-1]  # in "oai:arXiv.org:..." or a URL only the last part is the id
    return found.group("id"), int(found.group("version") or 1)


def split_authors(creator: str) -> tuple[str, ...]:
    """The feed's dc:creator "A, B and C" as ("A", "B", "C")."""
    parts = re.split(r",\s*|\s+and\s+", clean_text(creator))
    return tuple(part for part in parts if part)


def _date_in_own_offset(stamp: str | None, *, rfc822: bool) -> dt.date | None:
    """The calendar date of a timestamp as written (arXiv dates feeds at midnight US Eastern)."""
    if not stamp or not stamp.strip():
        return None
    try:
        moment = parsedate_to_datetime(stamp.strip()) if rfc822 else dt.datetime.fromisoformat(stamp.strip())
    except (TypeError, ValueError):
        log.warning("unreadable feed date %r", stamp)
        return None
    return moment.date()


def _child_text(element: ET.Element, tag: str) -> str:
    child = element.find(tag)
    return child.text or "" if child is not None else ""


def _paper(
    guid: str, title: str, description: str, categories: list[str], creators: list[str],
    announce_type: str, day: dt.date | None, doi: str, journal_ref: str,
) -> Paper | None:
    described = DESCRIPTION.match(description)
    identity = split_arxiv_id(guid) or (split_arxiv_id(described.group("id")) if described else None)
    if identity is None:
        log.warning("feed item without an arXiv id skipped: %r", guid or title[:80])
        return None
    kind = (announce_type or (described.group("type") if described else "")).strip().lower()
    if kind not in ANNOUNCE_TYPES:
        log.warning("unknown announce type %r for %s; treating it as new", kind, identity[0])
        kind = "new"
    abstract = described.group("abstract") if described else description
    authors = tuple(name for creator in creators for name in split_authors(creator))
    cleaned_categories = tuple(dict.fromkeys(c.strip() for c in categories if c and c.strip()))
    return Paper(
        arxiv_id=identity[0],
        version=identity[1],
        title=TITLE_SUFFIX.sub("", clean_text(title)),
        authors=authors,
        abstract=clean_text(abstract),
        categories=cleaned_categories,
        primary_category=cleaned_categories[0] if cleaned_categories else "",
        announce_type=kind,
        announced=day,
        doi=clean_text(doi),
        journal_ref=clean_text(journal_ref),
    )


def _rss_papers(channel: ET.Element) -> tuple[dt.date | None, list[Paper]]:
    channel_day = _date_in_own_offset(_child_text(channel, "pubDate"), rfc822=True)
    papers = []
    for item in channel.iter("item"):
        day = _date_in_own_offset(_child_text(item, "pubDate"), rfc822=True) or channel_day
        paper = _paper(
            guid=_child_text(item, "guid") or _child_text(item, "link"),
            title=_child_text(item, "title"),
            description=_child_text(item, "description"),
            categories=[c.text or "" for c in item.findall("category")],
            creators=[c.text or "" for c in item.findall(f"{DC}creator")],
            announce_type=_child_text(item, f"{ARXIV}announce_type"),
            day=day,
            doi=_child_text(item, f"{ARXIV}DOI"),
            journal_ref=_child_text(item, f"{ARXIV}journal_reference"),
        )
        if paper is not None:
            papers.append(paper)
    return channel_day, papers


def _atom_papers(feed: ET.Element) -> tuple[dt.date | None, list[Paper]]:
    papers = []
    for entry in feed.iter(f"{ATOM}entry"):
        link = entry.find(f"{ATOM}link")
        creators = [c.text or "" for c in entry.findall(f"{DC}creator")]
        creators += [_child_text(a, f"{ATOM}name") for a in entry.findall(f"{ATOM}author")]
        paper = _paper(
            guid=_child_text(entry, f"{ATOM}id") or (link.get("href", "") if link is not None else ""),
            title=_child_text(entry, f"{ATOM}title"),
            description=_child_text(entry, f"{ATOM}summary"),
            categories=[c.get("term", "") for c in entry.findall(f"{ATOM}category")],
            creators=creators,
            announce_type=_child_text(entry, f"{ARXIV}announce_type"),
            day=_date_in_own_offset(_child_text(entry, f"{ATOM}published"), rfc822=False),
            doi=_child_text(entry, f"{ARXIV}DOI"),
            journal_ref=_child_text(entry, f"{ARXIV}journal_reference"),
        )
        if paper is not None:
            papers.append(paper)
    # The Atom feed's own <updated> is in UTC (04:00 for midnight Eastern): its Eastern date is the day.
    updated = _child_text(feed, f"{ATOM}updated").strip()
    try:
        feed_day = dt.datetime.fromisoformat(updated).astimezone(ZoneInfo(ARXIV_TIMEZONE)).date() if updated else None
    except ValueError:
        feed_day = None
    return feed_day, papers


def parse_feed(body: bytes) -> FeedPage:
    """Parse an announcement feed; raises ArxivMalformed for anything that is not a readable RSS or Atom feed."""
    root = read_xml(body, "arXiv's feed")
    if root.tag == "rss" and root.find("channel") is not None:
        channel_day, papers = _rss_papers(root.find("channel"))  # type: ignore[arg-type]
    elif root.tag == f"{ATOM}feed":
        channel_day, papers = _atom_papers(root)
    else:
        raise ArxivMalformed(f"arXiv sent a <{root.tag}> document where a feed was expected")
    unique: dict[str, Paper] = {}
    for paper in papers:
        unique.setdefault(paper.arxiv_id, paper)
    days = sorted({paper.announced for paper in unique.values() if paper.announced})
    if len(days) > 1:
        log.warning("feed mixes announcement days %s; using the newest", days)
    announcement_day = days[-1] if days else channel_day
    return FeedPage(announcement_day=announcement_day, papers=tuple(unique.values()))
