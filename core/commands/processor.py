"""The entry point adapters call: text in, Reply out, for every platform; it never raises."""
from __future__ import annotations

import logging
import math

from core.arxiv.errors import ArxivError, ArxivUnavailable
from core.commands.parsing import MAX_COMMAND_LENGTH, CommandError, split_command
from core.commands.registry import CommandServices, Invocation, handler_for, spec_for, unknown_command_hint
from core.config import Settings
from core.models import CommandContext, Reply
from core.store import Store
from core.store.chats import chat_from_defaults

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side while doing that. Please try again later."


class CommandProcessor:
    """Parses a command, loads the chat (or its defaults), runs the handler and turns refusals into replies."""

    def __init__(self, store: Store, settings: Settings, services: CommandServices) -> None:
        self.store = store
        self.settings = settings
        self.services = services

    async def handle(self, context: CommandContext, text: str) -> Reply:
        """Answer one command (without its leading slash); bad input gets a one-line hint, never an exception."""
        name = ""
        try:
            if len(text) > MAX_COMMAND_LENGTH:
                raise CommandError(f"That command is too long: at most {MAX_COMMAND_LENGTH} characters, please.")
            name, args = split_command(text)
            return await self._run(context, name, args)
        except CommandError as refusal:
            return Reply(str(refusal), ok=False)
        except ArxivError as trouble:
            chat = context.chat
            log.warning("command %r in chat %s:%s: arXiv failed: %s", name, chat.platform, chat.chat_id, trouble)
            return Reply(_arxiv_trouble(trouble), ok=False)
        except Exception:
            log.exception(
                "command %r failed in chat %s:%s (user %s)",
                name[:40], context.chat.platform, context.chat.chat_id, context.user_id,
            )
            return Reply(APOLOGY, ok=False)

    async def _run(self, context: CommandContext, name: str, args: str) -> Reply:
        spec = spec_for(name)
        handler = handler_for(name)
        if spec is None or handler is None:
            raise CommandError(unknown_command_hint(name))
        if args and not spec.takes_arguments:  # "status now" is refused, not answered as if it were "status"
            raise CommandError(f'"{name}" takes nothing after it. Usage: {spec.usage}')
        chat = self.store.chats.get_chat(context.chat)
        stored = chat is not None
        if chat is None:
            chat = chat_from_defaults(context.chat, self.settings.defaults, context.chat_title, context.chat_kind)
        call = Invocation(spec, context, args, chat, stored, self.store, self.settings, self.services)
        return await handler(call)


def _arxiv_trouble(trouble: ArxivError) -> str:
    if isinstance(trouble, ArxivUnavailable):
        wait = f"in about {math.ceil(trouble.retry_after / 60)} min" if trouble.retry_after else "in a few minutes"
        return f"arXiv is not answering right now (busy or down). Please try again {wait}."
    return "arXiv could not be read just now. Please try again later."


