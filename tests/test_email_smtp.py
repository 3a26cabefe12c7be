"""The email adapter's SMTP side: SMTP_URL forms, STARTTLS and login against a real aiosmtpd, switched on by SMTP_URL,
clear errors for what is missing, and a password in SMTP_URL never in a log line."""
from __future__ import annotations

import logging
import ssl

import pytest
import trustme

from adapters.email import EmailAdapter, create_adapter
from adapters.email_smtp import SmtpUrlError, parse_smtp_url
from bot.app import StoreEvents, platform_adapters
from core.config import ConfigError
from core.redaction import REDACTED, SecretRedactor
from tests.email_support import LINK_SECRET, email_settings
from tests.fakes.smtp import PASSWORD, USERNAME, SmtpServer

ALICE = "alice@example.org"


def test_smtp_url_forms():
    assert parse_smtp_url("smtp://me@mail.example.org") == parse_smtp_url("smtp://me@mail.example.org:587")
    starttls = parse_smtp_url("smtp://me%40corp@mail.example.org", "pw")
    assert (starttls.port, starttls.start_tls, starttls.use_tls, starttls.username, starttls.password) == (587, True, False, "me@corp", "pw")
    tls = parse_smtp_url("smtps://me:in-url@mail.example.org")
    assert (tls.port, tls.use_tls, tls.password) == (465, True, "in-url")
    assert parse_smtp_url("smtps://me:in-url@mail.example.org", "from-env").password == "from-env"
    plain = parse_smtp_url("smtp+plain://localhost")
    assert (plain.port, plain.use_tls, plain.start_tls, plain.username) == (25, False, False, None)
    assert "in-url" not in repr(tls)
    for bad in ("http://mail.example.org", "smtp://", "mail.example.org", "smtp://host:99999"):
        with pytest.raises(SmtpUrlError) as problem:
            parse_smtp_url(bad)
        assert "99999" not in str(problem.value) or bad.endswith("99999")


@pytest.fixture
def tls_pair() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) from a throwaway CA."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


async def test_starttls_and_login_from_smtp_url_and_password(tmp_path, store, monkeypatch, tls_pair):
    server_tls, client_tls = tls_pair
    with SmtpServer(tls_context=server_tls, auth=True) as smtp:
        monkeypatch.setenv("SMTP_URL", smtp.url)
        monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
        monkeypatch.setenv("EMAIL_LINK_SECRET", LINK_SECRET)
        adapter = create_adapter(email_settings(8000), StoreEvents(store), tls_context=client_tls)
        assert isinstance(adapter, EmailAdapter)
        await adapter.send_confirmation(ALICE, "llm")
        (mail,) = await smtp.handler.wait_for(ALICE)
        assert smtp.handler.logins == [USERNAME]
        assert "/email/confirm/" in mail.get_content()
        assert "llm" in mail.get_content()
        monkeypatch.setenv("SMTP_PASSWORD", "wrong-password")
        wrong = create_adapter(email_settings(8000), StoreEvents(store), tls_context=client_tls)
        await wrong.send_confirmation("bob@example.org", "")  # logged, never raised to the web page
        assert smtp.handler.to("bob@example.org") == []


def test_smtp_url_switches_email_on_and_what_is_missing_is_named(store, monkeypatch):
    settings = email_settings(8000)
    assert [a.platform for a in platform_adapters(settings, store)] == []
    monkeypatch.setenv("SMTP_URL", "smtps://digest:url-password-123@mail.example.org")
    with pytest.raises(ConfigError, match="EMAIL_LINK_SECRET"):
        platform_adapters(settings, store)
    monkeypatch.setenv("EMAIL_LINK_SECRET", LINK_SECRET)
    assert [a.platform for a in platform_adapters(settings, store)] == ["email"]
    no_sender = settings.model_copy(update={"email": settings.email.model_copy(update={"sender": ""})})
    with pytest.raises(ConfigError, match="email.sender"):
        platform_adapters(no_sender, store)
    monkeypatch.setenv("SMTP_URL", "imap://digest:url-password-123@mail.example.org")
    with pytest.raises(ConfigError) as bad_url:
        platform_adapters(settings, store)
    assert "url-password-123" not in str(bad_url.value)


def test_a_password_in_smtp_url_is_redacted_from_logs(monkeypatch):
    monkeypatch.setenv("SMTP_URL", "smtps://digest:p%40ss-in-url-123@mail.example.org:465")
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "login with %s failed (%s)", ("p%40ss-in-url-123", "p@ss-in-url-123"), None)
    SecretRedactor().filter(record)
    assert record.getMessage() == f"login with {REDACTED} failed ({REDACTED})"
