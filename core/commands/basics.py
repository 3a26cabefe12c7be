"""The first commands a user meets: help (generated from the registry) and start."""
from __future__ import annotations

from core.commands.formatting import command_help, help_text, settings_summary
from core.commands.parsing import CommandError, split_command
from core.commands.registry import Invocation, command, registered_specs, spec_for, unknown_command_hint
from core.models import Reply

WELCOME = (
    "Hello! I send a daily digest of new arXiv papers that match this chat's keywords, "
    "on every arXiv announcement day."
)


@command("help", usage="help [COMMAND]")
async def help_command(call: Invocation) -> Reply:
    """List the commands, or explain one."""
    if not call.args:
        return Reply(help_text(registered_specs()))
    name, _ = split_command(call.args)
    spec = spec_for(name)
    if spec is None:
        raise CommandError(unknown_command_hint(name))
    return Reply(command_help(spec))


@command("start")
async def start(call: Invocation) -> Reply:
    """Start digests in this chat (or turn them back on) and show its settings."""
    chat = call.ensure_stored()
    if not chat.active:
        call.store.chats.set_active(chat.ref, True)
        chat = call.store.chats.require_chat(chat.ref)
    lines = [WELCOME, "", *settings_summary(chat), ""]
    if chat.paused:
        lines.append("Digests are paused here; send resume to get them again.")
    lines.append('Try "subscribe llm, rl:2", "time 08:30 Europe/Berlin", "digest" or "help".')
    return Reply("\n".join(lines))
