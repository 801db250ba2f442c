"""Code Engine v2: the `JobRunStatus` of an execution, and each index's `IndexDetails`.

`last_failure_reason` follows the SDK's examples (`ContainerExitedCode1`); a timeout shows as
`DeadlineExceeded` (the Kubernetes reason; what real Code Engine reports is not documented).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from localcloud.code_engine.clock import iso
from localcloud.code_engine.runner import Attempt, Execution, Plan

STATES = ("pending", "running", "succeeded", "failed")


def status_details(execution: Execution) -> dict[str, Any]:
    """The SDK's `JobRunStatus` of an execution."""
    details: dict[str, Any] = {
        "requested": len(execution.plan.indices),
        "pending": len(execution.pending),
        "running": len(execution.running),
        "succeeded": len(execution.succeeded),
        "failed": len(execution.failed),
        "unknown": 0,
    }
    for state in STATES:
        indices: set[int] = getattr(execution, state)
        if indices:
            details[f"{state}_indices"] = format_indices(sorted(indices))
    attempts: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in execution.attempts:
        attempts[attempt.index].append(attempt)
    details["indices_details"] = {
        str(index): index_details(execution, index, attempts[index])
        for index in execution.plan.indices
    }
    if execution.start_time is not None:
        details["start_time"] = iso(execution.start_time)
    if execution.completion_time is not None:
        details["completion_time"] = iso(execution.completion_time)
    return details


def index_details(execution: Execution, index: int, attempts: list[Attempt]) -> dict[str, Any]:
    """The SDK's `IndexDetails` of one array index."""
    state = next((s for s in STATES if index in getattr(execution, s)), "pending")
    details: dict[str, Any] = {"status": state, "retries": max(0, len(attempts) - 1)}
    if index in execution.started:
        details["started_at"] = iso(execution.started[index])
    if index in execution.finished:
        details["finished_at"] = iso(execution.finished[index])
    reasons = [r for r in (failure_reason(a, execution.plan) for a in attempts) if r]
    if reasons:
        details["last_failure_reason"] = reasons[-1]
    return details


def failure_reason(attempt: Attempt, plan: Plan) -> str | None:
    if attempt.timed_out:
        return "DeadlineExceeded"
    if attempt.exit_code is None:
        return plan.reason  # None: cancelled before it started
    if attempt.exit_code < 0:  # killed by a signal: a container exits with 128 + signal
        return f"ContainerExitedCode{128 - attempt.exit_code}"
    return None if attempt.exit_code == 0 else f"ContainerExitedCode{attempt.exit_code}"


def format_indices(indices: list[int]) -> str:
    """[0, 1, 2, 5] -> "0-2,5" (the shape of `*_indices` in JobRunStatus)."""
    parts: list[str] = []
    for index in sorted(indices):
        if parts and index == int(parts[-1].split("-")[-1]) + 1:
            parts[-1] = f"{parts[-1].split('-')[0]}-{index}"
        else:
            parts.append(str(index))
    return ",".join(parts)
