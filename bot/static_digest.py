"""The static digest (the original bot's README page): config defaults scored over one stored day, rendered."""
from __future__ import annotations

import datetime as dt
import errno
import os
import stat
import tempfile
from pathlib import Path

from bot.digests import DigestService
from core.config import Settings
from core.models import Digest
from core.render.markdown import render_markdown
from core.store import Store


def default_digest(settings: Settings, store: Store, day: dt.date, *, max_papers: int | None = None) -> Digest:
    """config.json's defaults as one subscriber (max_papers overridden when given), scored over the day's stored papers."""
    service = DigestService(store, settings)
    return service.digest_of(day, service.default_subscription(max_papers=max_papers))


def _new_file_mode() -> int:
    """The mode open() gives a new file: 0666 less the umask (which can only be read by setting it)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: Path, text: str) -> None:
    """Replace the file in one step, so a crash never leaves a half-written page; OSError when it cannot.

    The page keeps the replaced file's mode (a new one gets the umask's), not mkstemp's owner-only 0600.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:  # a file stands where a directory of the path should be
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), exc.filename) from None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            os.chmod(temporary, mode)
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def render_page(settings: Settings, digest: Digest) -> str:
    return render_markdown(digest, summary_settings=settings.summaries if digest.summaries else None)
