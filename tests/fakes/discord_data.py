"""Test data for the Discord fake: slash-command interaction payloads and digests of real arXiv papers."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.models import Digest, Keyword, KeywordMatch, Paper, ScoredPaper, Summary

if TYPE_CHECKING:
    from tests.fakes.discord import FakeDiscord

def slash_interaction(
    fake: FakeDiscord,
    subcommand: str,
    options: list[dict[str, Any]] | None = None,
    *,
    channel_id: str,
    guild_id: str | None = None,
    user_id: str = "4242",
    permissions: int = 0,
    interaction_type: int = 2,
    channel_name: str = "papers",
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload for `/arxiv <subcommand>` as Discord sends it (guild or DM)."""
    user = {"id": user_id, "username": f"user{user_id}", "discriminator": "0", "global_name": None, "avatar": None}
    interaction: dict[str, Any] = {
        "id": str(fake.new_id()),
        "application_id": fake.application_id,
        "type": interaction_type,
        "token": f"itoken-{fake.new_id()}",
        "version": 1,
        "locale": "en-US",
        "attachment_size_limit": 10 * 1024 * 1024,
        "app_permissions": str((1 << 53) - 1),
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id} if guild_id else {"1": user_id},
        "context": 0 if guild_id else 1,
        "channel_id": channel_id,
        "data": {
            "id": str(fake.new_id()),
            "name": "arxiv",
            "type": 1,
            "options": [_subcommand_option(subcommand, options or [])],
        },
    }
    if guild_id:
        interaction["guild_id"] = guild_id
        interaction["guild_locale"] = "en-US"
        interaction["channel"] = {"id": channel_id, "type": 0, "guild_id": guild_id, "name": channel_name, "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None}
        interaction["member"] = {
            "user": user,
            "roles": [],
            "joined_at": "2026-01-01T00:00:00.000000+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(permissions),
        }
    else:
        interaction["channel"] = {"id": channel_id, "type": 1, "recipients": [user]}
        interaction["user"] = user
    return interaction


def _subcommand_option(subcommand: str, options: list[dict[str, Any]]) -> dict[str, Any]:
    """`like` is a subcommand; "feedback like" is the subcommand `like` inside the group `feedback` (type 2)."""
    group, _, name = subcommand.rpartition(" ")
    option = {"type": 1, "name": name, "options": options}
    return {"type": 2, "name": group, "options": [option]} if group else option


def button_interaction(
    fake: FakeDiscord,
    message: dict[str, Any],
    custom_id: str,
    *,
    guild_id: str | None = None,
    user_id: str = "4242",
) -> dict[str, Any]:
    """A MESSAGE_COMPONENT interaction: someone pressed the button `custom_id` under `message` (as Discord echoed it)."""
    channel_id = message["channel_id"]
    interaction = slash_interaction(fake, "", channel_id=channel_id, guild_id=guild_id, user_id=user_id)
    interaction["type"] = 3
    interaction["message"] = message
    interaction["data"] = {"custom_id": custom_id, "component_type": 2}
    return interaction


# ---- real papers for digests ----
PAPERS_FIXTURE = Path(__file__).parent.parent / "fixtures" / "discord" / "papers.jsonl"


def fixture_papers(count: int) -> list[Paper]:
    """The first `count` real arXiv records of the fixture (arXiv's metadata snapshot) as Papers."""
    papers = []
    for line in PAPERS_FIXTURE.read_text(encoding="utf-8").splitlines()[:count]:
        record = json.loads(line)
        categories = tuple(record["categories"].split())
        papers.append(
            Paper(
                arxiv_id=record["id"],
                version=int(record["versions"][-1]["version"].lstrip("v")),
                title=" ".join(record["title"].split()),
                authors=tuple(" ".join(part for part in (given, family) if part) for family, given, *_ in record["authors_parsed"]),
                abstract=" ".join(record["abstract"].split()),
                categories=categories,
                primary_category=categories[0],
                announced=dt.date(2026, 9, 24),
            )
        )
    return papers


def fixture_digest(count: int, *, summary_text: str | None = None) -> Digest:
    """A digest of `count` real papers, each with `summary_text` as its summary when given."""
    papers = fixture_papers(count)
    scored = tuple(
        ScoredPaper(paper, score=10.0 - index / 10, matches=(KeywordMatch("quantum", True, False, 3.0),))
        for index, paper in enumerate(papers)
    )
    summaries = {}
    if summary_text is not None:
        summaries = {p.arxiv_id: Summary(p.arxiv_id, p.version, "qwen-long", "en", "v1", "abstract", summary_text) for p in papers}
    return Digest(
        announcement_day=dt.date(2026, 9, 24),
        papers=scored,
        categories=("hep-ph", "math.CO"),
        keywords=(Keyword("quantum"),),
        considered=200,
        generated_at=dt.datetime(2026, 9, 24, 8, 0, tzinfo=dt.timezone.utc),
        summaries=summaries,
    )
