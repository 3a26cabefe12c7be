"""Discord interactions as JSON, shared by the gateway and the HTTP endpoint: who typed what where, the answers, the signature check."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from adapters.discord_commands import Choice, SpecLike, command_text
from adapters.discord_render import DiscordMessage
from adapters.signed_requests import ReplayGuard, signed_timestamp, within_window
from core.models import ChatRef, CommandContext

# Interaction types Discord sends, and the response types we answer with.
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3  # a button under a message was pressed
AUTOCOMPLETE = 4
PONG = 1
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
AUTOCOMPLETE_RESULT = 8
EPHEMERAL_FLAG = 1 << 6

# Permission bits of a member in the channel; any of them may change the channel's settings.
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
SETTINGS_PERMISSIONS = ADMINISTRATOR | MANAGE_CHANNELS | MANAGE_GUILD
GROUP_DM_CHANNEL = 3

SIGNATURE_HEADER = "X-Signature-Ed25519"
TIMESTAMP_HEADER = "X-Signature-Timestamp"


@dataclass(frozen=True)
class SlashCommand:
    """A `/arxiv` interaction as the command processor takes it."""

    context: CommandContext
    text: str


def _permission_bits(member: Mapping[str, Any]) -> int:
    """The member's resolved permissions in the channel (a decimal string); unreadable means none."""
    try:
        return int(str(member.get("permissions") or 0))
    except ValueError:
        return 0


def _user(interaction: Mapping[str, Any]) -> Mapping[str, Any]:
    """Who acted: `member.user` in a guild, `user` in a DM."""
    return (interaction.get("member") or {}).get("user") or interaction.get("user") or {}


def interaction_user_id(interaction: Mapping[str, Any]) -> str:
    return str(_user(interaction).get("id") or "")


def slash_command(interaction: Mapping[str, Any], specs_by_name: Mapping[str, SpecLike], guild_name: str | None = None) -> SlashCommand:
    """Chat, caller and command text of an interaction: a guild channel (settings need Manage Channels,
    Manage Guild or Administrator) or a DM (always allowed)."""
    channel = interaction.get("channel") or {}
    channel_id = str(interaction.get("channel_id") or channel.get("id") or "")
    member = interaction.get("member") or {}
    user = _user(interaction)
    user_id = interaction_user_id(interaction)
    channel_name = channel.get("name") or channel_id
    text = command_text(interaction.get("data") or {}, specs_by_name)
    chat = ChatRef("discord", channel_id)
    guild_id = interaction.get("guild_id")
    if guild_id is None:
        if channel.get("type") == GROUP_DM_CHANNEL:
            return SlashCommand(CommandContext(chat, user_id, True, f"group DM {channel_name}", "group"), text)
        title = f"DM with {user.get('username') or user_id}"
        return SlashCommand(CommandContext(chat, user_id, True, title, "private"), text)
    may_change = bool(_permission_bits(member) & SETTINGS_PERMISSIONS)
    title = f"#{channel_name} ({guild_name or 'guild'} {guild_id})"
    return SlashCommand(CommandContext(chat, user_id, may_change, title, "channel"), text)


def message_data(body: DiscordMessage, *, ephemeral: bool) -> dict[str, Any]:
    """A message body as interaction responses and webhooks take it; echoed user text never pings anyone."""
    data: dict[str, Any] = {
        "embeds": [dict(embed) for embed in body.embeds],
        "components": [dict(row) for row in body.components],
        "allowed_mentions": {"parse": []},
        "flags": EPHEMERAL_FLAG if ephemeral else 0,
    }
    if body.content:
        data["content"] = body.content
    return data


def message_response(body: DiscordMessage, *, ephemeral: bool) -> dict[str, Any]:
    return {"type": CHANNEL_MESSAGE, "data": message_data(body, ephemeral=ephemeral)}


def deferred_response() -> dict[str, Any]:
    """ "The bot is thinking", visible to the caller only; the answer replaces it later."""
    return {"type": DEFERRED_CHANNEL_MESSAGE, "data": {"flags": EPHEMERAL_FLAG}}


def autocomplete_response(choices: Sequence[Choice]) -> dict[str, Any]:
    return {"type": AUTOCOMPLETE_RESULT, "data": {"choices": [{"name": c.name, "value": c.value} for c in choices]}}


def public_key(hex_key: str) -> VerifyKey:
    """The application's Ed25519 public key from its hex form (the Developer Portal's "Public Key")."""
    try:
        return VerifyKey(bytes.fromhex(hex_key.strip()))
    except ValueError as exc:  # bad hex, or not 32 bytes
        raise ValueError(f"not a 64-digit hex Ed25519 public key ({exc})") from None


class SignatureCheck:
    """Tells Discord's signed requests from anything else: Ed25519 over timestamp + raw body, timestamp recent, not seen before."""

    def __init__(self, key: VerifyKey, clock: Callable[[], dt.datetime]) -> None:
        self._key = key
        self._clock = clock
        self._replays = ReplayGuard()

    def valid(self, signature_hex: str | None, timestamp: str | None, raw_body: bytes) -> bool:
        seconds = signed_timestamp(timestamp)
        now = self._clock().timestamp()
        if not signature_hex or not timestamp or seconds is None or not within_window(seconds, now):
            return False
        try:
            self._key.verify(timestamp.encode() + raw_body, bytes.fromhex(signature_hex))
        except (BadSignatureError, ValueError):  # ValueError: not hex, or not 64 bytes
            return False
        return self._replays.first_use(seconds, signature_hex, now)
