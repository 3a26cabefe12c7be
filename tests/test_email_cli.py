"""`arxiv-digest email add/set/remove`: an operator's subscriptions land in the store as email chats; bad input is refused."""
from __future__ import annotations

from click.testing import CliRunner

from bot.cli import cli
from core.models import ChatRef
from core.store import Store

REF = ChatRef("email", "ann@example.org")


def _run(database, *args: str):
    return CliRunner().invoke(cli, ["--database", str(database), "email", *args])


def test_add_set_and_remove_an_address(tmp_path):
    db = tmp_path / "cli.db"
    added = _run(db, "add", "Ann@Example.org", "--keywords", 'flow:2, "point cloud"')
    assert added.exit_code == 0, added.output
    assert _run(db, "set", "ann@example.org", "time", "07:30", "Europe/Berlin").exit_code == 0
    refused = _run(db, "set", "ann@example.org", "max", "many")
    assert refused.exit_code == 1
    store = Store(db)
    chat = store.chats.get_chat(REF)
    assert chat.active
    assert chat.title == "ann@example.org"
    assert chat.timezone == "Europe/Berlin"
    assert {("flow", 2.0), ("point cloud", 1.0)} <= {(k.term, k.weight) for k in chat.keywords}
    store.close()
    removed = _run(db, "remove", "ANN@example.org")
    assert removed.exit_code == 0
    assert "no more digests" in removed.output
    store = Store(db)
    assert not store.chats.get_chat(REF).active
    store.close()
    assert _run(db, "add", "ann@example.org").exit_code == 0  # added again: active again
    store = Store(db)
    assert store.chats.get_chat(REF).active
    store.close()


def test_bad_addresses_get_a_clear_message_and_store_nothing(tmp_path):
    db = tmp_path / "cli.db"
    for bad in ("not-an-address", "ann@", "ann@@example.org"):
        result = _run(db, "add", bad)
        assert result.exit_code == 2
        assert "Invalid value for ADDRESS" in result.output
    assert _run(db, "remove", "nobody@example.org").exit_code == 1
    store = Store(db)
    assert store.chats.count_chats() == 0
    store.close()
