"""`arxiv-digest chat` at a real terminal (a pseudo-terminal): the greeting, and readline's history on the Up arrow."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

CLI = str(Path(sys.executable).parent / "arxiv-digest")
DEADLINE_SECONDS = 30.0
UP_ARROW = "\x1b[A"
ANSWER = "A digest now shows at most 7 papers."


def _read_until(fd: int, wanted: str, seen: list[str], times: int = 1) -> str:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while "".join(seen).count(wanted) < times:
        assert time.monotonic() < deadline, f"never printed {wanted!r} {times} times; got {''.join(seen)!r}"
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            seen.append(os.read(fd, 4096).decode(errors="replace"))
    return "".join(seen)


def test_chat_greets_and_the_up_arrow_recalls_the_last_command(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    env = {key: value for key, value in os.environ.items() if not key.endswith(("_TOKEN", "_KEY", "_SECRET"))}
    process = subprocess.Popen(
        [CLI, "--database", str(tmp_path / "chat.db"), "chat"], stdin=terminal, stdout=terminal, stderr=terminal,
        env={**env, "TERM": "dumb"}, cwd=tmp_path, close_fds=True,
    )
    os.close(terminal)
    seen: list[str] = []
    try:
        _read_until(controller, 'Type "/help" for the commands', seen)
        _read_until(controller, "> ", seen)
        os.write(controller, b"/max 7\r")
        _read_until(controller, ANSWER, seen)
        _read_until(controller, "> ", seen, times=2)
        os.write(controller, (UP_ARROW + "\r").encode())  # the same command again, from history
        _read_until(controller, ANSWER, seen, times=2)
        _read_until(controller, "> ", seen, times=3)
        os.write(controller, b"/quit\r")
        process.wait(timeout=DEADLINE_SECONDS)
        output = "".join(seen)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    assert "Unknown command" not in output
    assert output.count(ANSWER) == 2  # the recalled command answered like the first one
    assert process.returncode == 0
