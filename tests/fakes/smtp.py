"""A real SMTP server on loopback (aiosmtpd in a thread) that keeps what it accepts and answers as told.

`refuse` maps an address to the reply its RCPT gets ("550 5.1.1 no such user", "451 4.2.0 try later");
a 4xx entry is used once (the way greylisting lets the second attempt through), a 5xx stays.
With `hang_on_data_after` the server stops answering DATA once that many messages were accepted and
writes `hang_marker`: a sending process can be killed with its message in flight (never accepted).
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "digest"
PASSWORD = "smtp-secret-password"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpHandler:
    refuse: dict[str, str] = field(default_factory=dict)
    hang_on_data_after: int | None = None
    hang_marker: Path | None = None
    log_path: Path | None = None  # each accepted message appended as "recipient<TAB>Message-ID" (for other processes)
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        answer = self.refuse.get(address)
        if answer is not None:
            if answer.startswith("4"):
                del self.refuse[address]
            self.refused.append((address, answer))
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.hang_on_data_after is not None and len(self.received) >= self.hang_on_data_after:
            if self.hang_marker is not None:
                self.hang_marker.write_text("hanging")
            await asyncio.Event().wait()
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        if self.log_path is not None:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.writelines(f"{rcpt}\t{message['Message-ID']}\n" for rcpt in envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [item.message for item in self.received if address in item.recipients]

    async def wait_for(self, address: str, count: int = 1, seconds: float = 10.0) -> list[EmailMessage]:
        """The messages to `address` once there are `count` of them (polling with a deadline)."""
        deadline = time.monotonic() + seconds
        while len(self.to(address)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{address} got {len(self.to(address))} messages, expected {count}")
            await asyncio.sleep(0.01)
        return self.to(address)


def _authenticate(handler: SmtpHandler):
    def check(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USERNAME and auth_data.password.decode() == PASSWORD
        if ok:
            handler.logins.append(USERNAME)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    return check


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """`with SmtpServer() as smtp:` serves on 127.0.0.1:smtp.port until the block ends; `smtp.url` is an SMTP_URL for it."""

    def __init__(self, handler: SmtpHandler | None = None, *, tls_context: ssl.SSLContext | None = None, auth: bool = False) -> None:
        self.handler = handler or SmtpHandler()
        self.port = free_port()
        options: dict = {}
        if tls_context is not None:
            options.update(tls_context=tls_context, require_starttls=True)
        if auth:
            options.update(authenticator=_authenticate(self.handler), auth_required=True, auth_require_tls=tls_context is not None)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.secure = tls_context is not None
        self.auth = auth

    @property
    def url(self) -> str:
        scheme = "smtp" if self.secure else "smtp+plain"
        user = f"{USERNAME}@" if self.auth else ""
        return f"{scheme}://{user}127.0.0.1:{self.port}"

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
