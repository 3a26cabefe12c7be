"""A recording Adapter (our own platform boundary, implemented honestly) and digests to give it; light to import."""
from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adapters.base import CommandHandler, DeliveryError, MessageKind, OutgoingMessage
from core.models import ChatRef, Digest, Paper, ScoredPaper

PLATFORM = "recording"


def make_paper(arxiv_id: str, title: str = "Efficient LLM inference", version: int = 1, **fields: object) -> Paper:
    values: dict = {
        "authors": ("Ada Lovelace",),
        "abstract": "We make LLM inference fast with speculative decoding and quantization.",
        "categories": ("cs.LG",),
        "primary_category": "cs.LG",
        "announce_type": "new",
    }
    values.update(fields)
    return Paper(arxiv_id=arxiv_id, version=version, title=title, **values)


def make_digest(day: dt.date, papers: Sequence[Paper]) -> Digest:
    return Digest(
        announcement_day=day,
        papers=tuple(ScoredPaper(paper, 10.0 - index) for index, paper in enumerate(papers)),
        categories=("cs.LG",),
        keywords=(),
        considered=len(papers),
        generated_at=dt.datetime(2026, 9, 24, 8, 0, tzinfo=dt.timezone.utc),
    )


@dataclass(frozen=True)
class SentMessage:
    chat: ChatRef
    paper_ids: tuple[str, ...]
    text: str
    plain: bool
    message_id: str


@dataclass
class RecordingAdapter:
    """Renders a header (the digest's day, or a week's first and last), one message per `papers_per_message`
    papers and a footer; records what it sends.

    `failures` maps a 1-based send call number to the exception that call raises; while `outage` is
    set every call raises it. Each send yields to the event loop once, as a network call would. With `log_path`
    every confirmed message is appended (and fsynced) as lines `chat<TAB>kind<TAB>id`; with
    `block_after` the call after that many confirmed messages writes `block_marker` and hangs, so a
    parent process can kill us at a known point.
    """

    platform: str = PLATFORM
    papers_per_message: int = 2
    failures: dict[int, DeliveryError] = field(default_factory=dict)
    outage: DeliveryError | None = None
    log_path: Path | None = None
    block_after: int | None = None
    block_marker: Path | None = None
    sent: list[SentMessage] = field(default_factory=list)
    calls: int = 0
    handler: CommandHandler | None = None
    rendered: list[Digest] = field(default_factory=list)

    async def start(self, handle_command: CommandHandler) -> None:
        self.handler = handle_command

    async def stop(self) -> None:
        self.handler = None

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        self.rendered.append(digest)
        day = digest.announcement_day.isoformat()
        ids = [scored.paper.arxiv_id for scored in digest.papers]
        days = f"{digest.week_from} to {day}" if digest.week_from else day  # a weekly digest names its days
        header = f"header {days}: {len(ids)} papers"
        messages = [OutgoingMessage((), f"<b>{header}</b>", header, MessageKind.HEADER)]
        for start in range(0, len(ids), self.papers_per_message):
            chunk = tuple(ids[start : start + self.papers_per_message])
            messages.append(OutgoingMessage(chunk, "<i>" + " ".join(chunk) + "</i>", " ".join(chunk), MessageKind.PAPERS))
        messages.append(OutgoingMessage((), f"<b>footer {day}</b>", f"footer {day}", MessageKind.FOOTER))
        return messages

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        await asyncio.sleep(0)
        # Checked after yielding, right before confirming: chats sending concurrently that passed an earlier
        # check would otherwise confirm (and log) messages after the marker, while the parent is killing us.
        if self.block_after is not None and len(self.sent) >= self.block_after:
            assert self.block_marker is not None
            self.block_marker.write_text("blocked")
            await asyncio.Event().wait()
        self.calls += 1
        failure = self.failures.pop(self.calls, None) or self.outage
        if failure is not None:
            raise failure
        text = message.plain_text if plain else str(message.payload)
        message_id = f"m{len(self.sent) + 1}"
        self.sent.append(SentMessage(chat, message.paper_ids, text, plain, message_id))
        if self.log_path is not None:
            self._append(chat, message)
        return message_id

    def _append(self, chat: ChatRef, message: OutgoingMessage) -> None:
        if message.paper_ids:
            lines = [f"{chat.chat_id}\tpaper\t{arxiv_id}\n" for arxiv_id in message.paper_ids]
        else:
            lines = [f"{chat.chat_id}\tframe\t{message.plain_text}\n"]
        assert self.log_path is not None
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.writelines(lines)
            log.flush()
            os.fsync(log.fileno())

    def web_routes(self) -> list:
        return []

    def papers_sent_to(self, chat_id: str) -> list[str]:
        return [arxiv_id for message in self.sent if message.chat.chat_id == chat_id for arxiv_id in message.paper_ids]
