"""The Discord adapter: `/arxiv` slash commands over the gateway and channel digests over REST, through discord.py."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
import yarl

from adapters.base import ChatGone, CommandHandler, DeliveryError, FormattingRejected, OutgoingMessage
from adapters.discord_commands import GROUP_NAME, SpecLike, autocomplete_choices, command_text, slash_commands_payload
from adapters.discord_render import CONTENT_LIMIT, DiscordMessage, render_digest, text_chunks
from core.commands import COMMAND_SPECS
from core.config import DiscordSettings, Settings, secret
from core.models import ChatRef, ChatSettings, CommandContext, Digest, Reply
from core.render.chunks import cut_text

log = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_BOT_TOKEN"
START_TIMEOUT_SECONDS = 30.0
# Discord drops an interaction not answered within 3 s: past this, say "thinking" and answer later.
DEFER_AFTER_SECONDS = 2.0
NONCE_LENGTH = 24  # Discord accepts nonces of up to 25 characters
UNKNOWN_CHANNEL = 10003
GONE_CODES = frozenset({UNKNOWN_CHANNEL, 10004, 50001, 50007})  # unknown channel/guild, missing access, cannot DM


class _Endpoints:
    """discord.py keeps its API and gateway addresses in class attributes: set ours while running, then put theirs back."""

    def __init__(self, settings: DiscordSettings) -> None:
        self._api = settings.api_base_url.rstrip("/")
        self._gateway = yarl.URL(settings.gateway_url) if settings.gateway_url else None
        self._saved: tuple[str, yarl.URL] | None = None

    def apply(self) -> None:
        if self._saved is None:
            self._saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = self._api
        if self._gateway is not None:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._gateway

    def restore(self) -> None:
        if self._saved is not None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved
            self._saved = None


class _Client(discord.Client):
    """discord.py's client, handing gateway events to the adapter."""

    def __init__(self, adapter: DiscordAdapter, settings: DiscordSettings) -> None:
        # Interactions need no intents; `guilds` keeps guild names in the cache for chat titles.
        super().__init__(intents=discord.Intents(guilds=True), max_ratelimit_timeout=settings.max_rate_limit_wait_seconds)
        self.adapter = adapter
        self.connected = asyncio.Event()

    async def on_connect(self) -> None:
        self.connected.set()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        await self.adapter.on_interaction(interaction)


def command_context(interaction: discord.Interaction) -> CommandContext:
    """Who typed where: a guild channel (settings need Manage Channels or Manage Guild) or a DM (always allowed)."""
    channel_id = str(interaction.channel_id)
    user_id = str(interaction.user.id)
    channel_name = getattr(interaction.channel, "name", None) or channel_id
    if interaction.guild_id is None:
        is_group = isinstance(interaction.channel, discord.GroupChannel)
        title = f"DM with {interaction.user.name}" if not is_group else f"group DM {channel_name}"
        return CommandContext(ChatRef("discord", channel_id), user_id, True, title, "group" if is_group else "private")
    permissions = interaction.permissions
    may_change = permissions.administrator or permissions.manage_channels or permissions.manage_guild
    guild = interaction.guild.name if interaction.guild is not None and interaction.guild.name else "guild"
    title = f"#{channel_name} ({guild} {interaction.guild_id})"
    return CommandContext(ChatRef("discord", channel_id), user_id, may_change, title, "channel")


def message_nonce(chat: ChatRef, body: DiscordMessage) -> str:
    """The same message to the same channel always gets the same nonce, so Discord refuses a duplicate."""
    identity = json.dumps([chat.chat_id, body.content, list(body.embeds)], sort_keys=True, default=str)
    return hashlib.blake2b(identity.encode(), digest_size=NONCE_LENGTH // 2).hexdigest()


def _message_arguments(body: DiscordMessage) -> dict[str, Any]:
    """discord.py's send() arguments for a body; echoed user text (a keyword "@everyone") never pings anyone."""
    return {
        "content": body.content or None,
        "embeds": [discord.Embed.from_dict(dict(embed)) for embed in body.embeds],
        "allowed_mentions": discord.AllowedMentions.none(),
    }


class DiscordAdapter:
    """Answers `/arxiv` slash commands and posts digests to channels; never touches the store."""

    platform = "discord"

    def __init__(self, settings: DiscordSettings, token: str, specs: Sequence[SpecLike] = COMMAND_SPECS) -> None:
        self._settings = settings
        self._token = token
        self._specs = {spec.name: spec for spec in specs}
        self._endpoints = _Endpoints(settings)
        self._client: _Client | None = None
        self._connection: asyncio.Task[None] | None = None
        self._handle_command: CommandHandler | None = None

    # ---- lifecycle ----
    async def start(self, handle_command: CommandHandler) -> None:
        """Log in, sync the `/arxiv` commands, connect to the gateway; returns once READY arrived."""
        self._handle_command = handle_command
        self._endpoints.apply()
        client = _Client(self, self._settings)
        self._client = client
        try:
            await client.login(self._token)
            await client.http.bulk_upsert_global_commands(client.application_id, slash_commands_payload(list(self._specs.values())))
            self._connection = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
            ready = asyncio.create_task(client.connected.wait())
            done, _ = await asyncio.wait({ready, self._connection}, timeout=START_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
            if self._connection in done:
                self._connection.result()  # raises what stopped the gateway
                raise ConnectionError("the Discord gateway closed before READY")
            if not done:
                raise TimeoutError(f"no READY from the Discord gateway within {START_TIMEOUT_SECONDS:.0f} s")
        except BaseException:
            await self.stop()
            raise
        log.info("Discord: connected as %s, /%s synced with %d subcommands", client.user, GROUP_NAME, len(self._specs))

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()
        connection, self._connection = self._connection, None
        if connection is not None:
            await asyncio.gather(connection, return_exceptions=True)
        self._endpoints.restore()

    # ---- incoming ----
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        data: dict[str, Any] = dict(interaction.data or {})
        if data.get("name") != GROUP_NAME:
            return
        try:
            if interaction.type is discord.InteractionType.autocomplete:
                choices = [discord.app_commands.Choice(name=c.name, value=c.value) for c in autocomplete_choices(data)]
                await interaction.response.autocomplete(choices)
            elif interaction.type is discord.InteractionType.application_command:
                await self._answer_command(interaction, data)
        except discord.HTTPException as exc:
            log.warning("Discord: answering interaction in channel %s failed: %s %s", interaction.channel_id, exc.status, exc.text[:200])

    async def _answer_command(self, interaction: discord.Interaction, data: dict[str, Any]) -> None:
        if self._handle_command is None:
            return
        context = command_context(interaction)
        pending = asyncio.ensure_future(self._handle_command(context, command_text(data, self._specs)))
        done, _ = await asyncio.wait({pending}, timeout=DEFER_AFTER_SECONDS)
        if not done:
            await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await pending
        for body in self._reply_bodies(context.chat, reply):
            if not interaction.response.is_done():
                await interaction.response.send_message(**_message_arguments(body), ephemeral=reply.ephemeral)
            else:
                await interaction.followup.send(**_message_arguments(body), ephemeral=reply.ephemeral)

    def _reply_bodies(self, chat: ChatRef, reply: Reply) -> list[DiscordMessage]:
        bodies = [DiscordMessage(chunk) for chunk in text_chunks(reply.text)]
        if reply.digest is not None:
            bodies += [message.payload for message in self.render_digest(reply.digest, ChatSettings(ref=chat))]
        return bodies

    # ---- outgoing ----
    def render_digest(self, digest: Digest, settings: ChatSettings) -> list[OutgoingMessage]:
        return render_digest(digest, settings)

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        """Post one digest message; 429s are waited out by discord.py up to the configured ceiling."""
        body = DiscordMessage(cut_text(message.plain_text, CONTENT_LIMIT)) if plain else message.payload
        return await self._post(chat, body, nonce=message_nonce(chat, body), formatting_may_fail=not plain)

    async def send_reply(self, chat: ChatRef, reply: Reply) -> None:
        # A random nonce (discord.py's default): the same answer asked twice is meant to arrive twice.
        for body in self._reply_bodies(chat, reply):
            await self._post(chat, body, nonce=None, formatting_may_fail=False)

    async def _post(self, chat: ChatRef, body: DiscordMessage, *, nonce: str | None, formatting_may_fail: bool) -> str:
        if self._client is None:
            raise DeliveryError("the Discord adapter is not running")
        where = f"discord channel {chat.chat_id}"
        try:
            channel = self._client.get_partial_messageable(int(chat.chat_id))
        except ValueError:
            raise ChatGone(f"{where}: not a Discord channel id") from None
        try:
            async with asyncio.timeout(self._settings.send_timeout_seconds):
                sent = await channel.send(**_message_arguments(body), nonce=nonce)
        except discord.RateLimited as exc:
            raise DeliveryError(f"{where}: rate limited for {exc.retry_after:.0f} s", retry_after=exc.retry_after) from None
        except discord.HTTPException as exc:
            raise _delivery_error(where, exc, formatting_may_fail) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None
        return str(sent.id)


def _delivery_error(where: str, exc: discord.HTTPException, formatting_may_fail: bool) -> DeliveryError:
    """Discord's refusal as the outbox's outcome: gone (deactivate), bad formatting (go plain), or try later."""
    detail = f"{where}: HTTP {exc.status} code {exc.code}: {exc.text[:200]}"
    if isinstance(exc, discord.Forbidden) or exc.code in GONE_CODES:
        return ChatGone(detail)
    if exc.status == 400 and formatting_may_fail:
        return FormattingRejected(detail)
    return DeliveryError(detail)


def create_adapter(settings: Settings) -> DiscordAdapter | None:
    """The Discord adapter when DISCORD_BOT_TOKEN is set, else None (Discord stays off)."""
    token = secret(TOKEN_ENV)
    if token is None:
        return None
    return DiscordAdapter(settings.discord, token)
