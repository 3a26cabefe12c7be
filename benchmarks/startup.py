"""Benchmark: how long a newcomer waits for `arxiv-digest --help` and for `serve --web` to answer /healthz.

Run from the repository root: ``python -m benchmarks.startup [--runs N]``. No platform token and no LLM
key are passed on (the feeds-only deployment); arXiv points at a closed loopback port, so nothing leaves
the machine. Each figure is the median of N runs, printed next to `python -c pass` measured in the same
run, so a loaded machine shows up in the baseline rather than as a regression.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HELP_GOAL_SECONDS = 0.3
HEALTHZ_GOAL_SECONDS = 3.0
HEALTHZ_DEADLINE_SECONDS = 60.0
CLI = str(Path(sys.executable).parent / "arxiv-digest")
SECRETS = ("_TOKEN", "_SECRET", "_API_KEY", "_PUBLIC_KEY")


def _quiet_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.endswith(SECRETS)}


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=_quiet_env())
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_until_healthz(workdir: Path) -> float:
    """Seconds from starting `serve --web` until /healthz answers (any status)."""
    config = workdir / "config.json"
    config.write_text(json.dumps({"arxiv": {"feed_url": "http://127.0.0.1:9/rss/", "api_url": "http://127.0.0.1:9/api/query"}}))
    database = workdir / f"startup-{time.monotonic_ns()}.db"
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [CLI, "--config", str(config), "--database", str(database), "serve", "--web", "--port", str(port)],
        env=_quiet_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited with {process.returncode} before answering /healthz")
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if time.perf_counter() - started > HEALTHZ_DEADLINE_SECONDS:
                raise RuntimeError("serve never answered /healthz")
            time.sleep(0.01)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    baseline = statistics.median(_timed([sys.executable, "-c", "pass"]) for _ in range(runs))
    help_time = statistics.median(_timed([CLI, "--help"]) for _ in range(runs))
    with tempfile.TemporaryDirectory() as workdir:
        healthz_time = statistics.median(serve_until_healthz(Path(workdir)) for _ in range(runs))
    print(f"{'what':<28}{'median s':>10}{'x python -c pass':>18}{'goal s':>9}")
    print(f"{'python -c pass':<28}{baseline:>10.3f}{1:>18.1f}{'':>9}")
    for label, seconds, goal in (
        ("arxiv-digest --help", help_time, HELP_GOAL_SECONDS),
        ("serve --web until /healthz", healthz_time, HEALTHZ_GOAL_SECONDS),
    ):
        verdict = "ok" if seconds < goal else "SLOW"
        print(f"{label:<28}{seconds:>10.3f}{seconds / baseline:>18.1f}{goal:>9.1f} {verdict}")


if __name__ == "__main__":
    main()
