"""`arxiv-digest chat`: a new user subscribes and gets a digest of real papers served by the loopback fake arXiv."""
from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from bot.cli import cli
from core.arxiv.calendar import current_announcement_day
from core.config import Settings
from core.models import ChatRef, Keyword
from core.store import Store
from tests.commands_support import fixture_papers
from tests.fakes.arxiv import FakeArxiv


def _config(tmp_path, fake: FakeArxiv) -> str:
    settings = Settings(
        database=str(tmp_path / "chat.db"),
        arxiv=fake.settings(),
        defaults={"categories": ["cs.AI", "cs.CL", "cs.CV", "cs.GR"], "keywords": [], "min_score": 1.0},
        summaries={"api_key_env": "ARXIV_DIGEST_TEST_NO_SUCH_KEY"},
    )
    path = tmp_path / "config.json"
    path.write_text(json.dumps(settings.model_dump(mode="json")), encoding="utf-8")
    return str(path)


def test_chat_subscribes_and_shows_a_digest_from_the_fake_arxiv(tmp_path, fake_arxiv):
    day = current_announcement_day(dt.datetime.now(dt.timezone.utc))
    papers = fixture_papers()
    fake_arxiv.announce(papers, day)
    config = _config(tmp_path, fake_arxiv)

    typed = '/subscribe "large language models":2, diffusion\n/digest\n/keywords\n/like 2510.17880\n/stats\n/quit\n/help\n'
    result = CliRunner().invoke(cli, ["--config", config, "chat", "--chat-id", "me"], input=typed)

    assert result.exit_code == 0, result.output
    output = result.output
    assert "Subscribed to large language models:2, diffusion." in output
    assert f"arXiv digest for {day:%a %Y-%m-%d}:" in output
    assert "Outraged AI: Large language models prioritise emotion over cost" in output  # an LLM paper
    assert "Planned Diffusion" in output
    # feedback in the console
    assert "Noted 👍 2510.17880." in output
    assert "Feedback: 1 👍, 0 👎. Learned so far:" in output
    assert "A Generalizable Light Transport" not in output  # matches neither keyword
    assert "Keywords (2): large language models:2, diffusion" in output
    assert "Commands (arguments" not in output  # nothing is read after /quit
    assert fake_arxiv.feed_requests(), "the digest was built from what the fake arXiv served"

    store = Store(tmp_path / "chat.db")
    chat = store.chats.get_chat(ChatRef("console", "me"))
    assert chat.keywords == (Keyword("large language models", 2.0), Keyword("diffusion"))
    assert store.outbox.delivery_stats(chat.ref).papers_sent == 0  # a preview is not a delivery
    store.close()
