"""kill -9 in the middle of a tick's weekly digests, then a restart: every paper of every week arrives exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.scheduler import Scheduler
from core.arxiv.fetcher import Fetcher
from core.models import ChatRef
from core.store import Store
from tests.delivery_support import assert_each_sent_once, wait_for_marker
from tests.scheduler_support import DAY, NEXT_DAY, SETTINGS, WEEK, WEEK_DUE_AT, make_weekly, populate, store_week

CHATS = 5
CHUNK = 2  # chunks of 2, 2 and 1 chats
PAPERS_PER_MESSAGE = 3
ROOT = Path(__file__).resolve().parents[1]


def prepared(path: Path) -> tuple[list[ChatRef], dict[str, list[str]]]:
    """Weekly chats due at WEEK_DUE_AT over the stored week, and each one's expected papers in order."""
    store = Store(path, clock=lambda: WEEK_DUE_AT)
    store_week(store)
    refs = populate(store, CHATS, store_day=False)
    for ref in refs:
        make_weekly(store, ref)
    chats = [store.chats.require_chat(ref) for ref in refs]
    digests = Scheduler(store, SETTINGS, Fetcher(SETTINGS.arxiv, store), {}).digests.build_digests(
        NEXT_DAY, chats, WEEK_DUE_AT, week=WEEK
    )
    expected = {ref.chat_id: [scored.paper.arxiv_id for scored in digests[ref].papers] for ref in refs}
    by_day = {day: {paper.arxiv_id for paper in store.papers.papers_announced(day)} for day in (DAY, NEXT_DAY)}
    store.close()
    selected = {arxiv_id for ids in expected.values() for arxiv_id in ids}
    assert selected & by_day[DAY], "the weeks hold papers of both days"
    assert selected & (by_day[NEXT_DAY] - by_day[DAY]), "the weeks hold papers of both days"
    return refs, expected


def run_child(tmp_path: Path, block_after: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.scheduler_crash_child", str(tmp_path / "weekly.db"), str(tmp_path / "sent.log"),
         str(tmp_path / "blocked"), str(block_after), str(CHUNK), WEEK_DUE_AT.isoformat()],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )


# (chunk, messages into it): before any header (the restart rebuilds the weeks from the store), inside the weeks' papers
@pytest.mark.parametrize("into_chunk", [(0, 0), (0, 2), (1, 2)])
def test_sigkill_mid_weekly_delivery_then_restart_loses_and_repeats_nothing(tmp_path, into_chunk):
    refs, expected = prepared(tmp_path / "weekly.db")
    chunk, messages = into_chunk
    # Header, one message per 3 papers, footer; a chunk's chats are sent concurrently, so kill points are counted
    # from a chunk's start, where no footer can be the only thing left (a footer alone is not re-sent: bot/delivery.py).
    earlier = sum(2 + -(-len(expected[ref.chat_id]) // PAPERS_PER_MESSAGE) for ref in refs[: chunk * CHUNK])
    child = run_child(tmp_path, earlier + messages)
    wait_for_marker(tmp_path / "blocked", child)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    log = tmp_path / "sent.log"
    lines_before = log.read_text().splitlines() if log.exists() else []
    crashed = Store(tmp_path / "weekly.db", clock=lambda: WEEK_DUE_AT)
    assert crashed.outbox.open_digest_days(), "the kill left weeks unsent"
    crashed.close()

    restart = run_child(tmp_path, -1)
    assert restart.wait(60) == 0, restart.stderr.read().decode()

    frames = assert_each_sent_once(log, lines_before, expected)
    assert all(f"header {WEEK[0]} to {NEXT_DAY}:" in line for line in frames if "header" in line)
    reopened = Store(tmp_path / "weekly.db", clock=lambda: WEEK_DUE_AT)
    assert reopened.outbox.delivery_stats().papers_sent == sum(map(len, expected.values()))
    assert reopened.outbox.open_digest_days() == []
    assert all(reopened.outbox.digest_week(ref, NEXT_DAY) == WEEK for ref in refs)
    reopened.close()
