"""Keeping secrets out of logs: one filter that rewrites every record's message, exception text and stack.

Which values are secret: every environment variable whose name says it holds one (…TOKEN, …SECRET,
…KEY, …PASSWORD: the bot tokens, the signing secret, any LLM key name configured), values the
process derives from them and remembers here (the Telegram webhook secret), and any personal feed
token where it shows, in a `/feeds/chat/<token>` path. A password written into a URL-valued variable
(`SMTP_URL=smtps://user:password@host`) is secret whatever the variable is called. The environment is read at each record, so a
secret set after start-up (or by a test) is covered too. The set of remembered values is process-
wide on purpose: logging is process-wide, and an adapter deriving a secret must reach every handler.
"""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from urllib.parse import unquote

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 6  # shorter values ("1", "true") would blank out ordinary words
_SECRET_ENV_NAME = re.compile(r"TOKEN|SECRET|KEY|PASSWORD|PASSWD", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:([^/@\s]+)@")
_FEED_TOKEN_PATH = re.compile(r"(/feeds/chat/)[^/\s.?#\"'<>]+")
_remembered: set[str] = set()


def remember_secret(value: str) -> None:
    """Redact this value too from now on (a secret derived at run time, not read from the environment)."""
    if len(value) >= MIN_SECRET_LENGTH:
        _remembered.add(value)


def known_secrets(environ: Mapping[str, str] = os.environ) -> list[str]:
    """Every secret value to redact, longest first (so a secret containing another is replaced whole)."""
    values = {value.strip() for name, value in environ.items() if _SECRET_ENV_NAME.search(name)}
    passwords = [found.group(1) for value in environ.values() if (found := _URL_PASSWORD.match(value.strip()))]
    values |= {form for password in passwords for form in (password, unquote(password))}  # as written and as sent
    values |= _remembered
    return sorted((value for value in values if len(value) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for value in known_secrets() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    return _FEED_TOKEN_PATH.sub(rf"\g<1>{REDACTED}", text)


class SecretRedactor(logging.Filter):
    """Rewrites a record in place before any handler formats it: message with its args, exception, stack."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = known_secrets()
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format: show the raw parts rather than lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message, secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


def install_redaction(logger: logging.Logger | None = None) -> SecretRedactor:
    """Put one SecretRedactor on every handler of `logger` (the root by default): all records reach those."""
    redactor = SecretRedactor()
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, SecretRedactor) for existing in handler.filters):
            handler.addFilter(redactor)
    return redactor
