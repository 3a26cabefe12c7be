"""The LLM client: one chat completion against any OpenAI-compatible endpoint, with the openai package's retries."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from core.config import SummarySettings, secret

log = logging.getLogger(__name__)
FALLBACK_KEY_ENV = "OPENAI_API_KEY"


class SummaryUnavailable(Exception):
    """The endpoint did not give an answer (rate limit, server error, timeout, refused) after the retries."""


@dataclass(frozen=True)
class Completion:
    """One answer of the model and what it cost."""

    text: str | None
    truncated: bool  # stopped by the output token limit
    prompt_tokens: int
    completion_tokens: int
    seconds: float


def api_key_from_env(settings: SummarySettings) -> str | None:
    """The key from the configured variable, else OPENAI_API_KEY; None means extractive summaries only."""
    return secret(settings.api_key_env) or secret(FALLBACK_KEY_ENV)


class LlmClient:
    """Chat completions with bounded retries (the openai client's own: 408/409/429/5xx and timeouts,
    exponential backoff, Retry-After honoured) and a per-attempt timeout."""

    def __init__(self, settings: SummarySettings, api_key: str) -> None:
        import openai  # a third of a second of imports: only a process with an LLM key pays for them

        self.settings = settings
        self.calls = 0
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=settings.base_url,
            max_retries=settings.max_retries,
            timeout=settings.timeout_seconds,
        )

    async def complete(self, messages: list[dict[str, str]]) -> Completion:
        """One completion; raises SummaryUnavailable when the endpoint fails after the retries."""
        import openai

        started = time.perf_counter()
        self.calls += 1
        try:
            response = await self._client.chat.completions.create(
                model=self.settings.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=self.settings.temperature,
                max_tokens=self.settings.max_output_tokens,
            )
        except openai.APIStatusError as exc:
            raise SummaryUnavailable(f"HTTP {exc.status_code} from the LLM endpoint") from exc
        except openai.APITimeoutError as exc:
            raise SummaryUnavailable(f"no answer within {self.settings.timeout_seconds:g} s") from exc
        except openai.APIConnectionError as exc:
            raise SummaryUnavailable(f"cannot reach the LLM endpoint: {type(exc.__cause__ or exc).__name__}") from exc
        except openai.OpenAIError as exc:
            raise SummaryUnavailable(f"unusable answer from the LLM endpoint: {type(exc).__name__}") from exc
        seconds = time.perf_counter() - started
        usage = response.usage
        choice = response.choices[0] if response.choices else None
        return Completion(
            text=choice.message.content if choice and choice.message else None,
            truncated=bool(choice and choice.finish_reason == "length"),
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            seconds=seconds,
        )

    async def aclose(self) -> None:
        await self._client.close()
