"""`arxiv-digest email ...`: an operator subscribes, configures and removes email readers (no confirmation mail)."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from bot.cli import CliContext
    from core.models import Reply


def _address(text: str) -> str:
    from adapters.email_links import InvalidAddress, normalize_address

    try:
        return normalize_address(text)
    except InvalidAddress as problem:
        raise click.BadParameter(str(problem), param_hint="ADDRESS") from None


def _run(obj: "CliContext", action: Any) -> list["Reply"]:
    """Run `action(handle_command)` against the app's command core, as a signed link on the web app would."""
    import asyncio

    from bot.app import App

    async def run() -> list["Reply"]:
        app = App(obj.settings, obj.store, [])
        try:
            return await action(app.handle_command)
        finally:
            await app.fetcher.aclose()

    return asyncio.run(run())


def _report(replies: list["Reply"]) -> None:
    for reply in replies:
        click.echo(reply.text, err=not reply.ok)
    if not all(reply.ok for reply in replies):
        sys.exit(1)


@click.group()
def email() -> None:
    """Email readers: add, configure or remove an address (the web form does the same with double opt-in)."""


@email.command("add")
@click.argument("address")
@click.option("--keywords", default="", help='Keywords to add, as in the subscribe command: llm:2, "point cloud".')
@click.pass_obj
def add(obj: "CliContext", address: str, keywords: str) -> None:
    """Subscribe ADDRESS now (you vouch for its owner) with config.json's defaults plus --keywords."""
    from adapters.email import subscribe_address
    from bot.cli import friendly_errors

    wanted = _address(address)
    friendly_errors(lambda: _report(_run(obj, lambda handle: subscribe_address(handle, wanted, keywords))))()


@email.command("set")
@click.argument("address")
@click.argument("command", nargs=-1, required=True)
@click.pass_obj
def set_command(obj: "CliContext", address: str, command: tuple[str, ...]) -> None:
    """Run a chat command for ADDRESS: `email set a@example.org time 07:00 Europe/Berlin`."""
    from adapters.email import email_context
    from bot.cli import friendly_errors

    context = email_context(_address(address))
    text = " ".join(command)

    async def run(handle: Any) -> list["Reply"]:
        return [await handle(context, text)]

    friendly_errors(lambda: _report(_run(obj, run)))()


@email.command("remove")
@click.argument("address")
@click.pass_obj
def remove(obj: "CliContext", address: str) -> None:
    """Stop mailing ADDRESS (its settings are kept; `email add` starts it again)."""
    from bot.cli import friendly_errors
    from core.models import ChatRef

    ref = ChatRef("email", _address(address))

    def deactivate() -> None:
        if obj.store.chats.get_chat(ref) is None:
            click.echo(f"{ref.chat_id} is not subscribed.", err=True)
            sys.exit(1)
        obj.store.chats.set_active(ref, False)
        click.echo(f"{ref.chat_id} gets no more digests.")

    friendly_errors(deactivate)()
