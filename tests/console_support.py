"""The console adapter's terminal for tests: a pipe to type commands into and a buffer to read the replies from."""
from __future__ import annotations

import asyncio
import io
import os
import re
import time


class Terminal:
    """The console adapter's two ends: a pipe we type into and a buffer we read."""

    def __init__(self) -> None:
        read_end, self._write_end = os.pipe()
        self.input = os.fdopen(read_end, "r", encoding="utf-8")
        self.output = io.StringIO()

    async def type(self, line: str, expect: str) -> str:
        """Type a command and wait for the reply that contains `expect`."""
        start = len(self.output.getvalue())
        os.write(self._write_end, (line + "\n").encode())
        deadline = time.monotonic() + 10
        while expect not in self.output.getvalue()[start:]:
            assert time.monotonic() < deadline, f"no reply to {line!r}: {self.output.getvalue()[start:]!r}"
            await asyncio.sleep(0.01)
        return self.output.getvalue()[start:]

    def digests(self) -> list[str]:
        return re.findall(r"arXiv digest for \w+ \d{4}-\d\d-\d\d", self.output.getvalue())

    def close(self) -> None:
        os.close(self._write_end)
        self.input.close()
