"""Talking to the SMTP server: where SMTP_URL points, how to secure and log in, and what its answers mean for the outbox.

`smtp://user@host:587` speaks STARTTLS and refuses to go on without it; `smtps://user@host:465` is TLS
from the first byte; `smtp+plain://host:25` sends in the clear, for a relay on the same machine.
The password comes from SMTP_PASSWORD (or the URL itself; the log redaction hides either).
"""
from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from adapters.base import ChatGone, DeliveryError

SMTP_URL_ENV = "SMTP_URL"
SMTP_PASSWORD_ENV = "SMTP_PASSWORD"
SMTP_CONNECTIONS = 4  # conversations with the server at once: mail servers throttle clients that open many
# scheme -> (default port, TLS from the start, STARTTLS required)
SCHEMES = {"smtp": (587, False, True), "smtps": (465, True, False), "smtp+plain": (25, False, False)}


class SmtpUrlError(ValueError):
    """SMTP_URL cannot be used; the message says what is wrong without repeating the URL (it may hold a password)."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to deliver: from SMTP_URL and SMTP_PASSWORD."""

    host: str
    port: int
    use_tls: bool
    start_tls: bool
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never the password, even in a traceback's locals
        return f"SmtpServer(host={self.host!r}, port={self.port}, use_tls={self.use_tls}, start_tls={self.start_tls})"


def parse_smtp_url(url: str, password: str | None = None) -> SmtpServer:
    """The server SMTP_URL names; `password` (SMTP_PASSWORD) wins over one written into the URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise SmtpUrlError("SMTP_URL is not a URL such as smtp://user@mail.example.org:587") from None
    if parts.scheme not in SCHEMES:
        raise SmtpUrlError(f"SMTP_URL must start with {', '.join(s + '://' for s in SCHEMES)} (not {parts.scheme or 'nothing'}://)")
    if not parts.hostname:
        raise SmtpUrlError("SMTP_URL names no host, as in smtp://user@mail.example.org:587")
    default_port, use_tls, start_tls = SCHEMES[parts.scheme]
    username = unquote(parts.username) if parts.username else None
    in_url = unquote(parts.password) if parts.password else None
    return SmtpServer(parts.hostname, port or default_port, use_tls, start_tls, username, password or in_url)


def _refusal(error: aiosmtplib.SMTPRecipientsRefused) -> DeliveryError:
    """A refused recipient: 5xx (no such mailbox, blocked) is for good, 4xx (mailbox full, greylisting) may pass."""
    answers = "; ".join(f"{refused.code} {refused.message}" for refused in error.recipients)
    if error.recipients and all(refused.code >= 500 for refused in error.recipients):
        return ChatGone(f"the mail server refused the address: {answers}")
    return DeliveryError(f"the mail server deferred the address: {answers}")


class SmtpSender:
    """Sends one message per SMTP conversation, at most SMTP_CONNECTIONS at once; errors become outbox outcomes."""

    def __init__(self, server: SmtpServer, timeout_seconds: float, tls_context: ssl.SSLContext | None = None) -> None:
        self.server = server
        self.timeout_seconds = timeout_seconds
        self.tls_context = tls_context  # tests trust their own CA; None means the system's trust store
        self._connections = asyncio.Semaphore(SMTP_CONNECTIONS)

    async def send(self, message: EmailMessage) -> None:
        """Hand the message to the server. Raises ChatGone when the server refuses its recipient for good,
        DeliveryError for everything that may pass (4xx, connection trouble, a refusal of the message itself)."""
        server = self.server
        try:
            async with self._connections:
                await aiosmtplib.send(
                    message,
                    hostname=server.host,
                    port=server.port,
                    username=server.username,
                    password=server.password,
                    use_tls=server.use_tls,
                    start_tls=server.start_tls,
                    timeout=self.timeout_seconds,
                    tls_context=self.tls_context,
                )
        except aiosmtplib.SMTPRecipientsRefused as error:
            raise _refusal(error) from None
        except aiosmtplib.SMTPResponseException as error:
            # A refused sender, message or login is not about this reader: retried, then given up, never deactivated.
            raise DeliveryError(f"the mail server answered {error.code} {error.message}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryError(f"cannot reach the mail server {server.host}:{server.port}: {error}") from None
