"""m007: the outbox of a database from before it keeps every row, and its queries still use an index."""
from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from core.store import Store
from core.store.outbox import DELIVERED_AGAIN, DayStatus
from core.store.schema import migrations

DAY = dt.date(2026, 9, 24)
MIGRATION = "m007_deliveries_without_rowid"


def _old_database(path):
    """A database at m006 with a chat, its planned day and three outbox rows (pending, sent, failed)."""
    db = Database(path)
    migrations.apply(db, stop_before=MIGRATION)
    db["chats"].insert({"id": 7, "platform": "console", "chat_id": "lab", "active": 1, "paused": 0, "schedule": "daily"})
    db["chat_days"].insert({"chat": 7, "announced": DAY.isoformat(), "status": DayStatus.SENDING})
    for position, (arxiv_id, status) in enumerate((("2609.00001", "sent"), ("2609.00002", "pending"), ("2609.00003", "failed"))):
        db["deliveries"].insert({
            "chat": 7, "arxiv_id": arxiv_id, "version": 1, "announced": DAY.isoformat(), "position": position,
            "score": 2.5, "status": status, "message_id": "m1" if status == "sent" else None, "attempts": 1, "error": "",
        })
    db.close()


def test_rows_survive_and_the_table_is_clustered(tmp_path):
    _old_database(tmp_path / "old.db")
    store = Store(tmp_path / "old.db")
    assert MIGRATION in store.applied_migrations()
    ref = store.outbox.open_digest_days()[0].chat
    assert [(row.arxiv_id, row.position, row.attempts) for row in store.outbox.pending_papers(ref, DAY)] == [("2609.00002", 1, 1)]
    stats = store.outbox.delivery_stats(ref)
    assert (stats.papers_sent, stats.papers_pending, stats.papers_failed) == (1, 1, 1)
    assert store.outbox.delivered_ids(ref) == {"2609.00001", "2609.00002"}
    (table,) = store.db.execute("SELECT sql FROM sqlite_master WHERE name = 'deliveries'").fetchone()
    assert "WITHOUT ROWID" in table
    indexes = {name for (name,) in store.db.execute("SELECT name FROM pragma_index_list('deliveries') WHERE origin = 'c'")}
    assert indexes == {"deliveries_by_day"}
    # The failed row comes back when selected again; the sent one does not.
    assert store.outbox.plan_digest(ref, DAY + dt.timedelta(days=1), []) == []
    store.close()


def test_every_outbox_read_by_chat_and_day_uses_an_index(store):
    """The pending rows of a chat's day (read once per delivery) come from the day index, not a scan of the
    chat's whole history."""
    reads = {
        "pending rows": "SELECT arxiv_id FROM deliveries WHERE chat = 1 AND announced = '2026-09-24' AND status = 'pending' "
                        "ORDER BY position, arxiv_id",
        "a chat's rows": "SELECT arxiv_id FROM deliveries WHERE chat = 1 AND status != 'failed'",
        "one row": "UPDATE deliveries SET status = 'sent' WHERE chat = 1 AND arxiv_id = '2609.00001' AND status = 'pending'",
    }
    for name, sql in reads.items():
        plan = " ".join(row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "SEARCH deliveries USING" in plan and "SCAN deliveries" not in plan, (name, plan)
    pending = " ".join(row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {reads['pending rows']}"))
    assert "deliveries_by_day (announced=? AND chat=?)" in pending


def test_papers_announced_again_are_looked_up_in_the_last_days_rows_not_the_whole_outbox(store):
    plan = " ".join(row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {DELIVERED_AGAIN}", ["2026-09-10", "2026-09-24"] * 2))
    assert "deliveries_by_day" in plan, plan
    assert "SCAN d" not in plan, plan
