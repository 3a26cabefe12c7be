"""The terminal chat: commands read from a text stream go to the core; replies and digests are printed as plain text."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
import threading
from collections.abc import Iterator
from typing import TextIO

from starlette.routing import BaseRoute

from adapters.base import CommandHandler, MessageKind, OutgoingMessage, attachment_as_text, reply_messages
from core.models import ChatRef, CommandContext, Digest, Reply
from core.render.chunks import cut_text, split_blocks
from core.render.plain import paper_block
from core.render.view import digest_view

log = logging.getLogger(__name__)

CONSOLE_MESSAGE_BUDGET = 4000  # characters per printed message; a terminal has no limit, tests like bounded output
QUIT_WORDS = ("quit", "exit")
CONSOLE_HINT = 'Type "/help" for the commands, "/quit" to leave.'  # the greeting, and the answer to a blank line or a lone /


def render_plain_digest(digest: Digest, budget: int = CONSOLE_MESSAGE_BUDGET) -> list[OutgoingMessage]:
    """The digest as plain-text messages under `budget` characters, split between papers."""
    view = digest_view(digest)
    header = f"{view.title}: {view.selection}\nKeywords: {view.keywords}"
    blocks = [header] + [cut_text(paper_block(paper), budget) for paper in view.papers]
    paper_ids = [""] + [paper.arxiv_id for paper in view.papers]
    messages = []
    for chunk in split_blocks(blocks, budget):
        ids = tuple(paper_ids[index] for index in chunk.indices if paper_ids[index])
        kind = MessageKind.PAPERS if ids else MessageKind.HEADER  # a paper block is cut to fit, so only the header stands alone
        messages.append(OutgoingMessage(paper_ids=ids, payload=chunk.text, plain_text=chunk.text, kind=kind))
    return messages


def _text_messages(reply: Reply) -> list[OutgoingMessage]:
    return [OutgoingMessage((), reply.text, reply.text, MessageKind.REPLY)]


class ConsoleAdapter:
    """One local chat on text streams (stdin/stdout by default; tests inject StringIO)."""

    platform = "console"

    def __init__(
        self,
        input_stream: TextIO | None = None,
        output_stream: TextIO | None = None,
        *,
        chat_id: str = "local",
        user_id: str = "local-user",
        prompt: str = "",
        greeting: str = "",
    ) -> None:
        self._input = input_stream if input_stream is not None else sys.stdin
        self._output = output_stream if output_stream is not None else sys.stdout
        # A terminal gets line editing and history (readline through input()); streams are read line by line.
        self._terminal = input_stream is None and sys.stdin.isatty()
        self._ready_for_line = threading.Event()  # the terminal prompt shows again only after the answer is printed
        self.greeting = greeting
        self.chat = ChatRef(self.platform, chat_id)
        self.user_id = user_id
        self.prompt = prompt
        self._message_ids = itertools.count(1)
        self._closed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self, handle_command: CommandHandler) -> None:
        """Greet, then begin reading commands in the background; returns at once."""
        if self.greeting:
            self._write(self.greeting)
        self._reader = asyncio.create_task(self._read_commands(handle_command), name="console-input")

    async def wait_closed(self) -> None:
        """Return when the input ended (end of file, `quit`) or the adapter was stopped."""
        await self._closed.wait()

    async def stop(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self._closed.set()

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        return render_plain_digest(digest)

    def web_routes(self) -> list[BaseRoute]:
        """A terminal needs no HTTP endpoint."""
        return []

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        self._write(message.plain_text if plain else str(message.payload))
        return f"console-{next(self._message_ids)}"

    async def show_reply(self, reply: Reply) -> None:
        """A command's answer, or the digest it carries, printed; a file it carries follows as text."""
        for message in reply_messages(reply, self.render_digest, _text_messages):
            await self.send(self.chat, message)
        if reply.attachment is not None:
            self._write(attachment_as_text(reply.attachment))

    def _write(self, text: str) -> None:
        self._output.write(text.rstrip("\n") + "\n")
        self._output.flush()

    def _context(self) -> CommandContext:
        # The person at the terminal owns the chat: they may change everything.
        return CommandContext(chat=self.chat, user_id=self.user_id, can_change_settings=True, chat_title="console")

    async def _read_commands(self, handle_command: CommandHandler) -> None:
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        # A daemon thread, so a blocked read of a terminal never holds up the process's exit.
        threading.Thread(target=self._pump_lines, args=(loop, lines), daemon=True, name="console-stdin").start()
        try:
            while True:
                if self._terminal:
                    self._ready_for_line.set()
                elif self.prompt:
                    self._output.write(self.prompt)
                    self._output.flush()
                line = await lines.get()
                if line is None:
                    break
                text = line.strip().removeprefix("/").strip()
                if not text:
                    self._write(CONSOLE_HINT)
                    continue
                if text.casefold() in QUIT_WORDS:
                    break
                await self.show_reply(await handle_command(self._context(), text))
        finally:
            self._closed.set()

    def _pump_lines(self, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
        try:
            for line in self._terminal_lines() if self._terminal else iter(self._input.readline, ""):
                loop.call_soon_threadsafe(lines.put_nowait, line)
        except (OSError, ValueError) as exc:
            log.warning("console input stopped: %s", exc)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed at exit
                loop.call_soon_threadsafe(lines.put_nowait, None)

    def _terminal_lines(self) -> Iterator[str]:
        """Lines typed at the terminal with readline's editing and history (Up arrow recalls, not '\\x1b[A')."""
        import readline  # noqa: F401  (importing it is what gives input() line editing)

        while True:
            self._ready_for_line.wait()
            self._ready_for_line.clear()
            try:
                yield input(self.prompt)
            except EOFError:
                return
