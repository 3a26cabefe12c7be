"""The gate in front of slack-bolt's HTTP handler: a request reaches bolt only well-formed, signed and not seen before.

Bolt verifies the signature too, but it parses the body first and reads the timestamp with a bare
int(), so a timestamp of "abc" or a body that is not UTF-8 or not JSON became a 500 with a traceback;
and it keeps no memory of requests, so a captured slash command ran again when replayed within
five minutes. The verification itself is slack-sdk's SignatureVerifier.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier
from starlette.responses import PlainTextResponse, Response

from adapters.signed_requests import ReplayGuard, signed_timestamp, within_window

TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"


class SlackRequestGate:
    """Refuses what bolt should never see: 401 unsigned, stale or replayed; 400 a signed body bolt cannot parse."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._clock = clock
        self._replays = ReplayGuard()

    def refusal(self, headers: Mapping[str, str], body: bytes) -> Response | None:
        """None when the request may go on to bolt; else the answer to give instead."""
        timestamp = headers.get(TIMESTAMP_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        seconds = signed_timestamp(timestamp)
        now = self._clock()
        if not timestamp or not signature or seconds is None or not within_window(seconds, now):
            return PlainTextResponse("invalid request signature", status_code=401)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return PlainTextResponse("the body is not UTF-8", status_code=400)
        if not self._verifier.is_valid(text, timestamp, signature):
            return PlainTextResponse("invalid request signature", status_code=401)
        if not self._replays.first_use(seconds, signature, now):
            return PlainTextResponse("this signed request was already received", status_code=401)
        try:
            parsed = parse_body(text, headers.get("content-type"))
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return PlainTextResponse("not a Slack request body", status_code=400)
        return None
