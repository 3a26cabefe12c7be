"""Signature timestamps and the replay memory shared by Slack's and Discord's signed requests."""
from __future__ import annotations

import pytest

from adapters.signed_requests import MAX_TIMESTAMP_DIGITS, SIGNATURE_WINDOW_SECONDS, ReplayGuard, signed_timestamp

NOW = 1_790_000_000.0


@pytest.mark.parametrize("text", [None, "", "abc", "1e9", "-5", " 17", "١٧٠٠٠٠٠٠٠٠", "9" * (MAX_TIMESTAMP_DIGITS + 1), "9" * 5000])
def test_anything_but_a_short_ascii_number_is_no_timestamp(text: str | None) -> None:
    assert signed_timestamp(text) is None


def test_a_unix_time_is_read() -> None:
    assert signed_timestamp("1790000000") == 1_790_000_000


def test_a_pair_passes_once_and_again_after_its_window() -> None:
    guard = ReplayGuard()
    assert guard.first_use(int(NOW), "ABCD", NOW)
    assert not guard.first_use(int(NOW), "abcd", NOW + SIGNATURE_WINDOW_SECONDS)  # hex case is no new signature
    assert guard.first_use(int(NOW), "other", NOW)
    later = NOW + SIGNATURE_WINDOW_SECONDS + 1  # by now the pair is too old to verify: forgotten
    assert guard.first_use(int(later), "new", later)
    assert len(guard) == 1


def test_the_memory_is_bounded_and_drops_the_oldest() -> None:
    guard = ReplayGuard(capacity=3)
    for signature in "abcd":
        assert guard.first_use(int(NOW), signature, NOW)
    assert len(guard) == 3
    assert guard.first_use(int(NOW), "a", NOW)
    assert not guard.first_use(int(NOW), "d", NOW)
