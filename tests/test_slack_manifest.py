"""The Slack app manifest declares what the adapter needs: the /arxiv command at our events path, and its scopes."""
from __future__ import annotations

from pathlib import Path

import yaml

from adapters.slack import EVENTS_PATH, SLASH_COMMAND

MANIFEST = Path(__file__).resolve().parent.parent / "deploy" / "slack-app-manifest.yml"


def test_manifest_matches_the_adapter():
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == SLASH_COMMAND
    assert command["url"].endswith(EVENTS_PATH)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "users:read", "files:write"} <= scopes
