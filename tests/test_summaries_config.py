"""The summaries section of config.json: bad values are refused with the key named."""
from __future__ import annotations

import pytest

from core.config import ConfigError, SummarySettings, parse_settings
from core.summaries.prompt import PromptError


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"language": "English"}, "summaries.language"),
        ({"fulltext_html_url": "https://arxiv.org/html/"}, "summaries.fulltext_html_url"),
        ({"fulltext_pdf_url": "https://arxiv.org/pdf/{id}/{other}"}, "summaries.fulltext_pdf_url"),
        ({"base_url": "localhost:11434/v1"}, "summaries.base_url"),
        ({"api_key_env": "MY KEY"}, "summaries.api_key_env"),
        ({"prompt_version": "../secrets"}, "summaries.prompt_version"),
        ({"concurrency": 0}, "summaries.concurrency"),
        ({"source": "pdf"}, "summaries.source"),
    ],
)
def test_bad_summary_settings_name_the_key(values: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_settings({"summaries": values})


def test_local_endpoints_and_languages_are_accepted() -> None:
    settings = parse_settings(
        {"summaries": {"base_url": "http://localhost:11434/v1", "language": "pt-BR", "api_key_env": "OLLAMA_KEY"}}
    ).summaries
    assert settings.base_url == "http://localhost:11434/v1"
    assert settings.language == "pt-BR"


def test_a_missing_prompt_template_is_a_config_error(store: object) -> None:
    from core.summarize import Summarizer

    with pytest.raises(ConfigError, match="summary-v9"):
        Summarizer(SummarySettings(prompt_version="summary-v9"), store, None)  # type: ignore[arg-type]
    assert issubclass(PromptError, ConfigError)
