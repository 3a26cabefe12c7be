"""A loopback OpenAI-compatible chat completions server with per-paper fault injection and call counting."""
from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter, deque

from aiohttp import web

from tests.fakes.server import LoopbackServer

PAPER_ID = re.compile(r"arXiv:(?P<id>\S+?) \(version")
CJK = re.compile(r"[\u4e00-\u9fff]")
FAULTS = (
    "rate_limit",  # 429 with Retry-After
    "server_error",  # 500
    "slow",  # answers after slow_seconds (past the client's timeout)
    "empty_choices",  # 200 with "choices": []
    "overlong",  # a runaway answer of many thousand characters
    "truncated",  # finish_reason "length"
    "injection",  # headings, </details>, <script> inside an otherwise good answer
    "wrong_language",  # English when Chinese was asked, Chinese otherwise
)

ENGLISH_ANSWER = """**1. Main contributions and novelty**
- The paper arXiv:{id} introduces a method that makes inference 2.1x faster.

**2. Method and experimental setup**
- Evaluated on 3 benchmarks with models of 7B and 70B parameters.

**3. Key results**
- Throughput improves by 41% at equal accuracy.

**4. Conclusions, limitations and future work**
- Limited to dense models; sparse models are future work."""

CHINESE_ANSWER = """**1. 主要贡献与创新点**
- 论文 arXiv:{id} 提出了一种使推理速度提升 2.1 倍的方法。

**2. 方法与实验设置**
- 在 3 个基准上评估，模型规模为 7B 和 70B 参数。

**3. 关键结果**
- 在准确率相同的情况下吞吐量提升 41%。

**4. 结论、局限性与未来工作**
- 目前仅适用于稠密模型，稀疏模型留待未来工作。"""

INJECTION = """### Injected heading
</details></details>
<script>alert("pwned")</script>
<img src=x onerror=alert(1)>
# Another heading
"""


class FakeLlm:
    """State of the fake: what to answer, and what it was asked (read from tests on any thread)."""

    def __init__(self, latency_seconds: float = 0.0) -> None:
        self.latency_seconds = latency_seconds
        self.slow_seconds = 5.0
        self.retry_after = "0.05"  # seconds, as the Retry-After header sends it
        self.calls: Counter[str] = Counter()  # HTTP requests per paper id (retries included)
        self.request_times: dict[str, list[float]] = {}
        self.prompts: dict[str, str] = {}  # the last prompt seen per paper id
        self.authorizations: set[str] = set()
        self.faults: dict[str, deque[str]] = {}
        self.default_fault: str | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.first_request = threading.Event()
        self.release = asyncio.Event()  # set by default; clear it to hold answers until set again
        self.release.set()
        self.stopping = asyncio.Event()  # ends "slow" answers early when the server shuts down

    def fail(self, arxiv_id: str, *faults: str) -> None:
        """The next requests for this paper get these faults in order, then normal answers."""
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {unknown}")
        self.faults[arxiv_id] = deque(faults)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def reset_counts(self) -> None:
        self.calls.clear()
        self.request_times.clear()

    def _next_fault(self, arxiv_id: str) -> str | None:
        queue = self.faults.get(arxiv_id)
        if queue:
            return queue.popleft()
        return self.default_fault

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        prompt = "\n".join(message["content"] for message in body["messages"])
        match = PAPER_ID.search(prompt)
        arxiv_id = match.group("id") if match else "?"
        self.calls[arxiv_id] += 1
        self.prompts[arxiv_id] = prompt
        self.request_times.setdefault(arxiv_id, []).append(time.monotonic())
        self.authorizations.add(request.headers.get("Authorization", ""))
        self.first_request.set()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.release.wait()
            if self.latency_seconds:
                await asyncio.sleep(self.latency_seconds)
            return await self._answer(body, prompt, arxiv_id, self._next_fault(arxiv_id))
        finally:
            self.in_flight -= 1

    async def _answer(self, body: dict, prompt: str, arxiv_id: str, fault: str | None) -> web.StreamResponse:
        if fault == "rate_limit":
            return web.json_response(
                {"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "rate_limit"}},
                status=429,
                headers={"retry-after": self.retry_after},
            )
        if fault == "server_error":
            return web.json_response(
                {"error": {"message": "internal error", "type": "server_error"}},
                status=500,
                headers={"retry-after": self.retry_after},
            )
        if fault == "slow":
            try:
                await asyncio.wait_for(self.stopping.wait(), self.slow_seconds)
            except asyncio.TimeoutError:
                pass
        chinese = bool(CJK.search(prompt))
        if fault == "wrong_language":
            chinese = not chinese
        content = (CHINESE_ANSWER if chinese else ENGLISH_ANSWER).format(id=arxiv_id)
        if fault == "overlong":
            content = content + ("\n- Furthermore, the results are significant." * 400)
        if fault == "injection":
            content = INJECTION + content
        choices = [] if fault == "empty_choices" else [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "length" if fault == "truncated" else "stop",
            }
        ]
        prompt_tokens = max(1, len(prompt) // 4)
        completion_tokens = max(1, len(content) // 4)
        return web.json_response(
            {
                "id": f"chatcmpl-{arxiv_id}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": choices,
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
            dumps=lambda value: json.dumps(value, ensure_ascii=False),
        )

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_post("/v1/chat/completions", self.handle)
        return application


class RunningFakeLlm:
    """A started fake: its state and the base_url to configure (…/v1)."""

    def __init__(self, fake: FakeLlm, server: LoopbackServer) -> None:
        self.fake = fake
        self.server = server

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/v1"

    def hold(self) -> None:
        """Hold every answer until release() (thread-safe: runs on the server's loop)."""
        self.server.call(self.fake.release.clear)

    def release(self) -> None:
        self.server.call(self.fake.release.set)


def start_fake_llm(latency_seconds: float = 0.0) -> tuple[RunningFakeLlm, LoopbackServer]:
    fake = FakeLlm(latency_seconds)
    server = LoopbackServer(fake.app())
    return RunningFakeLlm(fake, server), server
