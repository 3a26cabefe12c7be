"""The delivery outbox: per (chat, paper) rows written pending before sending, marked sent after.

Two tables: `deliveries` (one row per chat and paper: a paper reaches a chat at most once) and
`chat_days` (one row per chat and announcement day once that day's digest was planned, so the
scheduler never plans a day twice and knows which digests a restart must resume).

Planning and claiming: a tick plans a chunk of chats in one transaction, one chat_days row each holding
the chat's selection (`plan`, `plan_numbers`), not one deliveries row per paper: the first digests go out
sooner, and a tick's writes are not paid all at once. When delivery reaches the chat it claims the day
(`claim_pending`): the selection becomes pending deliveries rows, leaving out what the chat already
received (same or newer version) or has pending under another day, in one transaction with clearing the
selection. From then on the rows are the digest: sent, failed or still pending.

A weekly digest is one outbox day: planned under the newest announcement day it covers (its rows
and the sender's bookkeeping are a daily digest's), with a closed `in_week` row for each older
day it covers; all of them carry that key day in `week_of`. So chat_days stays the one record of
which announcement days a chat was served, whatever its schedule was then.

A later version of an already delivered paper, announced as a replacement and selected again, is
an update: its row is re-planned with the new version and day (status back to pending), and the
digest shows it with the paper's `replace` announce type. The row then records the newest
version the chat received.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from core.clock import stored_moment
from core.models import WEEKLY, ChatRef, DigestPlan, PlanEntry

if TYPE_CHECKING:
    from sqlite_utils import Database

    from core.store.db import Store

PENDING = "pending"
SENT = "sent"
FAILED = "failed"


class DayStatus(StrEnum):
    """Where one chat's digest for one announcement day stands (`chat_days.status`; the values are what SQLite holds)."""

    PLANNED = "planned"  # rows written, nothing sent yet
    SENDING = "sending"  # the digest's header went out; papers follow
    DONE = "done"
    EMPTY = "empty"  # nothing matched (or everything was already delivered): nothing to send
    PAUSED = "paused"  # the chat was paused when the day became due: skipped for good
    FAILED = "failed"  # the chat is gone, or delivery was given up
    IN_WEEK = "in_week"  # covered by the weekly digest planned under the day in `week_of`


OPEN_DAY_STATUSES = (DayStatus.PLANNED, DayStatus.SENDING)  # a digest still to send (or to resume)
DELIVERED_LOOKBACK_DAYS = 14  # how far back delivered_on_day looks for a paper announced again (a cross-list)

# Rows per INSERT statement when claiming (5 bound values each, within SQLite's variable limit, checked at run time):
# one statement per row costs about twice as much as the row itself.
PLAN_ROWS_PER_STATEMENT = 500

# Pending rows, written as a literal (m007's partial index needed it; m008 replaced that index by deliveries_by_day).
_IS_PENDING = f"status = '{PENDING}'"

_CHAT_PK = "(SELECT id FROM chats WHERE platform = ? AND chat_id = ?)"
# (chat, paper) rows planned under days [?, ?) of the papers announced again on a day (?) after an earlier one (?).
DELIVERED_AGAIN = (
    "SELECT c.platform, c.chat_id, d.arxiv_id FROM deliveries d JOIN chats c ON c.id = d.chat "
    f"WHERE d.announced >= ? AND d.announced < ? AND d.status != '{FAILED}' AND d.arxiv_id IN ("
    "SELECT a.arxiv_id FROM announcements a JOIN papers p ON p.arxiv_id = a.arxiv_id "
    "WHERE a.announced = ? AND p.first_announced < ?)"
)


class PlannedPaper(NamedTuple):
    """One outbox row still to send (or just planned), in digest order. A tuple: delivery makes one per paper of
    every digest it claims (270,000 a day for 10,000 chats), and a frozen dataclass costs several times as much."""

    arxiv_id: str
    version: int
    position: int
    score: float
    attempts: int = 0


@dataclass(frozen=True)
class OpenDay:
    """A chat's digest for one announcement day that was planned but not finished."""

    chat: ChatRef
    announcement_day: dt.date
    header_sent: bool


@dataclass(frozen=True)
class DeliveryStats:
    papers_sent: int
    papers_pending: int
    papers_failed: int
    digests_delivered: int
    last_digest_day: dt.date | None


def _ref_args(ref: ChatRef) -> list[str]:
    return [ref.platform, ref.chat_id]


def _chat_pk(db: "Database", ref: ChatRef) -> int:
    row = db.execute("SELECT id FROM chats WHERE platform = ? AND chat_id = ?", _ref_args(ref)).fetchone()
    if row is None:
        raise KeyError(f"unknown chat {ref.platform}:{ref.chat_id}")
    return int(row[0])


def _chat_pks(db: "Database", refs: Iterable[ChatRef]) -> dict[ChatRef, int]:
    """The row ids of the known chats among `refs`, in one query."""
    wanted = list(refs)
    rows = db.execute(
        "SELECT j.key, c.id FROM json_each(?) AS j "
        "JOIN chats c ON c.platform = json_extract(j.value, '$[0]') AND c.chat_id = json_extract(j.value, '$[1]')",
        [json.dumps([[ref.platform, ref.chat_id] for ref in wanted])],
    )
    return {wanted[index]: int(chat) for index, chat in rows}


def _json_list(values: Iterable[object]) -> str:
    """A list bound as one parameter and read back with json_each: no limit on the number of SQL variables."""
    return json.dumps(list(values))


_PLAN_BYTES_PER_PAPER = struct.calcsize("<Id")  # plan_numbers' length per planned paper


def _plan_numbers_format(papers: int) -> str:
    """How plan_numbers packs a selection's versions and scores: little-endian uint32s, then float64s."""
    return f"<{papers}I{papers}d"


def _stored_plan(plan: DigestPlan) -> tuple[str, bytes]:
    """A selection as chat_days holds it until claimed: the ids separated by spaces (no arXiv id has one), the
    numbers packed."""
    return " ".join(plan.arxiv_ids), struct.pack(_plan_numbers_format(len(plan)), *plan.versions, *plan.scores)


class DamagedPlan(ValueError):
    """A planned day's stored selection cannot be read back (the file was damaged or edited by hand)."""


def _read_plan(arxiv_ids: str, numbers: bytes) -> DigestPlan:
    ids = tuple(arxiv_ids.split(" "))
    try:
        unpacked = struct.unpack(_plan_numbers_format(len(ids)), numbers)
    except (struct.error, TypeError) as error:
        raise DamagedPlan(f"its stored plan is damaged: {len(ids)} ids, {len(numbers or b'')} bytes of numbers ({error})") from None
    return DigestPlan(ids, unpacked[: len(ids)], unpacked[len(ids) :])


# Writes (chat, position, arxiv_id, version, score) rows as pending under the first value (the day), except where
# the chat has the paper pending already or received it at the same or a newer version. "WHERE true" lets SQLite
# parse the ON CONFLICT clause after a SELECT.
_UPSERT_PENDING = (
    "INSERT INTO deliveries (chat, arxiv_id, version, announced, position, score, status, message_id, attempts, error, "
    f"sent_at) SELECT column1, column3, column4, ?, column2, column5, '{PENDING}', NULL, 0, '', NULL "
    "FROM (VALUES {rows}) WHERE true "
    "ON CONFLICT (chat, arxiv_id) DO UPDATE SET version = excluded.version, announced = excluded.announced, "
    f"position = excluded.position, score = excluded.score, status = '{PENDING}', message_id = NULL, attempts = 0, "
    "error = '', sent_at = NULL "
    f"WHERE status = '{FAILED}' OR (status != '{PENDING}' AND version < excluded.version)"
)


def _upsert_pending(db: "Database", values: list[object], announced: str) -> int:
    """Write rows as pending (see _UPSERT_PENDING), PLAN_ROWS_PER_STATEMENT at a time; `values` holds them one after
    another, five values each. Returns how many rows were written (total_changes counts exactly those: deliveries
    has no triggers, and a refused row changes nothing)."""
    per_statement = max(1, min(PLAN_ROWS_PER_STATEMENT, (db.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - 1) // 5))
    before = db.conn.total_changes
    for start in range(0, len(values), per_statement * 5):
        batch = values[start : start + per_statement * 5]
        db.conn.execute(_UPSERT_PENDING.format(rows=", ".join(["(?, ?, ?, ?, ?)"] * (len(batch) // 5))), [announced, *batch])
    return db.conn.total_changes - before


def _unclaimed(plan: DigestPlan) -> list[PlannedPaper]:
    """A selection's papers as pending rows would hold them."""
    return [PlannedPaper(*entry) for entry in zip(plan.arxiv_ids, plan.versions, itertools.count(), plan.scores)]


def _pending_deliveries(db: "Database", chat: int, announced: str) -> list[PlannedPaper]:
    """The chat's pending rows of the day (a claimed day's), in digest order."""
    rows = db.execute(
        "SELECT arxiv_id, version, position, score, attempts FROM deliveries "
        f"WHERE chat = ? AND announced = ? AND {_IS_PENDING} ORDER BY position, arxiv_id",
        [chat, announced],
    ).fetchall()
    return [PlannedPaper(arxiv_id, int(version), int(position), float(score), int(attempts or 0))
            for arxiv_id, version, position, score, attempts in rows]


class DeliveryQueries:
    """`Store.outbox`: deliveries and chat_days."""

    def __init__(self, store: Store) -> None:
        self._store = store  # the connection, its write lock and the clock

    def plan_digest(self, ref: ChatRef, day: dt.date, entries: Iterable[PlanEntry]) -> list[str]:
        """Plan one chat's digest for the day and claim it at once (see plan_digests and claim_pending); return the
        arXiv ids to send, in digest order."""
        self.plan_digests(day, {ref: DigestPlan.of(entries)})
        return [row.arxiv_id for row in self.claim_pending(ref, day)]

    def plan_digests(
        self, day: dt.date, digests: Mapping[ChatRef, DigestPlan], week: Sequence[dt.date] = ()
    ) -> dict[ChatRef, list[str]]:
        """Record many chats' digests for the day (their entries, in digest order) in one transaction: a chat_days
        row each, holding its selection until delivery claims it (claim_pending). Return per chat the arXiv ids
        planned, in digest order: what to summarize and build. The claim may still leave some out (a paper the
        chat received under a day the selection did not look at); the selection already left out the rest.

        With `week` (announcement days, the newest being `day`) they are weekly digests: the older days
        are recorded as covered in the same transaction (see the module's docstring).

        Idempotent per chat: a day planned before changes nothing and what is still to send of it comes back; an
        unknown chat gets an empty plan; an empty selection is recorded as an empty day.
        """
        now, announced = self._store.now_iso(), day.isoformat()
        with self._store.transaction() as db:
            # A chat deleted (or moved) since the tick began has nothing to plan; the others go on.
            chat_ids = _chat_pks(db, digests)
            already = {chat for (chat,) in db.execute(
                "SELECT chat FROM chat_days WHERE announced = ? AND chat IN (SELECT value FROM json_each(?))",
                [announced, _json_list(chat_ids.values())],
            )}
            week_of = announced if week else None
            covered = [other.isoformat() for other in week if other != day]
            plans: dict[ChatRef, list[str]] = {ref: [] for ref in digests}
            days: list[tuple[object, ...]] = []
            for ref, chat in chat_ids.items():
                if chat in already:
                    plans[ref] = [row.arxiv_id for row in self._pending_rows(db, chat, day)]
                    continue
                plan = digests[ref]
                if len(plan):
                    days.append((chat, announced, DayStatus.PLANNED, now, None, week_of, *_stored_plan(plan)))
                    plans[ref] = list(plan.arxiv_ids)
                else:
                    days.append((chat, announced, DayStatus.EMPTY, now, now, week_of, None, None))
                days.extend((chat, other, DayStatus.IN_WEEK, now, now, week_of, None, None) for other in covered)
            db.conn.executemany(
                "INSERT OR IGNORE INTO chat_days (chat, announced, status, planned_at, finished_at, week_of, plan, plan_numbers) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                days,
            )
        return plans

    def claim_pending(self, ref: ChatRef, day: dt.date) -> list[PlannedPaper]:
        """The papers of the chat's digest for the day still to send, in digest order; delivery calls it when it
        reaches the chat. The first call claims the planned selection: its papers become pending rows unless the
        chat received them at the same or a newer version or has them pending under another day (failed ones
        are planned again), and a day left with nothing to send closes as empty. Later calls only read."""
        announced = day.isoformat()
        with self._store.transaction() as db:
            chat = _chat_pk(db, ref)
            row = db.execute(
                "SELECT plan, plan_numbers FROM chat_days WHERE chat = ? AND announced = ?", [chat, announced]
            ).fetchone()
            if row is None or row[0] is None:
                return _pending_deliveries(db, chat, announced)
            plan = _read_plan(*row)
            written = _upsert_pending(db, list(itertools.chain.from_iterable(
                zip(itertools.repeat(chat), itertools.count(), plan.arxiv_ids, plan.versions, plan.scores)
            )), announced)
            db.execute("UPDATE chat_days SET plan = NULL, plan_numbers = NULL WHERE chat = ? AND announced = ?", [chat, announced])
            # Every row written (the usual case: the selection left out what the chat has): the plan is what is pending.
            pending = _unclaimed(plan) if written == len(plan) else _pending_deliveries(db, chat, announced)
            if not pending:
                db.execute(
                    "UPDATE chat_days SET status = ?, finished_at = ? WHERE chat = ? AND announced = ? AND status = ?",
                    [DayStatus.EMPTY, self._store.now_iso(), chat, announced, DayStatus.PLANNED],
                )
        return pending

    def skip_digest_day(self, ref: ChatRef, day: dt.date, status: DayStatus = DayStatus.PAUSED) -> None:
        """Record that this chat will not get this day's digest (e.g. it was paused), unless already planned."""
        now = self._store.now_iso()
        with self._store.transaction() as db:
            db.execute(
                f"INSERT OR IGNORE INTO chat_days (chat, announced, status, planned_at, finished_at) "
                f"VALUES ({_CHAT_PK}, ?, ?, ?, ?)",
                [*_ref_args(ref), day.isoformat(), status, now, now],
            )

    def _pending_rows(self, db: "Database", chat: int, day: dt.date) -> list[PlannedPaper]:
        """The day's papers still to send: its selection while unclaimed, else its pending rows."""
        announced = day.isoformat()
        row = db.execute("SELECT plan, plan_numbers FROM chat_days WHERE chat = ? AND announced = ?", [chat, announced]).fetchone()
        if row is not None and row[0] is not None:
            return _unclaimed(_read_plan(*row))
        return _pending_deliveries(db, chat, announced)

    def pending_papers(self, ref: ChatRef, day: dt.date) -> list[PlannedPaper]:
        """The day's papers still to send as recorded: its unclaimed selection (before claim_pending left anything
        out), else its pending rows. A read: it works while another process holds the write lock (WAL readers are
        never blocked)."""
        return self._pending_rows(self._store.db, _chat_pk(self._store.db, ref), day)

    def open_digest_days(self) -> list[OpenDay]:
        """Planned but unfinished digests of active chats, oldest day first: what a restart resumes."""
        marks = ", ".join("?" for _ in OPEN_DAY_STATUSES)
        rows = self._store.db.execute(
            "SELECT c.platform, c.chat_id, d.announced, d.status FROM chat_days d JOIN chats c ON c.id = d.chat "
            f"WHERE d.status IN ({marks}) AND c.active = 1 ORDER BY d.announced, c.id",
            list(OPEN_DAY_STATUSES),
        ).fetchall()
        return [
            OpenDay(ChatRef(platform, chat_id), dt.date.fromisoformat(day), status == DayStatus.SENDING)
            for platform, chat_id, day, status in rows
        ]

    def digest_day_status(self, ref: ChatRef, day: dt.date) -> DayStatus | None:
        row = self._store.db.execute(
            f"SELECT status FROM chat_days WHERE chat = {_CHAT_PK} AND announced = ?", [*_ref_args(ref), day.isoformat()]
        ).fetchone()
        return DayStatus(row[0]) if row else None

    def digest_week(self, ref: ChatRef, day: dt.date) -> tuple[dt.date, ...]:
        """The announcement days of the weekly digest planned under `day`, oldest first; () for a daily digest."""
        rows = self._store.db.execute(
            f"SELECT announced FROM chat_days WHERE chat = {_CHAT_PK} AND week_of = ? ORDER BY announced",
            [*_ref_args(ref), day.isoformat()],
        ).fetchall()
        return tuple(dt.date.fromisoformat(announced) for (announced,) in rows)

    def latest_digest_days(self, ref: ChatRef | None = None) -> dict[ChatRef, dt.date]:
        """Per weekly chat (or for `ref` alone, whatever its schedule): the newest announcement day it was served
        (planned, covered by a week, or skipped), where its next weekly digest starts after."""
        where, args = ("c.platform = ? AND c.chat_id = ?", _ref_args(ref)) if ref else ("c.schedule = ?", [WEEKLY])
        rows = self._store.db.execute(
            f"SELECT c.platform, c.chat_id, MAX(d.announced) FROM chats c JOIN chat_days d ON d.chat = c.id WHERE {where} "
            "GROUP BY c.id",
            args,
        ).fetchall()
        return {ChatRef(platform, chat_id): dt.date.fromisoformat(day) for platform, chat_id, day in rows}

    def digest_days(self, since: dt.date) -> dict[ChatRef, tuple[dt.date, set[dt.date]]]:
        """Per chat with any chat_days row: its first planned day, and the days planned since `since`."""
        firsts = self._store.db.execute(
            "SELECT c.platform, c.chat_id, MIN(d.announced) FROM chat_days d JOIN chats c ON c.id = d.chat GROUP BY d.chat"
        ).fetchall()
        served: dict[ChatRef, tuple[dt.date, set[dt.date]]] = {ChatRef(platform, chat_id): (dt.date.fromisoformat(day), set()) for platform, chat_id, day in firsts}
        recent = self._store.db.execute(
            "SELECT c.platform, c.chat_id, d.announced FROM chat_days d JOIN chats c ON c.id = d.chat WHERE d.announced >= ?",
            [since.isoformat()],
        ).fetchall()
        for platform, chat_id, day in recent:
            served[ChatRef(platform, chat_id)][1].add(dt.date.fromisoformat(day))
        return served

    def chats_owed_from(self, ref: ChatRef | None = None) -> dict[ChatRef, dt.datetime]:
        """When each chat's (or just `ref`'s) claim to digests starts: its creation or latest reactivation."""
        where, args = ("AND platform = ? AND chat_id = ?", _ref_args(ref)) if ref else ("", [])
        rows = self._store.db.execute(
            f"SELECT platform, chat_id, owed_from FROM chats WHERE owed_from IS NOT NULL {where}", args
        ).fetchall()
        return {ChatRef(platform, chat_id): stored_moment(stamp) for platform, chat_id, stamp in rows}

    def mark_header_sent(self, ref: ChatRef, day: dt.date) -> None:
        with self._store.transaction() as db:
            db.execute(
                "UPDATE chat_days SET status = ? WHERE chat = ? AND announced = ? AND status = ?",
                [DayStatus.SENDING, _chat_pk(db, ref), day.isoformat(), DayStatus.PLANNED],
            )

    def mark_sent(self, ref: ChatRef, arxiv_ids: Sequence[str], message_id: str) -> None:
        """The platform confirmed the message carrying these papers."""
        now = self._store.now_iso()
        with self._store.transaction() as db:
            chat = _chat_pk(db, ref)
            db.conn.executemany(
                "UPDATE deliveries SET status = ?, message_id = ?, sent_at = ?, error = '' "
                "WHERE chat = ? AND arxiv_id = ? AND status = ?",
                [(SENT, message_id, now, chat, arxiv_id, PENDING) for arxiv_id in arxiv_ids],
            )

    def note_failed_attempt(self, ref: ChatRef, arxiv_ids: Sequence[str], error: str) -> int:
        """A transient failure: the rows stay pending with one more attempt; returns the highest count."""
        with self._store.transaction() as db:
            chat = _chat_pk(db, ref)
            db.conn.executemany(
                "UPDATE deliveries SET attempts = attempts + 1, error = ? WHERE chat = ? AND arxiv_id = ? AND status = ?",
                [(error[:500], chat, arxiv_id, PENDING) for arxiv_id in arxiv_ids],
            )
            marks = ", ".join("?" for _ in arxiv_ids)
            row = db.execute(
                f"SELECT MAX(attempts) FROM deliveries WHERE chat = ? AND arxiv_id IN ({marks})", [chat, *arxiv_ids]
            ).fetchone()
        return int(row[0] or 0) if arxiv_ids else 0

    def mark_failed(self, ref: ChatRef, arxiv_ids: Sequence[str], error: str) -> None:
        with self._store.transaction() as db:
            chat = _chat_pk(db, ref)
            db.conn.executemany(
                "UPDATE deliveries SET status = ?, error = ? WHERE chat = ? AND arxiv_id = ? AND status = ?",
                [(FAILED, error[:500], chat, arxiv_id, PENDING) for arxiv_id in arxiv_ids],
            )

    def finish_digest_day(self, ref: ChatRef, day: dt.date) -> None:
        """Close the day as done, unless it is closed already (claim_pending found nothing left to send)."""
        marks = ", ".join("?" for _ in OPEN_DAY_STATUSES)
        with self._store.transaction() as db:
            db.execute(
                f"UPDATE chat_days SET status = ?, finished_at = ? WHERE chat = ? AND announced = ? AND status IN ({marks})",
                [DayStatus.DONE, self._store.now_iso(), _chat_pk(db, ref), day.isoformat(), *OPEN_DAY_STATUSES],
            )

    def give_up_deliveries(self, ref: ChatRef, error: str, day: dt.date | None = None) -> None:
        """Pending rows fail and open days close as failed (an unclaimed selection is dropped): for one day, or for
        the whole chat (it is gone)."""
        now = self._store.now_iso()
        marks = ", ".join("?" for _ in OPEN_DAY_STATUSES)
        day_filter, day_args = ("AND announced = ?", [day.isoformat()]) if day else ("", [])
        with self._store.transaction() as db:
            chat = _chat_pk(db, ref)
            db.execute(
                f"UPDATE deliveries SET status = ?, error = ? WHERE chat = ? AND {_IS_PENDING} {day_filter}",
                [FAILED, error[:500], chat, *day_args],
            )
            db.execute(
                "UPDATE chat_days SET status = ?, finished_at = ?, plan = NULL, plan_numbers = NULL "
                f"WHERE chat = ? AND status IN ({marks}) {day_filter}",
                [DayStatus.FAILED, now, chat, *OPEN_DAY_STATUSES, *day_args],
            )

    def delivered_ids(self, ref: ChatRef) -> set[str]:
        """Papers this chat received or has pending: never to be planned again (unless updated)."""
        rows = self._store.db.execute(
            f"SELECT arxiv_id FROM deliveries WHERE chat = {_CHAT_PK} AND status != ?", [*_ref_args(ref), FAILED]
        ).fetchall()
        return {arxiv_id for (arxiv_id,) in rows}

    def delivered_on_day(self, day: dt.date) -> dict[ChatRef, set[str]]:
        """For every chat, which of this announcement day's papers it already received or has pending.

        Only a paper the store saw announced on an earlier day can be among them (a paper first announced on
        `day` is only in `day`'s own digests, and a chat with those is not due for the day again), and it was
        delivered under one of the days since then: the rows of those days are read, at most
        DELIVERED_LOOKBACK_DAYS back, not the whole outbox. One received longer ago, or planned under a day
        delivery has not claimed yet, is still never sent twice (claim_pending leaves it out); it only takes a place
        in the selection the next best paper would have had.
        """
        announced = day.isoformat()
        earliest = self._store.db.execute(
            "SELECT MIN(p.first_announced) FROM announcements a JOIN papers p ON p.arxiv_id = a.arxiv_id "
            "WHERE a.announced = ? AND p.first_announced < ?",
            [announced, announced],
        ).fetchone()[0]
        if earliest is None:
            return {}
        since = max(earliest, (day - dt.timedelta(days=DELIVERED_LOOKBACK_DAYS)).isoformat())
        rows = self._store.db.execute(DELIVERED_AGAIN, [since, announced, announced, announced]).fetchall()
        delivered: dict[ChatRef, set[str]] = {}
        for platform, chat_id, arxiv_id in rows:
            delivered.setdefault(ChatRef(platform, chat_id), set()).add(arxiv_id)
        return delivered

    def delivery_stats(self, ref: ChatRef | None = None) -> DeliveryStats:
        """Counts for one chat, or for every chat when ref is None."""
        where, args = (f"WHERE chat = {_CHAT_PK}", _ref_args(ref)) if ref else ("", [])
        counts = dict(self._store.db.execute(f"SELECT status, COUNT(*) FROM deliveries {where} GROUP BY status", args).fetchall())
        digests, last_day = self._store.db.execute(
            f"SELECT COUNT(*), MAX(announced) FROM chat_days {where} {'AND' if ref else 'WHERE'} status = ?",
            [*args, DayStatus.DONE],
        ).fetchone()
        (unclaimed,) = self._store.db.execute(  # planned papers delivery has not claimed yet are pending too
            f"SELECT SUM(length(plan_numbers) / {_PLAN_BYTES_PER_PAPER}) FROM chat_days {where} {'AND' if ref else 'WHERE'} plan IS NOT NULL",
            args,
        ).fetchone()
        return DeliveryStats(
            papers_sent=counts.get(SENT, 0),
            papers_pending=counts.get(PENDING, 0) + int(unclaimed or 0),
            papers_failed=counts.get(FAILED, 0),
            digests_delivered=int(digests or 0),
            last_digest_day=dt.date.fromisoformat(last_day) if last_day else None,
        )

    def record_feedback(self, ref: ChatRef, arxiv_id: str, user_id: str, vote: int) -> None:
        """A reader's 👍 (+1) or 👎 (-1) on a delivered paper; a second vote by the same person replaces the first."""
        with self._store.transaction() as db:
            db.execute(
                f"INSERT OR REPLACE INTO feedback (chat, arxiv_id, user_id, vote, at) VALUES ({_CHAT_PK}, ?, ?, ?, ?)",
                [*_ref_args(ref), arxiv_id, user_id, 1 if vote > 0 else -1, self._store.now_iso()],
            )

    def forget_feedback(self, ref: ChatRef) -> int:
        """Drop every vote in the chat (`forget`); returns how many there were."""
        with self._store.transaction() as db:
            cursor = db.execute(f"DELETE FROM feedback WHERE chat = {_CHAT_PK}", _ref_args(ref))
        return cursor.rowcount

    def feedback_totals(self, ref: ChatRef) -> dict[str, int]:
        """Net votes per paper in this chat."""
        rows = self._store.db.execute(
            f"SELECT arxiv_id, SUM(vote) FROM feedback WHERE chat = {_CHAT_PK} GROUP BY arxiv_id", _ref_args(ref)
        ).fetchall()
        return {arxiv_id: int(total) for arxiv_id, total in rows}
