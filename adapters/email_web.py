"""The email adapter's pages on the shared web app: subscribe (double opt-in), confirm, settings, unsubscribe,
and the 👍/👎/🔖 pages a digest links under each paper.

Every page that changes something does so on POST only, behind a button: mail scanners open (GET) the
links in a mail, and must not confirm, unsubscribe, vote or save for anyone. The unsubscribe POST is also RFC 8058's
one-click target. The subscribe form answers the same for every well-formed address, known or not, and
sends its mail in the background, so neither the words nor the timing tell whether an address is stored.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.email_limits import CONFIRMATIONS_PER_ADDRESS, SUBSCRIBE_REQUESTS_PER_CLIENT, WindowLimiter
from adapters.email_links import (
    CONFIRM,
    CONFIRM_LINK_HOURS,
    DISLIKE,
    LIKE,
    MAX_KEYWORDS_LENGTH,
    PAPER_ACTIONS,
    SAVE,
    SETTINGS,
    UNSUBSCRIBE,
    InvalidAddress,
    InvalidLink,
    LinkRequest,
    SiteLinks,
    normalize_address,
)
from adapters.email_render import TEMPLATES
from core.clock import Clock, utc_now
from core.models import Reply

log = logging.getLogger(__name__)

MAX_ADDRESS_LENGTH = 254  # RFC 5321's longest path
MAX_COMMAND_FIELD_LENGTH = 1000
# These pages post forms to themselves; everything else keeps the site's strict policy.
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
SETTINGS_EXAMPLES = (
    'Type a command as you would in a chat, for example:\n'
    '  subscribe diffusion, "point cloud":2\n  unsubscribe llm\n  time 07:30 Europe/Berlin\n'
    '  max 10\n  summaries off\n  pause / resume\n  keywords, status, help'
)

Action = Callable[[str, str], Awaitable[list[Reply]]]  # (address, text) -> the replies of what it did
PaperAction = Callable[[str, str, str], Awaitable[None]]  # (like|dislike|save, address, arXiv id)
# Per action: the question a GET asks, its button, and what a POST answers.
PAPER_ACTION_WORDS = {
    LIKE: ("Mark arXiv:{id} as 👍 (more like this) for {address}?", "👍 Like", "Noted 👍 arXiv:{id}: the digest learns from it."),
    DISLIKE: ("Mark arXiv:{id} as 👎 (less like this) for {address}?", "👎 Not for me",
              "Noted 👎 arXiv:{id}: the digest learns from it."),
    SAVE: ("Save arXiv:{id} on the reading list of {address}?", "🔖 Save", "Saved 🔖 arXiv:{id} on your reading list."),
}


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"
    value: str = ""
    max_length: int = MAX_COMMAND_FIELD_LENGTH
    required: bool = False


@dataclass(frozen=True)
class Form:
    action: str
    button: str
    fields: tuple[Field, ...] = ()


def page(
    title: str, *paragraphs: str, form: Form | None = None, answer: str = "", notes: str = "",
    links: tuple[tuple[str, str], ...] = (), status: int = 200,
) -> Response:
    """One of the email pages: paragraphs, a command's answer, links (label, URL), a form, notes; all escaped."""
    html = TEMPLATES.get_template("email_page.html").render(
        title=title, paragraphs=paragraphs, form=form, answer=answer, notes=notes, links=links
    )
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}  # the URLs hold signed tokens
    return HTMLResponse(html, status_code=status, headers=headers)


async def form_fields(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (first value of each); the web app already caps the body's size."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {name: values[0] for name, values in parse_qs(body, max_num_fields=20).items()}


def client_key(request: Request) -> str:
    """Who is asking, for the per-client limit: the peer address (uvicorn puts a trusted proxy's X-Forwarded-For there)."""
    return request.client.host if request.client else "unknown"


class EmailPages:
    """Handlers of /email/...: they verify links and limits, then act through the adapter's callbacks."""

    def __init__(
        self,
        links: SiteLinks,
        send_confirmation: Callable[[str, str], Coroutine[Any, Any, None]],
        confirm: Action,
        run_command: Action,
        unsubscribe: Callable[[str], Awaitable[None]],
        paper_action: PaperAction,
        clock: Clock = utc_now,
    ) -> None:
        self.links = links
        self.send_confirmation = send_confirmation
        self.confirm = confirm
        self.run_command = run_command
        self.unsubscribe = unsubscribe
        self.paper_action = paper_action
        self.per_address = WindowLimiter(CONFIRMATIONS_PER_ADDRESS, clock=clock)
        self.per_client = WindowLimiter(SUBSCRIBE_REQUESTS_PER_CLIENT, clock=clock)
        self._background: set[asyncio.Task[None]] = set()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/email/subscribe", self.subscribe_form, methods=["GET", "HEAD"]),
            Route("/email/subscribe", self.subscribe, methods=["POST"]),
            Route("/email/confirm/{token}", self.confirm_page, methods=["GET", "HEAD", "POST"]),
            Route("/email/settings/{token}", self.settings_page, methods=["GET", "HEAD", "POST"]),
            Route("/email/unsubscribe/{token}", self.unsubscribe_page, methods=["GET", "HEAD", "POST"]),
            *(Route(f"/email/{action}/{{token}}", self._paper_endpoint(action), methods=["GET", "HEAD", "POST"])
              for action in PAPER_ACTIONS),
        ]

    async def cancel_background(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def _subscribe_form(self, address: str = "", keywords: str = "") -> Form:
        return Form(self.links.subscribe_url, "Subscribe", (
            Field("address", "Your email address", "email", address, MAX_ADDRESS_LENGTH, required=True),
            Field("keywords", 'Keywords (optional), e.g. llm:2, "point cloud"; added to the default list', "text", keywords,
                  MAX_KEYWORDS_LENGTH),
        ))

    async def subscribe_form(self, request: Request) -> Response:
        return page("Get the arXiv digest by email", "We mail you a link to confirm; nothing is sent before you open it.",
                    form=self._subscribe_form())

    async def subscribe(self, request: Request) -> Response:
        if not self.per_client.allow(client_key(request)):
            return page("Too many requests", "Please try again in an hour.", status=429)
        fields = await form_fields(request)
        keywords = " ".join(fields.get("keywords", "").split())
        try:
            if len(keywords) > MAX_KEYWORDS_LENGTH:
                raise InvalidAddress(f"Please keep the keywords under {MAX_KEYWORDS_LENGTH} characters.")
            address = normalize_address(fields.get("address", "")[:MAX_ADDRESS_LENGTH + 1])
        except InvalidAddress as problem:
            return page("Please check the form", str(problem), form=self._subscribe_form(fields.get("address", ""), keywords),
                        status=400)
        if self.per_address.allow(address):
            task = asyncio.create_task(self.send_confirmation(address, keywords), name="email-confirmation")
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return page("Check your inbox", f"If {address} can receive mail, a confirmation link is on its way to it. "
                    f"It works for {CONFIRM_LINK_HOURS} hours; nothing is sent to the address before it is opened.")

    async def _verified(self, request: Request, purpose: str) -> LinkRequest | Response:
        try:
            return self.links.signer.verify(purpose, request.path_params["token"])
        except InvalidLink as problem:
            status = 410 if problem.expired else 400
            return page("This link does not work", f"Sorry: {problem}.", "You can subscribe again (or get fresh links) here:",
                        form=self._subscribe_form(), status=status)

    async def confirm_page(self, request: Request) -> Response:
        verified = await self._verified(request, CONFIRM)
        if isinstance(verified, Response):
            return verified
        if request.method != "POST":
            wanted = f" for the keywords: {verified.keywords}" if verified.keywords else ""
            return page("Confirm your subscription", f"Send the daily arXiv digest to {verified.address}{wanted}?",
                        form=Form(request.url.path, "Yes, subscribe"))
        replies = await self.confirm(verified.address, verified.keywords)
        return page("Subscribed", f"{verified.address} will get the digest; every digest links to its settings too.",
                    answer="\n\n".join(reply.text for reply in replies),
                    links=(("Settings", self.links.url(SETTINGS, verified.address)),))

    async def settings_page(self, request: Request) -> Response:
        verified = await self._verified(request, SETTINGS)
        if isinstance(verified, Response):
            return verified
        if request.method == "POST":
            command = (await form_fields(request)).get("command", "").strip()[:MAX_COMMAND_FIELD_LENGTH]
            replies = await self.run_command(verified.address, command or "keywords")
        else:
            replies = await self.run_command(verified.address, "keywords")
        form = Form(request.url.path, "Run", (Field("command", "Command", required=True),))
        return page(f"Settings of {verified.address}", form=form, answer="\n\n".join(reply.text for reply in replies),
                    notes=SETTINGS_EXAMPLES)

    async def unsubscribe_page(self, request: Request) -> Response:
        verified = await self._verified(request, UNSUBSCRIBE)
        if isinstance(verified, Response):
            return verified
        if request.method != "POST":
            return page("Unsubscribe", f"Stop sending the arXiv digest to {verified.address}?",
                        form=Form(request.url.path, "Unsubscribe"))
        await self.unsubscribe(verified.address)  # a one-click POST (RFC 8058) lands here too
        return page("Unsubscribed", f"Nothing more will be sent to {verified.address}.",
                    links=(("Changed your mind? Subscribe again", self.links.subscribe_url),))

    def _paper_endpoint(self, action: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await self.paper_page(request, action)
        return endpoint

    async def paper_page(self, request: Request, action: str) -> Response:
        """👍, 👎 or 🔖 from a digest mail: the route names the action, and the token must have been signed for it."""
        verified = await self._verified(request, action)
        if isinstance(verified, Response):
            return verified
        question, button, done = PAPER_ACTION_WORDS[action]
        words = {"id": verified.arxiv_id, "address": verified.address}
        if request.method != "POST":
            return page(button, question.format(**words), form=Form(request.url.path, button))
        await self.paper_action(action, verified.address, verified.arxiv_id)
        return page(button, done.format(**words), links=(("Settings", self.links.url(SETTINGS, verified.address)),))
