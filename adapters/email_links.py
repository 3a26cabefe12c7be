"""Email subscribers' addresses and the signed links they get: confirm a subscription, open the settings, unsubscribe,
and the 👍/👎/🔖 under each paper of a digest (the chat buttons of a mail).

A link carries its address (and, to confirm, the keywords asked for) signed with EMAIL_LINK_SECRET
through itsdangerous, so no account and no table of pending confirmations is needed: whoever holds
the link acts for that address, and nobody can make one for an address without the secret. Each
purpose has its own salt, so an unsubscribe link never works as a settings link, nor a 👍 link as a 👎 one.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from core.clock import Clock, utc_now

LINK_SECRET_ENV = "EMAIL_LINK_SECRET"
MIN_LINK_SECRET_LENGTH = 16
CONFIRM_LINK_HOURS = 48  # a confirmation mail older than this asks the reader to subscribe again
SETTINGS_LINK_DAYS = 60  # every digest brings a fresh one; a forwarded old mail stops opening the settings
PAPER_LINK_DAYS = SETTINGS_LINK_DAYS  # a 👍/👎/🔖 link ages like the settings link of the same mail
# Unsubscribe links never expire: RFC 8058 one-click must work from any mail the reader still has.
MAX_KEYWORDS_LENGTH = 500  # characters of keywords a subscribe form may ask for

CONFIRM, SETTINGS, UNSUBSCRIBE = "confirm", "settings", "unsubscribe"
LIKE, DISLIKE, SAVE = "like", "dislike", "save"
PAPER_ACTIONS = (LIKE, DISLIKE, SAVE)  # links that name a paper as well as the address
PURPOSES = (CONFIRM, SETTINGS, UNSUBSCRIBE, *PAPER_ACTIONS)
_MAX_AGE_SECONDS = {
    CONFIRM: CONFIRM_LINK_HOURS * 3600, SETTINGS: SETTINGS_LINK_DAYS * 86400, UNSUBSCRIBE: None,
    **{action: PAPER_LINK_DAYS * 86400 for action in PAPER_ACTIONS},
}


class InvalidAddress(ValueError):
    """Not an email address we can send to; the message says why in words a reader understands."""


class InvalidLink(Exception):
    """A link that was not made by us, was changed, or is too old; `expired` tells the last case apart."""

    def __init__(self, message: str, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def normalize_address(text: str) -> str:
    """The address as one chat id: syntax checked (no DNS look-up), lower case, so one mailbox is one chat."""
    try:
        checked = validate_email(text.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as problem:
        raise InvalidAddress(str(problem)) from None
    return checked.normalized.lower()


@dataclass(frozen=True)
class LinkRequest:
    """What a verified link asks for: the address it acts for, the keywords a confirmation subscribes to,
    and the paper a 👍/👎/🔖 link is about."""

    purpose: str
    address: str
    keywords: str = ""
    arxiv_id: str = ""


class LinkSigner:
    """Makes and checks the signed tokens of every email link; the clock decides what has expired."""

    def __init__(self, secret: str, clock: Clock = utc_now) -> None:
        if len(secret) < MIN_LINK_SECRET_LENGTH:
            raise ValueError(f"{LINK_SECRET_ENV} must be at least {MIN_LINK_SECRET_LENGTH} characters long")

        class ClockedSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock().timestamp())

        self._serializers = {
            purpose: URLSafeTimedSerializer(secret, salt=f"arxiv-digest email {purpose}", signer=ClockedSigner)
            for purpose in PURPOSES
        }

    def token(self, purpose: str, address: str, keywords: str = "", arxiv_id: str = "") -> str:
        payload = {"a": address}
        if keywords:
            payload["k"] = keywords
        if arxiv_id:
            payload["p"] = arxiv_id
        return self._serializers[purpose].dumps(payload)

    def verify(self, purpose: str, token: str) -> LinkRequest:
        """The request the token carries; raises InvalidLink when it is forged, damaged or expired."""
        try:
            payload = self._serializers[purpose].loads(token, max_age=_MAX_AGE_SECONDS[purpose])
        except SignatureExpired:
            raise InvalidLink("this link has expired", expired=True) from None
        except BadData:
            raise InvalidLink("this link is not valid") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("a"), str):
            raise InvalidLink("this link is not valid")
        arxiv_id = payload.get("p", "")
        if not isinstance(arxiv_id, str) or (purpose in PAPER_ACTIONS) != bool(arxiv_id):
            raise InvalidLink("this link is not valid")
        return LinkRequest(purpose, payload["a"], str(payload.get("k", "")), arxiv_id)


@dataclass(frozen=True)
class SiteLinks:
    """The web app's email pages under the site's public address."""

    base: str  # "https://digest.example.org", no trailing slash
    signer: LinkSigner

    def url(self, purpose: str, address: str, keywords: str = "", arxiv_id: str = "") -> str:
        return f"{self.base}/email/{purpose}/{quote(self.signer.token(purpose, address, keywords, arxiv_id))}"

    @property
    def subscribe_url(self) -> str:
        return f"{self.base}/email/subscribe"

