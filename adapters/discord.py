"""The Discord adapter: `/arxiv` slash commands (over the gateway or the HTTP interactions endpoint) and channel digests over REST, through discord.py."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

import aiohttp
import discord
import yarl
from nacl.signing import VerifyKey
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.base import (
    ChatGone,
    CommandHandler,
    DeliveryError,
    EventSink,
    FormattingRejected,
    MessageKind,
    OutgoingMessage,
    button_event,
    ignore_events,
    reply_messages,
)
from adapters.discord_commands import GROUP_NAME, SpecLike, autocomplete_choices, slash_commands_payload
from adapters.discord_interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    PING,
    PONG,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureCheck,
    SlashCommand,
    autocomplete_response,
    deferred_response,
    interaction_user_id,
    message_data,
    message_response,
    public_key,
    slash_command,
)
from adapters.discord_render import CONTENT_LIMIT, DiscordMessage, render_digest, text_chunks
from core.commands import COMMAND_SPECS
from core.clock import utc_now
from core.config import ConfigError, DiscordSettings, Settings, secret
from core.models import Attachment, ChatRef, Digest, Reply
from core.render.chunks import cut_text

log = logging.getLogger(__name__)

TOKEN_ENV = "DISCORD_BOT_TOKEN"
PUBLIC_KEY_ENV = "DISCORD_PUBLIC_KEY"
INTERACTIONS_PATH = "/discord/interactions"
INTERACTION_EVENT = "INTERACTION_CREATE"
START_TIMEOUT_SECONDS = 30.0
# Discord drops an interaction not answered within 3 s: past this, say "thinking" and answer later.
DEFER_AFTER_SECONDS = 2.0
INTERACTION_DEADLINE_SECONDS = 3.0
RESPONSE_SENT_TIMEOUT_SECONDS = 5.0
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
    """discord.py's client, handing the gateway's interactions to the adapter as raw JSON."""

    def __init__(self, adapter: DiscordAdapter, settings: DiscordSettings) -> None:
        # Interactions need no intents; `guilds` keeps guild names in the cache for chat titles. Debug
        # events give us each gateway frame's JSON: the interaction exactly as the HTTP endpoint gets it.
        super().__init__(
            intents=discord.Intents(guilds=True),
            max_ratelimit_timeout=settings.max_rate_limit_wait_seconds,
            enable_debug_events=True,
        )
        self.adapter = adapter
        self.connected = asyncio.Event()

    async def on_connect(self) -> None:
        self.connected.set()

    async def on_socket_raw_receive(self, frame: str) -> None:
        if INTERACTION_EVENT not in frame:  # most frames are heartbeats and guild events: skip parsing them
            return
        event = json.loads(frame)
        if event.get("t") == INTERACTION_EVENT and isinstance(event.get("d"), dict):
            self.adapter.on_gateway_interaction(event["d"])


InitialResponse = Callable[[dict[str, Any]], Awaitable[None]]


class _HttpResponse:
    """The first answer to an HTTP interaction goes back as the HTTP response; later ones wait until it was sent."""

    def __init__(self) -> None:
        self.body: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._sent = asyncio.Event()

    async def send(self, response: dict[str, Any]) -> None:
        self.body.set_result(response)
        # A follow-up must not reach Discord before the response it follows (nor wait forever if the caller left).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RESPONSE_SENT_TIMEOUT_SECONDS):
                await self._sent.wait()

    def json_response(self) -> JSONResponse:
        return JSONResponse(self.body.result(), background=BackgroundTask(self._sent.set))


def _callback_route(interaction: Mapping[str, Any]) -> discord.http.Route:
    """The interaction's first answer, for interactions that came over the gateway."""
    path = "/interactions/{webhook_id}/{webhook_token}/callback"
    return discord.http.Route("POST", path, webhook_id=interaction.get("id"), webhook_token=interaction.get("token"))


def _webhook_route(method: str, interaction: Mapping[str, Any], suffix: str = "") -> discord.http.Route:
    """Later answers: the application's webhook for this interaction's token (valid 15 minutes)."""
    path = "/webhooks/{webhook_id}/{webhook_token}" + suffix
    return discord.http.Route(method, path, webhook_id=interaction.get("application_id"), webhook_token=interaction.get("token"))


def message_nonce(chat: ChatRef, body: DiscordMessage) -> str:
    """The same message to the same channel always gets the same nonce, so Discord refuses a duplicate."""
    identity = json.dumps([chat.chat_id, body.content, list(body.embeds)], sort_keys=True, default=str)
    return hashlib.blake2b(identity.encode(), digest_size=NONCE_LENGTH // 2).hexdigest()


def _message_json(body: DiscordMessage, nonce: str) -> dict[str, Any]:
    """A channel message as Discord's API takes it; echoed user text (a keyword "@everyone") never pings anyone.
    The nonce is enforced: Discord answers a repeat with the message it already has."""
    return {
        "content": body.content or None,
        "embeds": [dict(embed) for embed in body.embeds],
        "components": [dict(row) for row in body.components],
        "allowed_mentions": {"parse": []},
        "nonce": nonce,
        "enforce_nonce": True,
    }


class DiscordAdapter:
    """Answers `/arxiv` slash commands and posts digests to channels; never touches the store."""

    platform = "discord"

    def __init__(
        self,
        settings: DiscordSettings,
        token: str,
        specs: Sequence[SpecLike] = COMMAND_SPECS,
        *,
        interactions_key: VerifyKey | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        events: EventSink = ignore_events,
    ) -> None:
        if settings.interactions == "http" and interactions_key is None:
            raise ValueError("the HTTP interactions endpoint needs the application's public key")
        self._settings = settings
        self._token = token
        self._specs = {spec.name: spec for spec in specs}
        self._endpoints = _Endpoints(settings)
        self._signatures = SignatureCheck(interactions_key, clock) if interactions_key is not None else None
        self._client: _Client | None = None
        self._connection: asyncio.Task[None] | None = None
        self._handle_command: CommandHandler | None = None
        self._events = events
        self._answering: set[asyncio.Task[None]] = set()

    # ---- lifecycle ----
    async def start(self, handle_command: CommandHandler) -> None:
        """Log in and sync the `/arxiv` commands; in gateway mode also connect, returning once READY arrived."""
        self._handle_command = handle_command
        self._endpoints.apply()
        client = _Client(self, self._settings)
        self._client = client
        try:
            await client.login(self._token)
            assert client.application_id is not None, "login() fetched the application and keeps its id"
            await client.http.bulk_upsert_global_commands(client.application_id, slash_commands_payload(list(self._specs.values())))
            if self._settings.interactions == "gateway":
                await self._connect(client)
        except BaseException:
            await self.stop()
            raise
        log.info("Discord: logged in as %s (%s interactions), /%s synced with %d subcommands", client.user, self._settings.interactions, GROUP_NAME, len(self._specs))

    async def _connect(self, client: _Client) -> None:
        self._connection = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
        ready = asyncio.create_task(client.connected.wait())
        done, _ = await asyncio.wait({ready, self._connection}, timeout=START_TIMEOUT_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self._connection in done:
            self._connection.result()  # raises what stopped the gateway
            raise ConnectionError("the Discord gateway closed before READY")
        if not done:
            raise TimeoutError(f"no READY from the Discord gateway within {START_TIMEOUT_SECONDS:.0f} s")

    async def stop(self) -> None:
        client, self._client = self._client, None
        answering, self._answering = self._answering, set()
        for task in answering:
            task.cancel()
        await asyncio.gather(*answering, return_exceptions=True)
        if client is not None:
            await client.close()
        connection, self._connection = self._connection, None
        if connection is not None:
            await asyncio.gather(connection, return_exceptions=True)
        self._endpoints.restore()

    # ---- incoming: the gateway and the HTTP endpoint hand over the same interaction JSON ----
    def on_gateway_interaction(self, interaction: Mapping[str, Any]) -> None:
        self._spawn(self._answer(interaction, lambda response: self._rest(_callback_route(interaction), response)))

    def web_routes(self) -> list[BaseRoute]:
        """`POST /discord/interactions` on the shared web app, in HTTP interactions mode only."""
        if self._signatures is None or self._settings.interactions != "http":
            return []
        return [Route(INTERACTIONS_PATH, self._on_http_interaction, methods=["POST"])]

    async def _on_http_interaction(self, request: Request) -> Response:
        assert self._signatures is not None  # web_routes mounts this only with a key
        raw_body = await request.body()
        if not self._signatures.valid(request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER), raw_body):
            return Response("invalid request signature", status_code=401)
        try:
            interaction = json.loads(raw_body)
        except ValueError:
            return Response("not JSON", status_code=400)
        if not isinstance(interaction, dict):
            return Response("not an interaction", status_code=400)
        if interaction.get("type") == PING:
            return JSONResponse({"type": PONG})
        if self._client is None:
            return Response("the Discord adapter is not running", status_code=503)
        response = _HttpResponse()
        answering = self._spawn(self._answer(interaction, response.send))
        first: set[asyncio.Future[Any]] = {response.body, answering}
        await asyncio.wait(first, timeout=INTERACTION_DEADLINE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        if not response.body.done():
            return Response("not an interaction this bot answers", status_code=400)
        return response.json_response()

    def _spawn(self, answering: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(answering, name="discord-interaction")
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)
        return task

    async def _answer(self, interaction: Mapping[str, Any], respond: InitialResponse) -> None:
        data = interaction.get("data")
        if not isinstance(data, dict) or not interaction.get("token"):
            return
        kind = interaction.get("type")
        try:
            if kind == MESSAGE_COMPONENT:
                await self._answer_button(interaction, data, respond)
            elif data.get("name") != GROUP_NAME:
                return
            elif kind == AUTOCOMPLETE:
                await respond(autocomplete_response(autocomplete_choices(data, self._specs)))
            elif kind == APPLICATION_COMMAND:
                await self._answer_command(interaction, respond)
        except discord.HTTPException as exc:
            log.warning("Discord: answering interaction in channel %s failed: %s %s", interaction.get("channel_id"), exc.status, exc.text[:200])
        except (aiohttp.ClientError, OSError, DeliveryError) as exc:
            log.warning("Discord: answering interaction in channel %s failed: %s: %s", interaction.get("channel_id"), type(exc).__name__, exc)

    async def _answer_button(self, interaction: Mapping[str, Any], data: Mapping[str, Any], respond: InitialResponse) -> None:
        """A 👍/👎/🔖 under a digest's paper: report it, and thank the reader (only they see it)."""
        chat = ChatRef(self.platform, str(interaction.get("channel_id") or ""))
        pressed = button_event(str(data.get("custom_id") or ""), chat, interaction_user_id(interaction))
        if pressed is None:
            return
        event, thanks = pressed
        await self._events(event)
        await respond(message_response(DiscordMessage(thanks), ephemeral=True))

    async def _answer_command(self, interaction: Mapping[str, Any], respond: InitialResponse) -> None:
        command = slash_command(interaction, self._specs, self._guild_name(interaction.get("guild_id")))
        spec = self._specs.get(command.text.split(" ", 1)[0])
        pending = asyncio.ensure_future(self._run(command))
        # A slow command says "thinking" at once; any other gets the time Discord allows before it must.
        done, _ = await asyncio.wait({pending}, timeout=0 if spec is not None and spec.slow else DEFER_AFTER_SECONDS)
        deferred = not done
        if deferred:
            await respond(deferred_response())
        reply = await pending
        for index, body in enumerate(self._reply_bodies(reply)):
            if index == 0 and not deferred:
                await respond(message_response(body, ephemeral=reply.ephemeral))
            elif index == 0:  # replaces "thinking" (keeping its visibility)
                await self._rest(_webhook_route("PATCH", interaction, "/messages/@original"), message_data(body, ephemeral=reply.ephemeral))
            else:
                await self._rest(_webhook_route("POST", interaction), message_data(body, ephemeral=reply.ephemeral))
        if reply.attachment is not None:
            await self._send_file(interaction, reply.attachment, ephemeral=reply.ephemeral)

    async def _send_file(self, interaction: Mapping[str, Any], attachment: Attachment, *, ephemeral: bool) -> None:
        """A reply's file as a follow-up message with an attachment (multipart: payload_json and files[0])."""
        if self._client is None:
            raise DeliveryError("the Discord adapter is not running")
        upload = discord.File(io.BytesIO(attachment.content.encode()), filename=attachment.filename)
        payload = message_data(DiscordMessage(""), ephemeral=ephemeral) | {"attachments": [{"id": 0, "filename": attachment.filename}]}
        form: list[dict[str, Any]] = [
            {"name": "payload_json", "value": json.dumps(payload)},
            {"name": "files[0]", "value": upload.fp, "filename": upload.filename, "content_type": attachment.media_type},
        ]
        await self._client.http.request(_webhook_route("POST", interaction), form=form, files=[upload])

    async def _run(self, command: SlashCommand) -> Reply:
        if self._handle_command is None:
            return Reply("The bot is starting, try again in a moment.")
        return await self._handle_command(command.context, command.text)

    def _guild_name(self, guild_id: object) -> str | None:
        """The guild's name from discord.py's cache (filled over the gateway only)."""
        if self._client is None or not str(guild_id or "").isdigit():
            return None
        guild = self._client.get_guild(int(str(guild_id)))
        return guild.name if guild is not None else None

    async def _rest(self, route: discord.http.Route, payload: dict[str, Any]) -> None:
        """One interaction call over discord.py's HTTP client: its rate limits, our API base."""
        if self._client is None:
            raise DeliveryError("the Discord adapter is not running")
        await self._client.http.request(route, json=payload)

    @staticmethod
    def _reply_bodies(reply: Reply) -> list[DiscordMessage]:
        return [message.payload for message in reply_messages(reply, render_digest, _text_messages)]

    # ---- outgoing ----
    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        return render_digest(digest)

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        """Post one digest message; 429s are waited out by discord.py up to the configured ceiling."""
        body = DiscordMessage(cut_text(message.plain_text, CONTENT_LIMIT)) if plain else message.payload
        if self._client is None:
            raise DeliveryError("the Discord adapter is not running")
        where = f"discord channel {chat.chat_id}"
        if not chat.chat_id.isdigit():
            raise ChatGone(f"{where}: not a Discord channel id")
        route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=chat.chat_id)
        try:
            async with asyncio.timeout(self._settings.send_timeout_seconds):
                sent = await self._client.http.request(route, json=_message_json(body, message_nonce(chat, body)))
        except discord.RateLimited as exc:
            raise DeliveryError(f"{where}: rate limited for {exc.retry_after:.0f} s", retry_after=exc.retry_after) from None
        except discord.HTTPException as exc:
            raise _delivery_error(where, exc, formatting_may_fail=not plain) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None
        return str(sent["id"])


def _text_messages(reply: Reply) -> list[OutgoingMessage]:
    return [OutgoingMessage((), DiscordMessage(chunk), chunk, MessageKind.REPLY) for chunk in text_chunks(reply.text)]


def _delivery_error(where: str, exc: discord.HTTPException, *, formatting_may_fail: bool) -> DeliveryError:
    """Discord's refusal as the outbox's outcome: gone (deactivate), bad formatting (go plain), or try later."""
    detail = f"{where}: HTTP {exc.status} code {exc.code}: {exc.text[:200]}"
    if isinstance(exc, discord.Forbidden) or exc.code in GONE_CODES:
        return ChatGone(detail)
    if exc.status == 400 and formatting_may_fail:
        return FormattingRejected(detail)
    return DeliveryError(detail)


def create_adapter(settings: Settings, events: EventSink) -> DiscordAdapter | None:
    """The Discord adapter when DISCORD_BOT_TOKEN is set, else None (Discord stays off); HTTP interactions need DISCORD_PUBLIC_KEY."""
    token = secret(TOKEN_ENV)
    if token is None:
        return None
    if settings.discord.interactions == "gateway":
        return DiscordAdapter(settings.discord, token, events=events)
    hex_key = secret(PUBLIC_KEY_ENV)
    if hex_key is None:
        raise ConfigError(f'{PUBLIC_KEY_ENV} must be set for Discord\'s HTTP interactions (discord.interactions = "http")')
    try:
        key = public_key(hex_key)
    except ValueError as exc:
        raise ConfigError(f"{PUBLIC_KEY_ENV}: {exc}") from None
    return DiscordAdapter(settings.discord, token, interactions_key=key, events=events)
