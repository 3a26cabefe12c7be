"""Bad input a new user gives on the command line gets one line saying what is wrong and what to do, never a traceback."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import EXIT_CONFIG, cli


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output + (repr(result.exception) if result.exception and not isinstance(result.exception, SystemExit) else "")


def test_a_missing_config_named_by_the_environment_is_an_error_like_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    by_option = _run("--config", "missing.json", "digest", "--no-fetch")
    monkeypatch.setenv("ARXIV_DIGEST_CONFIG", "missing.json")
    by_environment = _run("digest", "--no-fetch")
    assert by_option == by_environment == (EXIT_CONFIG, "error: config file missing.json does not exist\n")


def test_a_database_where_a_file_stands_for_its_folder_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    code, output = _run("--database", str(tmp_path / "afile" / "sub" / "digest.db"), "digest", "--no-fetch")
    assert code == EXIT_CONFIG
    assert "Traceback" not in output
    assert "Error(" not in output
    assert output.startswith("error: cannot create the folder for database")
    assert "--database" in output


def test_a_file_that_is_no_database_says_what_to_do(tmp_path: Path) -> None:
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("these are my notes, not SQLite " * 10)
    code, output = _run("--database", str(not_a_database), "digest", "--no-fetch")
    assert code == EXIT_CONFIG
    assert "file is not a database" in output
    assert "move this one away" in output
    assert not_a_database.read_text().startswith("these are my notes")  # left as it was
