"""Chats, their settings and their terms (keywords, excludes, authors, categories)."""
from __future__ import annotations

import datetime as dt
import hmac
import itertools
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from core.clock import stored_moment
from core.collector import collector_paused
from core.matching import fold
from core.models import DAILY, ChatRef, ChatSettings, DeliverySchedule, Keyword

if TYPE_CHECKING:
    from core.config import DefaultsSettings
    from core.store.db import Store

# "learned": words learned from the chat's feedback (core/feedback.py); "plain": keywords whose aliases are off.
TERM_KINDS = ("keyword", "exclude", "author", "category", "learned", "plain")
# Chats rows read and rebuilt at a time when loading many: one batch of raw rows is in memory, not all.
LOAD_BATCH_CHATS = 500
OBJECTS_PER_CHAT = 10  # about what loading one chat's settings allocates (for collector_paused)
T = TypeVar("T")
FEED_TOKEN_BYTES = 24  # 32 URL-safe characters: unguessable, still fits a URL comfortably
# A feed token's first characters find its row through the index; the rest is compared in constant time.
# An index lookup's timing could reveal at most these 8 (48 bits), leaving 144 unguessable ones.
FEED_TOKEN_LOOKUP_CHARS = 8
_AFTER_URLSAFE = "\x7f"  # sorts after every URL-safe character: the end of a prefix's index range

# ChatSettings field -> how it is written to its chats column.
_COLUMN_WRITERS: dict[str, Any] = {
    "title": str,
    "kind": str,
    "active": int,
    "paused": int,
    "timezone": str,
    "delivery_time": lambda value: value.strftime("%H:%M"),
    "days": lambda value: json.dumps(sorted(set(value))),
    "max_papers": int,
    "min_score": float,
    "summaries": int,
    "language": str,
    "crosslists": int,
    "ranking": str,
    "schedule": str,
    "weekly_day": int,
}


class ChatNotFound(LookupError):
    """No chat is stored under this reference."""


class TooManyTerms(ValueError):
    """Adding these terms would take a chat past its limit for that kind; nothing was written."""

    def __init__(self, kind: str, current: int, adding: int, limit: int) -> None:
        super().__init__(f"{kind}: {current} stored + {adding} new > limit {limit}")
        self.kind = kind
        self.current = current
        self.adding = adding
        self.limit = limit


class _Shared:
    """One object for equal immutable values while loading many chats: 100,000 chats spelling the same
    keywords and categories hold references to one Keyword, string, tuple and DeliverySchedule each, not copies."""

    def __init__(self) -> None:
        self._seen: dict[object, object] = {}
        self._keywords: dict[tuple[str, float, bool], Keyword] = {}
        # The Keyword of (term, weight, aliases) if one was made: `keyword`'s fast path, a dict lookup without a call.
        self.known_keyword = self._keywords.get
        self._keyword_tuples: dict[tuple[int, ...], tuple[Keyword, ...]] = {}
        self._schedules: dict[tuple[Any, ...], DeliverySchedule] = {}

    def __call__(self, value: T) -> T:
        return self._seen.setdefault(value, value)  # type: ignore[return-value]

    def keyword(self, term: str, weight: float, aliases: bool = True) -> Keyword:
        """The shared Keyword, found by its plain values (made and hashed once, not once per chat)."""
        key = (term, weight, aliases)
        known = self._keywords.get(key)
        if known is None:
            known = self._keywords[key] = self(Keyword(self(term), weight, aliases=aliases))
        return known

    def keywords(self, keywords: Sequence[Keyword]) -> tuple[Keyword, ...]:
        """The shared tuple of these shared Keywords, found by their identities: hashing Keywords by value
        (a Python-level __hash__ each) cost more than the rest of a chat's loading."""
        key = tuple(map(id, keywords))
        known = self._keyword_tuples.get(key)
        if known is None:
            known = self._keyword_tuples[key] = tuple(keywords)
        return known

    def schedule(self, columns: tuple[Any, ...]) -> DeliverySchedule:
        """The shared DeliverySchedule of these _SCHEDULE_COLUMNS values, parsed once per distinct schedule."""
        known = self._schedules.get(columns)
        if known is None:
            known = self._schedules[columns] = _schedule_from(dict(zip(_SCHEDULE_COLUMNS, columns)), self)
        return known


@dataclass(frozen=True, slots=True)
class ScheduledChat:
    """An active chat as the scheduler's due check sees it: its schedule and what it was served, no terms."""

    ref: ChatRef
    paused: bool
    schedule: DeliverySchedule
    owed_from: dt.datetime | None  # its claim to digests starts here (creation or reactivation)
    first_served: dt.date | None  # its oldest chat_days row: no digest is owed before it
    last_served: dt.date | None  # its newest chat_days row: a weekly digest covers the days after it
    recent_served: frozenset[dt.date]  # its chat_days rows since the day `schedules` was asked from


# The chats columns a DeliverySchedule is read from, in _schedule_from's order.
_SCHEDULE_COLUMNS = ("timezone", "delivery_time", "days", "schedule", "weekly_day")
# The chats columns ChatSettings are read from, in _settings_from's order (the schedule's last).
_SETTINGS_COLUMNS = (
    "id", "platform", "chat_id", "title", "kind", "active", "paused", "max_papers", "min_score", "summaries",
    "language", "crosslists", "ranking", "feed_token", *_SCHEDULE_COLUMNS,
)
_SETTINGS_SELECT = ", ".join(f"c.{name}" for name in _SETTINGS_COLUMNS)
_WEIGHTED_KINDS = frozenset({"keyword", "learned"})  # the kinds whose terms are Keywords; the others' are strings


def _schedule_from(row: Mapping[str, Any], shared: _Shared) -> DeliverySchedule:
    hours, minutes = (int(part) for part in row["delivery_time"].split(":"))
    return shared(
        DeliverySchedule(
            timezone=shared(row["timezone"]),
            delivery_time=shared(dt.time(hours, minutes)),
            days=shared(tuple(json.loads(row["days"] or "[]"))),
            schedule=shared(row["schedule"] or DAILY),
            weekly_day=int(row["weekly_day"]),
        )
    )


# A chat's terms by kind, in position order: shared Keywords for _WEIGHTED_KINDS, shared strings for the others.
_TermsByKind = Mapping[str, list[Any]]
_NO_TERMS: _TermsByKind = MappingProxyType({})


def _settings_from(row: Sequence[Any], terms: _TermsByKind, shared: _Shared) -> ChatSettings:
    """Rebuild ChatSettings from a chats row (_SETTINGS_COLUMNS) and its terms (see ChatQueries._chat_terms)."""
    (_, platform, chat_id, title, kind, active, paused, max_papers, min_score, summaries, language, crosslists, ranking,
     feed_token) = row[:14]
    schedule = shared.schedule(tuple(row[14:]))
    keywords = terms.get("keyword", ())
    if "plain" in terms:  # keywords whose aliases the chat turned off
        plain = {_fold(term) for term in terms["plain"]}
        keywords = [shared.keyword(keyword.term, keyword.weight, _fold(keyword.term) not in plain) for keyword in keywords]
    return ChatSettings(
        ref=ChatRef(platform, chat_id),
        title=title or "",
        kind=kind or "private",
        active=bool(active),
        paused=bool(paused),
        timezone=schedule.timezone,
        delivery_time=schedule.delivery_time,
        days=schedule.days,
        max_papers=int(max_papers),
        min_score=float(min_score),
        summaries=bool(summaries),
        language=shared(language),
        crosslists=bool(crosslists),
        keywords=shared.keywords(keywords),
        learned=shared.keywords(terms.get("learned", ())),
        ranking=shared(ranking or "relevance"),
        excludes=shared(tuple(terms.get("exclude", ()))),
        categories=shared(tuple(terms.get("category", ()))),
        authors=shared(tuple(terms.get("author", ()))),
        feed_token=feed_token or "",
        schedule=schedule.schedule,
        weekly_day=schedule.weekly_day,
    )


def chat_from_defaults(
    ref: ChatRef, defaults: "DefaultsSettings", title: str = "", kind: str = "private"
) -> ChatSettings:
    """What a new chat starts with (not stored, no feed token): config.json's defaults."""
    return ChatSettings(
        ref=ref,
        title=title,
        kind=kind,
        timezone=defaults.timezone,
        delivery_time=defaults.delivery_time,
        max_papers=defaults.max_papers,
        min_score=defaults.min_score,
        summaries=defaults.summaries,
        language=defaults.language,
        crosslists=defaults.crosslists,
        ranking=defaults.ranking,
        keywords=tuple(Keyword(keyword.term, keyword.weight) for keyword in defaults.keywords),
        excludes=tuple(defaults.exclude),
        categories=tuple(defaults.categories),
        authors=tuple(defaults.authors),
    )


def new_feed_token() -> str:
    return secrets.token_urlsafe(FEED_TOKEN_BYTES)


def _fold(term: str) -> str:
    """Terms are unique per chat as the matcher tells them apart: `LLM` and `llm`, `José` and `Jose` are one."""
    return fold(term)


class ChatQueries:
    """`Store.chats`: chats and chat_terms."""

    def __init__(self, store: Store) -> None:
        self._store = store  # the connection, its write lock and the clock

    def _chat_row(self, ref: ChatRef) -> dict[str, Any] | None:
        rows = list(
            self._store.db.query("SELECT * FROM chats WHERE platform = ? AND chat_id = ?", [ref.platform, ref.chat_id])
        )
        return rows[0] if rows else None

    def chat_pk(self, ref: ChatRef) -> int:
        row = self._store.db.execute(
            "SELECT id FROM chats WHERE platform = ? AND chat_id = ?", [ref.platform, ref.chat_id]
        ).fetchone()
        if row is None:
            raise ChatNotFound(f"no chat {ref.platform}:{ref.chat_id}")
        return int(row[0])

    def _chat_terms(self, chat_pks: Sequence[int], shared: _Shared) -> dict[int, _TermsByKind]:
        """The terms of these chats by kind, in position order. One pass over the rows with no object made per
        row but the values SQLite hands over: a due phase of 100,000 chats reads about 1.7 million of them."""
        terms: dict[int, _TermsByKind] = {}
        keyword, known_keyword, string = shared.keyword, shared.known_keyword, shared
        for start in range(0, len(chat_pks), LOAD_BATCH_CHATS):
            chunk = list(chat_pks[start : start + LOAD_BATCH_CHATS])
            marks = ", ".join("?" for _ in chunk)
            rows = self._store.db.execute(
                f"SELECT chat, kind, term, weight FROM chat_terms WHERE chat IN ({marks}) "
                "ORDER BY chat, kind, position, term",
                chunk,
            )
            current_chat = current_kind = None
            by_kind: dict[str, list[Any]] = {}
            values: list[Any] = []
            weighted = False
            for chat, kind, term, weight in rows:
                if chat != current_chat:
                    current_chat, current_kind = chat, None
                    by_kind = terms[chat] = {}
                if kind != current_kind:
                    current_kind, weighted = kind, kind in _WEIGHTED_KINDS
                    values = by_kind[kind] = []
                if weighted:
                    values.append(known_keyword((term, weight, True)) or keyword(term, weight))
                else:
                    values.append(string(term))
        return terms

    def _settings_for_rows(self, rows: Iterable[Sequence[Any]]) -> list[ChatSettings]:
        """Settings for chats rows (_SETTINGS_COLUMNS), read LOAD_BATCH_CHATS at a time (rows may be a lazy cursor).
        The cycle collector rests meanwhile: the settings made are acyclic and its passes would walk them all."""
        shared, pending = _Shared(), iter(rows)
        chats: list[ChatSettings] = []
        batch = list(itertools.islice(pending, LOAD_BATCH_CHATS))
        with collector_paused(len(batch) * OBJECTS_PER_CHAT):  # a full first batch: many chats may follow
            while batch:
                terms = self._chat_terms([row[0] for row in batch], shared)
                chats.extend(_settings_from(row, terms.get(row[0], _NO_TERMS), shared) for row in batch)
                batch = list(itertools.islice(pending, LOAD_BATCH_CHATS))
        return chats

    def _settings_rows(self, where: str, parameters: Sequence[Any] = ()) -> list[ChatSettings]:
        """The settings of the chats rows `where` picks (an SQL condition on chats `c`), ordered by id."""
        rows = self._store.db.execute(f"SELECT {_SETTINGS_SELECT} FROM chats c WHERE {where} ORDER BY c.id", parameters)
        return self._settings_for_rows(rows)

    def get_chat(self, ref: ChatRef) -> ChatSettings | None:
        chats = self._settings_rows("c.platform = ? AND c.chat_id = ?", [ref.platform, ref.chat_id])
        return chats[0] if chats else None

    def require_chat(self, ref: ChatRef) -> ChatSettings:
        chat = self.get_chat(ref)
        if chat is None:
            raise ChatNotFound(f"no chat {ref.platform}:{ref.chat_id}")
        return chat

    def get_or_create_chat(
        self, ref: ChatRef, defaults: "DefaultsSettings", title: str = "", kind: str = "private"
    ) -> ChatSettings:
        """The chat's settings, creating it from config defaults (with a fresh feed token) when new."""
        existing = self.get_chat(ref)
        if existing is not None:
            return existing
        start = chat_from_defaults(ref, defaults, title, kind)
        now = self._store.now_iso()
        columns = {name: write(getattr(start, name)) for name, write in _COLUMN_WRITERS.items()}
        with self._store.transaction() as db:
            if self._chat_row(ref) is None:
                db.table("chats").insert(
                    {
                        "platform": ref.platform,
                        "chat_id": ref.chat_id,
                        **columns,
                        "feed_token": new_feed_token(),
                        "configured_by": "",
                        "created_at": now,
                        "owed_from": now,
                        "updated_at": now,
                    }
                )
                pk = self.chat_pk(ref)
                self._write_terms(pk, "keyword", [(k.term, k.weight) for k in start.keywords])
                plain_terms = {"exclude": start.excludes, "author": start.authors, "category": start.categories}
                for term_kind, terms in plain_terms.items():
                    self._write_terms(pk, term_kind, [(term, 1.0) for term in terms])
        return self.require_chat(ref)

    def chat_by_feed_token(self, token: str) -> ChatSettings | None:
        """The chat whose feed token this is; SQLite never sees the whole token (its comparison stops at the first difference)."""
        if len(token) <= FEED_TOKEN_LOOKUP_CHARS:
            return None
        prefix = token[:FEED_TOKEN_LOOKUP_CHARS]
        candidates = self._settings_rows("c.feed_token >= ? AND c.feed_token < ?", [prefix, prefix + _AFTER_URLSAFE])
        found = [chat for chat in candidates if hmac.compare_digest(chat.feed_token.encode(), token.encode())]
        return found[0] if found else None

    def active_chats(self, include_paused: bool = False) -> list[ChatSettings]:
        """Chats the bot is still in; paused ones (no deliveries wanted) only when asked."""
        return self._settings_rows("c.active = 1" + ("" if include_paused else " AND c.paused = 0"))

    def chats_by_ref(self, refs: Iterable[ChatRef]) -> dict[ChatRef, ChatSettings]:
        """The stored settings of these chats (those that exist), with their terms, in one pass."""
        wanted = json.dumps([[ref.platform, ref.chat_id] for ref in refs])
        rows = self._store.db.execute(
            f"SELECT {_SETTINGS_SELECT} FROM json_each(?) AS j "
            "JOIN chats c ON c.platform = json_extract(j.value, '$[0]') AND c.chat_id = json_extract(j.value, '$[1]') "
            "ORDER BY c.id",
            [wanted],
        )
        return {chat.ref: chat for chat in self._settings_for_rows(rows)}

    def schedules(self, served_since: dt.date) -> list[ScheduledChat]:
        """Every active chat (paused ones too) with its schedule and its chat_days bookkeeping, in one query
        that reads no terms: what a tick checks every chat for. chat_days' primary key (chat, announced) finds
        each chat's rows, so the cost follows the number of chats, not the months of history behind them."""
        rows = self._store.db.execute(
            f"SELECT c.platform, c.chat_id, c.paused, c.owed_from, {', '.join(f'c.{name}' for name in _SCHEDULE_COLUMNS)}, "
            "(SELECT MIN(announced) FROM chat_days WHERE chat = c.id), "
            "(SELECT MAX(announced) FROM chat_days WHERE chat = c.id), "
            "(SELECT group_concat(announced) FROM chat_days WHERE chat = c.id AND announced >= ?) "
            "FROM chats c WHERE c.active = 1 ORDER BY c.id",
            [served_since.isoformat()],
        )
        shared = _Shared()
        # Thousands of chats share the same recent days: each distinct set is parsed once (and each schedule).
        recent_days: dict[str | None, frozenset[dt.date]] = {None: frozenset()}
        chats = []
        for row in rows:
            owed_from, first, last, recent = row[3], row[9], row[10], row[11]
            if recent not in recent_days:
                recent_days[recent] = frozenset(dt.date.fromisoformat(day) for day in recent.split(","))
            chats.append(
                ScheduledChat(
                    ChatRef(row[0], row[1]),
                    bool(row[2]),
                    shared.schedule(row[4:9]),
                    stored_moment(owed_from) if owed_from else None,
                    dt.date.fromisoformat(first) if first else None,
                    dt.date.fromisoformat(last) if last else None,
                    recent_days[recent],
                )
            )
        return chats

    def count_chats(self) -> int:
        return self._store.db.table("chats").count

    def update_chat(self, ref: ChatRef, **changes: Any) -> ChatSettings:
        """Change stored settings (ChatSettings field names) in one transaction; returns the result."""
        unknown = set(changes) - set(_COLUMN_WRITERS)
        if unknown:
            raise ValueError(f"not a stored chat setting: {', '.join(sorted(unknown))}")
        columns = {name: _COLUMN_WRITERS[name](value) for name, value in changes.items()}
        columns["updated_at"] = self._store.now_iso()
        with self._store.transaction() as db:
            db.table("chats").update(self.chat_pk(ref), columns)
        return self.require_chat(ref)

    def set_active(self, ref: ChatRef, active: bool) -> None:
        """Deactivating drops what was still to be sent; reactivating owes only digests due from now on,
        not the days the chat was gone (nor a half-sent digest from before it left)."""
        now = self._store.now_iso()
        with self._store.transaction() as db:
            pk = self.chat_pk(ref)
            if active:
                db.execute(
                    "UPDATE chats SET active = 1, owed_from = ?, updated_at = ? WHERE id = ? AND active = 0", [now, now, pk]
                )
            else:
                db.execute("UPDATE chats SET active = 0, updated_at = ? WHERE id = ?", [now, pk])
        if not active:
            self._store.outbox.give_up_deliveries(ref, "chat deactivated")

    def move_chat(self, old: ChatRef, new: ChatRef) -> None:
        """Give a chat a new identity (Telegram group -> supergroup), keeping its settings and history.

        A chat already stored under the new id (created by a command typed there before the move
        was seen) has only defaults and no history worth keeping, so the moved chat replaces it.
        """
        with self._store.transaction() as db:
            pk = self.chat_pk(old)
            target = self._chat_row(new)
            if target is not None:
                for table in ("chat_terms", "chat_days", "deliveries", "feedback", "saved"):
                    db.execute(f"DELETE FROM {table} WHERE chat = ?", [target["id"]])
                db.execute("DELETE FROM chats WHERE id = ?", [target["id"]])
            db.table("chats").update(pk, {"platform": new.platform, "chat_id": new.chat_id, "updated_at": self._store.now_iso()})

    def reset_feed_token(self, ref: ChatRef) -> str:
        """Revoke the chat's feed token and store a new one; the old URL stops working at once."""
        token = new_feed_token()
        with self._store.transaction() as db:
            db.table("chats").update(self.chat_pk(ref), {"feed_token": token, "updated_at": self._store.now_iso()})
        return token

    def note_configurer(self, ref: ChatRef, user_id: str) -> None:
        """Remember who first changed the chat's settings (Slack lets that person keep configuring)."""
        with self._store.transaction() as db:
            db.execute(
                "UPDATE chats SET configured_by = ? WHERE platform = ? AND chat_id = ? AND configured_by = ''",
                [user_id, ref.platform, ref.chat_id],
            )

    def chat_configurer(self, ref: ChatRef) -> str:
        row = self._store.db.execute(
            "SELECT configured_by FROM chats WHERE platform = ? AND chat_id = ?", [ref.platform, ref.chat_id]
        ).fetchone()
        return (row[0] or "") if row else ""

    def _write_terms(self, chat_pk: int, kind: str, entries: Iterable[tuple[str, float]]) -> None:
        """Append terms of a kind; one already stored (any case) keeps its spelling and takes the new weight."""
        rows = self._store.db.execute(
            "SELECT term, position FROM chat_terms WHERE chat = ? AND kind = ?", [chat_pk, kind]
        ).fetchall()
        stored = {_fold(term): term for term, _ in rows}
        position = max((row[1] for row in rows), default=-1)
        for term, weight in entries:
            old_term = stored.get(_fold(term))
            if old_term is not None:
                self._store.db.execute(
                    "UPDATE chat_terms SET weight = ? WHERE chat = ? AND kind = ? AND term = ?",
                    [weight, chat_pk, kind, old_term],
                )
            else:
                position += 1
                self._store.db.table("chat_terms").insert(
                    {"chat": chat_pk, "kind": kind, "term": term, "weight": weight, "position": position}
                )
                stored[_fold(term)] = term

    def _check_kind(self, kind: str) -> None:
        if kind not in TERM_KINDS:
            raise ValueError(f"unknown term kind {kind!r}; expected one of {', '.join(TERM_KINDS)}")

    def add_terms(
        self,
        ref: ChatRef,
        kind: str,
        entries: Sequence[tuple[str, float]],
        limit: int | None = None,
    ) -> tuple[list[str], list[str]]:
        """Add (term, weight) pairs atomically; returns (added, updated) terms.

        A term already stored (ignoring case) gets the new weight, not a second row. When the new terms would
        take the chat past `limit`, raises TooManyTerms and writes nothing.
        """
        self._check_kind(kind)
        with self._store.transaction():
            pk = self.chat_pk(ref)
            stored = {_fold(term) for (term,) in self._store.db.execute(
                "SELECT term FROM chat_terms WHERE chat = ? AND kind = ?", [pk, kind]
            ).fetchall()}
            unique = list({_fold(term): (term, weight) for term, weight in entries}.values())
            added = [term for term, _ in unique if _fold(term) not in stored]
            updated = [term for term, _ in unique if _fold(term) in stored]
            if limit is not None and len(stored) + len(added) > limit:
                raise TooManyTerms(kind, len(stored), len(added), limit)
            self._write_terms(pk, kind, unique)
            self._store.db.table("chats").update(pk, {"updated_at": self._store.now_iso()})
        return added, updated

    def remove_terms(self, ref: ChatRef, kind: str, terms: Iterable[str]) -> list[str]:
        """Remove terms (ignoring case) atomically; returns the stored spellings that were removed."""
        self._check_kind(kind)
        wanted = {_fold(term) for term in terms}
        with self._store.transaction() as db:
            pk = self.chat_pk(ref)
            stored = [term for (term,) in db.execute(
                "SELECT term FROM chat_terms WHERE chat = ? AND kind = ? ORDER BY position", [pk, kind]
            ).fetchall()]
            removed = [term for term in stored if _fold(term) in wanted]
            for term in removed:
                db.execute("DELETE FROM chat_terms WHERE chat = ? AND kind = ? AND term = ?", [pk, kind, term])
            db.table("chats").update(pk, {"updated_at": self._store.now_iso()})
        return removed

    def replace_terms(self, ref: ChatRef, kind: str, entries: Sequence[tuple[str, float]]) -> None:
        """Make the chat's terms of this kind exactly `entries`, in that order, atomically."""
        self._check_kind(kind)
        with self._store.transaction() as db:
            pk = self.chat_pk(ref)
            db.execute("DELETE FROM chat_terms WHERE chat = ? AND kind = ?", [pk, kind])
            self._write_terms(pk, kind, entries)
            db.table("chats").update(pk, {"updated_at": self._store.now_iso()})

    def delivered_paper_ids(self, ref: ChatRef, limit: int = 500) -> list[str]:
        """Arxiv ids of the papers most recently sent to the chat, newest announcement first (for `stats`)."""
        row = self._chat_row(ref)
        if row is None:
            return []
        rows = self._store.db.execute(
            "SELECT arxiv_id FROM deliveries WHERE chat = ? AND status = 'sent' "
            "ORDER BY announced DESC, position LIMIT ?",
            [row["id"], limit],
        ).fetchall()
        return [arxiv_id for (arxiv_id,) in rows]
