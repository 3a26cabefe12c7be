"""The one time source: aware UTC now (stores, signature checks and schedulers take it as an injectable clock)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def stored_moment(stamp: str) -> dt.datetime:
    """A timestamp the store wrote (ISO 8601), as an aware instant: one without an offset is UTC."""
    moment = dt.datetime.fromisoformat(stamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
