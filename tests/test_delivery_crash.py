"""SIGKILL mid-delivery, restart, and every (chat, paper) arrives exactly once: 0 lost, 0 duplicated."""
from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.store import Store
from tests.delivery_support import new_chat, wait_for_marker
from tests.recording_adapter import make_paper

DAY = dt.date(2026, 9, 24)
CHATS = 4
PAPERS = 10  # 3 per message: header, 4 paper messages, footer = 6 messages per chat
ROOT = Path(__file__).resolve().parents[1]


def _run_child(tmp_path: Path, block_after: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.delivery_crash_child", str(tmp_path / "outbox.db"),
         str(tmp_path / "sent.log"), str(tmp_path / "blocked"), str(block_after)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("kill_after", [1, 8])  # after a header; in the middle of a later chat's papers
def test_sigkill_mid_delivery_loses_and_duplicates_nothing(tmp_path, kill_after):
    store = Store(tmp_path / "outbox.db")
    store.papers.store_announcement(DAY, [make_paper(f"2609.{n:05d}") for n in range(PAPERS)])
    for chat_id in range(CHATS):
        new_chat(store, str(chat_id))
    store.close()

    child = _run_child(tmp_path, kill_after)
    wait_for_marker(tmp_path / "blocked", child)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    lines_before = (tmp_path / "sent.log").read_text().splitlines() if (tmp_path / "sent.log").exists() else []
    assert child.returncode == -signal.SIGKILL

    restart = _run_child(tmp_path, -1)
    assert restart.wait(30) == 0, restart.stderr.read().decode()

    lines = (tmp_path / "sent.log").read_text().splitlines()
    assert lines[: len(lines_before)] == lines_before
    papers = collections.Counter(tuple(line.split("\t")[::2]) for line in lines if "\tpaper\t" in line)
    expected = {(str(chat), f"2609.{n:05d}") for chat in range(CHATS) for n in range(PAPERS)}
    assert set(papers) == expected, "lost papers"
    assert max(papers.values()) == 1, "duplicated papers"
    frames = collections.Counter(line for line in lines if "\tframe\t" in line)
    assert len(frames) == 2 * CHATS, "header or footer lost or repeated"
    assert max(frames.values()) == 1, "header or footer lost or repeated"
    reopened = Store(tmp_path / "outbox.db")
    assert reopened.outbox.delivery_stats().papers_sent == CHATS * PAPERS
    assert reopened.outbox.open_digest_days() == []
    reopened.close()
