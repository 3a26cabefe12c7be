"""The store opens, migrates once, and stores an announcement day idempotently."""
from __future__ import annotations

import dataclasses
import datetime as dt

from core.config import DefaultsSettings
from core.models import ChatRef, Paper
from core.store import Store

DAY = dt.date(2026, 9, 24)


def _paper(arxiv_id: str = "2609.26811", version: int = 1, title: str = "Spectral Updates") -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=title,
        authors=("Fabien Polly",),
        abstract="Local learning trains each layer.",
        categories=("cs.LG", "cs.AI"),
        primary_category="cs.LG",
        announce_type="new",
    )


def test_migrations_apply_once_and_wal_is_on(tmp_path):
    first = Store(tmp_path / "a.db")
    first.close()
    again = Store(tmp_path / "a.db")
    assert again.applied_migrations() == [
        "m001_initial", "m002_chat_owed_from", "m003_ranking", "m004_saved_papers", "m006_weekly_schedule",
        "m007_deliveries_without_rowid",
        "m008_deliveries_by_day",
        "m009_day_plans",
        "m010_chat_terms_in_order",
    ]
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_a_database_of_the_first_schema_is_migrated_keeping_its_chats(tmp_path):
    """A chat stored before m002 is owed digests from its creation on, as it was before the column existed."""
    old = Store(tmp_path / "old.db")
    chat = old.chats.get_or_create_chat(ChatRef("console", "lab"), DefaultsSettings())
    old.db.execute("ALTER TABLE chats DROP COLUMN owed_from")  # back to m001's tables
    old.db.execute("ALTER TABLE chats DROP COLUMN ranking")
    for table, column in (("chats", "schedule"), ("chats", "weekly_day"), ("chat_days", "week_of"), ("chat_days", "plan"),
                          ("chat_days", "plan_numbers")):
        old.db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    old.db.execute("ALTER TABLE deliveries ADD COLUMN created_at TEXT")  # m008 dropped it
    old.db.execute("DROP TABLE acronyms")
    old.db.execute("DROP INDEX chat_terms_in_order")
    old.db.execute("DROP TABLE saved")
    old.db.execute("DELETE FROM _sqlite_migrations WHERE name != 'm001_initial'")
    old.db.conn.commit()
    created = old.db.execute("SELECT created_at FROM chats").fetchone()[0]
    old.close()
    migrated = Store(tmp_path / "old.db")
    assert migrated.applied_migrations() == [
        "m001_initial", "m002_chat_owed_from", "m003_ranking", "m004_saved_papers", "m006_weekly_schedule",
        "m007_deliveries_without_rowid",
        "m008_deliveries_by_day",
        "m009_day_plans",
        "m010_chat_terms_in_order",
    ]
    assert migrated.saved.saved_papers(chat.ref) == []  # m004: an empty reading list
    # m003: chats stored before rankings existed get relevance; m006: and daily digests, as they had
    assert migrated.chats.require_chat(chat.ref) == chat
    assert chat.schedule == "daily"
    assert migrated.db.execute("SELECT owed_from FROM chats").fetchone()[0] == created
    migrated.close()


def test_same_day_twice_stores_one_copy(store):
    store.papers.store_announcement(DAY, [_paper(), _paper("2609.26820")])
    store.papers.store_announcement(DAY, [_paper(), _paper("2609.26820")])
    assert store.papers.count_papers() == 2
    assert [p.arxiv_id for p in store.papers.papers_announced(DAY)] == ["2609.26811", "2609.26820"]


def test_newer_version_replaces_metadata_older_does_not(store):
    store.papers.store_announcement(DAY, [_paper(version=2, title="v2 title")])
    store.papers.store_announcement(DAY + dt.timedelta(days=1), [_paper(version=1, title="v1 title")])
    assert store.papers.papers_by_id(["2609.26811"])["2609.26811"].title == "v2 title"


def test_category_filter_and_types_survive_round_trip(store):
    store.papers.store_announcement(DAY, [_paper()])
    (paper,) = store.papers.papers_announced(DAY, ["cs.AI"])
    assert paper.categories == ("cs.LG", "cs.AI")
    assert paper.announced == DAY
    assert store.papers.papers_announced(DAY, ["math.CO"]) == []


def test_a_paper_keeps_its_first_day_and_the_metadata_a_newer_version_lacks(store):
    """The feed's v2 carries no v1 date or comment; a backfilled older day may be stored after a newer one."""
    first = dataclasses.replace(_paper(), published=DAY - dt.timedelta(days=1), comment="12 pages", doi="10.1/x")
    store.papers.store_announcement(DAY + dt.timedelta(days=2), [dataclasses.replace(first, version=2, title="New title",
                                                                              published=None, comment="", doi="", announce_type="replace")])
    store.papers.store_announcement(DAY, [first])
    stored = store.papers.papers_by_id([first.arxiv_id])[first.arxiv_id]
    assert (stored.version, stored.title, stored.announced) == (2, "New title", DAY)
    store.papers.store_announcement(DAY + dt.timedelta(days=3), [dataclasses.replace(first, version=3, title="Third",
                                                                              published=None, comment="", doi="")])
    stored = store.papers.papers_by_id([first.arxiv_id])[first.arxiv_id]
    assert (stored.title, stored.published, stored.comment, stored.doi) == ("Third", first.published, "12 pages", "10.1/x")
