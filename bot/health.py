"""Named health checks for /healthz: each reports one part's state and whether it makes the service unhealthy."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class HealthState:
    """One check's answer: `value` is shown under `key`; a non-empty `problem` turns /healthz into a 503 naming it."""

    key: str
    value: object
    problem: str = ""


HealthCheck = Callable[[], Sequence[HealthState]]


def health_report(checks: Sequence[HealthCheck]) -> dict[str, object]:
    """Every check's states under their keys, and `status`: "ok" or "failing: " and the problems, in check order."""
    report: dict[str, object] = {}
    problems: list[str] = []
    for check in checks:
        for state in check():
            report[state.key] = state.value
            if state.problem:
                problems.append(state.problem)
    report["status"] = "ok" if not problems else "failing: " + ", ".join(problems)
    return report
