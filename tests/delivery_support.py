"""Test helpers for scheduling: chats, real announcement fixtures stored as a fetch would, and a fake clock."""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from core.config import DefaultsSettings
from core.models import ChatRef, ChatSettings, Paper
from core.store import Store
from tests.fakes.arxiv import load_paper_list
from tests.recording_adapter import PLATFORM


def new_chat(store: Store, chat_id: str, platform: str = PLATFORM) -> ChatSettings:
    return store.chats.get_or_create_chat(ChatRef(platform, chat_id), DefaultsSettings())


SCHEDULER_FIXTURES = Path(__file__).parent / "fixtures" / "scheduler"


def fixture_papers(name: str) -> list[Paper]:
    """Real cs.CV announcements (see fixtures/scheduler/SOURCES.md); a replacement is announced as v2."""
    papers = load_paper_list(SCHEDULER_FIXTURES / f"cs-cv-{name}.json")
    return [dataclasses.replace(paper, version=2) if paper.is_replacement else paper for paper in papers]


def store_feed(store: Store, day: dt.date, papers: Sequence[Paper], categories: Sequence[str] = ("cs.CV",)) -> None:
    """What a successful fetch of the day's feed leaves behind: the papers and an ok fetch_log row."""
    store.papers.store_announcement(day, papers)
    store.papers.record_fetch("feed", categories, day, "ok", len(papers))


class FakeClock:
    """The one time source of a test: starts where told, moves only when the test moves it."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def set(self, moment: dt.datetime) -> dt.datetime:
        self.current = moment
        return moment


def wait_for_marker(path: Path, child: subprocess.Popen, seconds: float = 20.0) -> None:
    """Poll until a crash-test child wrote its marker (it reached the kill point); fail if it ended or took too long."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        if child.poll() is not None:
            raise AssertionError(f"child ended early: {child.stderr.read().decode()}")
        if time.monotonic() > deadline:
            raise AssertionError("child never reached the kill point")
        time.sleep(0.01)


def assert_each_sent_once(log: Path, before: Sequence[str], expected: dict[str, list[str]]) -> list[str]:
    """A crash child's log after the restart: what was confirmed before the kill kept, then every expected
    (chat, paper) exactly once and one header and footer per chat. Returns the frame lines."""
    lines = log.read_text().splitlines()
    assert lines[: len(before)] == list(before)
    papers = collections.Counter(tuple(line.split("\t")[::2]) for line in lines if "\tpaper\t" in line)
    assert set(papers) == {(chat_id, arxiv_id) for chat_id, ids in expected.items() for arxiv_id in ids}, "lost papers"
    assert max(papers.values()) == 1, "duplicated papers"
    frames = collections.Counter(line for line in lines if "\tframe\t" in line)
    assert len(frames) == 2 * len(expected), "header or footer lost or repeated"
    assert max(frames.values()) == 1, "header or footer lost or repeated"
    return list(frames)
