"""core/collector.py: the collector is paused or kept off long-lived objects only inside the block, however it ends."""
from __future__ import annotations

import gc

import pytest

from core.collector import kept_alive


def test_kept_alive_sets_everything_alive_aside_and_gives_it_back_even_on_failure() -> None:
    survivor = [object()]
    with kept_alive():
        assert gc.get_freeze_count() > 0
        assert not any(thing is survivor for thing in gc.get_objects())  # no longer walked by collections
    assert gc.get_freeze_count() == 0
    assert any(thing is survivor for thing in gc.get_objects())
    with pytest.raises(RuntimeError), kept_alive():
        raise RuntimeError("serving the day failed")
    assert gc.get_freeze_count() == 0
