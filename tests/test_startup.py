"""Start-up: `--help` and `--version` import no heavy library, `serve` imports no platform SDK without its token,
and `serve` says where it listens and which adapters run."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pydantic", "sqlite_utils", "numpy", "openai")
SDKS = ("telegram", "discord", "slack_bolt", "slack_sdk", "openai", "bs4", "pypdf", "aiosmtplib", "email_validator", "itsdangerous")
TOKENS = ("_TOKEN", "_SECRET", "_API_KEY", "_PUBLIC_KEY")


def _loaded_after(code: str) -> set[str]:
    """Top-level modules a fresh interpreter holds after running `code` with no secrets in its environment."""
    env = {key: value for key, value in os.environ.items() if not key.endswith(TOKENS)}
    probe = textwrap.dedent(code) + "\nimport sys\nprint(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_help_and_version_import_no_heavy_library() -> None:
    loaded = _loaded_after("""
        from click.testing import CliRunner
        from bot.cli import cli
        assert CliRunner().invoke(cli, ["--help"]).exit_code == 0
        assert CliRunner().invoke(cli, ["serve", "--help"]).exit_code == 0
        assert CliRunner().invoke(cli, ["--version"]).exit_code == 0
    """)
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_serve_without_tokens_imports_no_platform_sdk_and_no_llm_client(tmp_path: Path) -> None:
    loaded = _loaded_after(f"""
        from bot.app import App, platform_adapters
        from core.config import Settings
        from core.store import Store
        settings = Settings()
        store = Store({str(tmp_path / "s.db")!r})
        assert platform_adapters(settings, store) == []
        App(settings, store, [])
    """)
    assert not loaded & set(SDKS), loaded & set(SDKS)


def test_version_names_the_installed_package() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"arxiv-digest, version {version('arxiv-digest')}"
