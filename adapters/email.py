"""Email as a platform: a chat is one address (platform "email", chat id the address), its digest one multipart mail.

Nothing arrives by mail: readers subscribe, change settings and unsubscribe on the web app's pages
(adapters/email_web.py) through signed links, and those pages speak the same command language as
every chat. Digests go through the same outbox: a 4xx answer defers the digest like any platform's
transient error; a 5xx refusal of the address deactivates that chat only (ChatGone).
"""
from __future__ import annotations

import logging
import ssl

from starlette.routing import BaseRoute

from adapters.base import (
    ChatEvent, ChatGoneEvent, CommandHandler, DeliveryError, EventSink, FeedbackEvent, MessageKind, OutgoingMessage, SaveEvent,
    ignore_events,
)
from adapters.email_links import (
    CONFIRM, CONFIRM_LINK_HOURS, DISLIKE, LIKE, LINK_SECRET_ENV, SAVE, SETTINGS, UNSUBSCRIBE, LinkSigner, SiteLinks,
)
from adapters.email_render import PaperLinks, RecipientLinks, compose, confirmation_mail, digest_mail
from adapters.email_smtp import SMTP_PASSWORD_ENV, SMTP_URL_ENV, SmtpSender, SmtpUrlError, parse_smtp_url
from adapters.email_web import EmailPages
from core.clock import Clock, utc_now
from core.config import ConfigError, EmailSettings, Settings, secret
from core.models import ChatRef, CommandContext, Digest, Reply

log = logging.getLogger(__name__)

PLATFORM = "email"
NOT_STARTED = Reply("Email delivery is starting; please try again in a moment.", ok=False)


def email_context(address: str) -> CommandContext:
    """The reader of an address's mail owns that chat: what a signed link or the operator's CLI acts as."""
    return CommandContext(chat=ChatRef(PLATFORM, address), user_id=address, can_change_settings=True, chat_title=address)


async def subscribe_address(handle_command: CommandHandler, address: str, keywords: str = "") -> list[Reply]:
    """Store the address as an active chat from config defaults (`start`), then add the keywords (`subscribe`)."""
    context = email_context(address)
    replies = [await handle_command(context, "start")]
    if keywords:
        replies.append(await handle_command(context, f"subscribe {keywords}"))
    return replies


class EmailAdapter:
    """Sends digests over SMTP and serves the subscription pages; holds no state beyond what the links carry."""

    platform = PLATFORM

    def __init__(
        self, settings: EmailSettings, sender: SmtpSender, links: SiteLinks, events: EventSink = ignore_events,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.sender = sender
        self.links = links
        self.clock = clock
        self._events = events
        self._handle_command: CommandHandler | None = None
        self.pages = EmailPages(
            links, self.send_confirmation, self._confirm, self._run_command, self._unsubscribe, self._paper_action, clock
        )

    async def start(self, handle_command: CommandHandler) -> None:
        """Nothing to connect to: each mail opens its own SMTP conversation."""
        self._handle_command = handle_command

    async def stop(self) -> None:
        await self.pages.cancel_background()
        self._handle_command = None

    def web_routes(self) -> list[BaseRoute]:
        return self.pages.routes()

    def render_digest(self, digest: Digest) -> list[OutgoingMessage]:
        """One mail for the whole digest; its links name the reader, so it is written per address in `send`."""
        ids = tuple(scored.paper.arxiv_id for scored in digest.papers)
        plain = f"arXiv digest for {digest.announcement_day}"
        return [OutgoingMessage(paper_ids=ids, payload=digest, plain_text=plain, kind=MessageKind.PAPERS)]

    def recipient_links(self, address: str, paper_ids: tuple[str, ...] = ()) -> RecipientLinks:
        papers = {
            arxiv_id: PaperLinks(*(self.links.url(action, address, arxiv_id=arxiv_id) for action in (LIKE, DISLIKE, SAVE)))
            for arxiv_id in paper_ids
        }
        return RecipientLinks(self.links.url(SETTINGS, address), self.links.url(UNSUBSCRIBE, address), papers)

    async def send(self, chat: ChatRef, message: OutgoingMessage, *, plain: bool = False) -> str:
        """Mail the digest to the chat's address; the Message-ID is the outbox's message id."""
        address = chat.chat_id
        links = self.recipient_links(address, message.paper_ids)
        try:
            content = digest_mail(message.payload, address, links)
        except Exception as error:  # a renderer bug: back off and give up in the end, as for any platform
            log.exception("rendering the digest mail failed")
            raise DeliveryError(f"rendering failed: {error}") from None
        mail = compose(content, self.settings.sender, address, self.clock(), links.unsubscribe)
        await self.sender.send(mail)
        return str(mail["Message-ID"])

    async def send_confirmation(self, address: str, keywords: str) -> None:
        """The double opt-in mail; failures are logged (by domain only), never shown to whoever filled in the form."""
        content = confirmation_mail(address, self.links.url(CONFIRM, address, keywords), keywords, CONFIRM_LINK_HOURS)
        try:
            await self.sender.send(compose(content, self.settings.sender, address, self.clock()))
        except DeliveryError as error:
            log.warning("confirmation mail to an address at %s not sent: %s", address.rpartition("@")[2], error)

    def _commands(self) -> CommandHandler:
        if self._handle_command is None:
            async def not_started(context: CommandContext, text: str) -> Reply:
                return NOT_STARTED
            return not_started
        return self._handle_command

    async def _confirm(self, address: str, keywords: str) -> list[Reply]:
        return await subscribe_address(self._commands(), address, keywords)

    async def _run_command(self, address: str, text: str) -> list[Reply]:
        return [await self._commands()(email_context(address), text)]

    async def _unsubscribe(self, address: str) -> None:
        await self._events(ChatGoneEvent(ChatRef(PLATFORM, address)))

    async def _paper_action(self, action: str, address: str, arxiv_id: str) -> None:
        """A 👍/👎/🔖 link's POST: reported as the chat buttons report theirs, the reader (the address) as the user."""
        chat = ChatRef(PLATFORM, address)
        event: ChatEvent = (
            SaveEvent(chat, arxiv_id, address) if action == SAVE
            else FeedbackEvent(chat, arxiv_id, address, 1 if action == LIKE else -1)
        )
        await self._events(event)


def link_signer(clock: Clock = utc_now) -> LinkSigner:
    """The signer of every email link, from EMAIL_LINK_SECRET (the web pages and the CLI share it)."""
    link_secret = secret(LINK_SECRET_ENV)
    if link_secret is None:
        raise ConfigError(f"{LINK_SECRET_ENV} must be set for email delivery: it signs the unsubscribe and settings links")
    try:
        return LinkSigner(link_secret, clock)
    except ValueError as problem:
        raise ConfigError(str(problem)) from None


def create_adapter(
    settings: Settings, events: EventSink, *, clock: Clock = utc_now, tls_context: ssl.SSLContext | None = None
) -> EmailAdapter | None:
    """An EmailAdapter when SMTP_URL is set; the sender address and EMAIL_LINK_SECRET must then be set too."""
    url = secret(SMTP_URL_ENV)
    if url is None:
        return None
    if not settings.email.sender:
        raise ConfigError('email.sender must be set in config.json for email delivery, e.g. "arXiv digest <digest@example.org>"')
    try:
        server = parse_smtp_url(url, secret(SMTP_PASSWORD_ENV))
    except SmtpUrlError as problem:
        raise ConfigError(str(problem)) from None
    if not settings.web.public_url:
        log.warning("web.public_url is not set: the links in email point to %s", settings.web.link_base)
    links = SiteLinks(settings.web.link_base, link_signer(clock))
    return EmailAdapter(settings.email, SmtpSender(server, settings.email.timeout_seconds, tls_context), links, events, clock)
