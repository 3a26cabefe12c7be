"""SIGKILL while a digest mail is in flight (the server has not accepted it), restart: every address gets its digest
once, with every paper, and the outbox agrees."""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

from core.models import ChatRef
from core.store import Store
from tests.delivery_crash_child import DAY
from tests.delivery_support import new_chat
from tests.fakes.smtp import SmtpHandler, SmtpServer
from tests.recording_adapter import make_paper
from tests.delivery_support import wait_for_marker

ROOT = Path(__file__).resolve().parents[1]
ADDRESSES = [f"reader{n}@example.org" for n in range(4)]
PAPERS = 6


def _child(db: Path, smtp_url: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.email_crash_child", str(db), smtp_url], cwd=ROOT, stderr=subprocess.PIPE)


def test_sigkill_mid_send_loses_and_repeats_no_mail(tmp_path):
    db = tmp_path / "email.db"
    store = Store(db)
    store.papers.store_announcement(DAY, [make_paper(f"2609.{n:05d}") for n in range(PAPERS)])
    for address in ADDRESSES:
        new_chat(store, address, platform="email")
    store.close()
    handler = SmtpHandler(hang_on_data_after=2, hang_marker=tmp_path / "hanging")
    with SmtpServer(handler) as smtp:
        child = _child(db, smtp.url)
        wait_for_marker(tmp_path / "hanging", child)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        assert child.returncode == -signal.SIGKILL
        assert len(handler.received) == 2
        handler.hang_on_data_after = None
        restart = _child(db, smtp.url)
        assert restart.wait(30) == 0, restart.stderr.read().decode()
    mails = collections.Counter(rcpt for item in handler.received for rcpt in item.recipients)
    assert mails == {address: 1 for address in ADDRESSES}
    expected = {f"https://arxiv.org/abs/2609.{n:05d}" for n in range(PAPERS)}
    assert all(expected <= set(item.message.get_body(("plain",)).get_content().split()) for item in handler.received)
    reopened = Store(db)
    assert all(len(reopened.outbox.delivered_ids(ChatRef("email", address))) == PAPERS for address in ADDRESSES)
    assert reopened.outbox.open_digest_days() == []
    reopened.close()
