"""The one retry layer: tenacity around single adapter calls.

Retries only `RetryableError`; stops on attempts AND total time; exponential backoff with full
jitter; honours `Retry-After` (never waiting past the total budget). The policy carries its `sleep`,
so a test passes a policy that records the waits instead of sleeping.

The rule, on both sides: an adapter retries each of its own calls under the policy it was given;
its callers only log what came of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from shared.errors import RetryableError

T = TypeVar("T")
log = structlog.get_logger("certsync.retry")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    total_seconds: float = 60.0
    initial_wait: float = 0.5
    max_wait: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)


class _Wait:
    """Exponential backoff with jitter, or the server's Retry-After when that is longer."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = wait_random_exponential(multiplier=policy.initial_wait, max=policy.max_wait)
        self._budget = policy.total_seconds

    def __call__(self, state: RetryCallState) -> float:
        wait = float(self._backoff(state))
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RetryableError) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return min(wait, self._budget)


class _StopBeforeBudget(stop_base):
    """Stop when the next wait would end past the total budget.

    Time slept counts as well as the clock, so an injected `sleep` spends the same budget.
    """

    def __init__(self, budget: float) -> None:
        self._budget = budget

    def __call__(self, state: RetryCallState) -> bool:
        elapsed = max(state.seconds_since_start or 0.0, state.idle_for)
        return elapsed + state.upcoming_sleep >= self._budget


def _rules(policy: RetryPolicy, operation: str) -> dict[str, Any]:
    """The stop, wait, retry and logging rules both forms share."""
    return {
        "stop": stop_after_attempt(policy.attempts) | _StopBeforeBudget(policy.total_seconds),
        "wait": _Wait(policy),
        "retry": retry_if_exception_type(RetryableError),
        "before_sleep": _log_retry(operation),
        "reraise": True,
    }


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy, *, operation: str) -> T:
    """Run `fn`, retrying RetryableError under `policy`; the last error propagates unchanged."""
    return Retrying(sleep=policy.sleep, **_rules(policy, operation))(fn)


async def call_with_retry_async(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    operation: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """`call_with_retry` for a coroutine (the trigger's submissions, on its event loop): the same
    rules; it waits with `sleep` instead of `policy.sleep`."""
    return await AsyncRetrying(sleep=sleep, **_rules(policy, operation))(fn)


def _log_retry(operation: str) -> Callable[[RetryCallState], None]:
    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "call_retried",
            operation=operation,
            attempt=state.attempt_number,
            wait_seconds=round(state.upcoming_sleep, 3),
            status=getattr(error, "status", None),
            error=str(error),
        )

    return before_sleep


@dataclass(frozen=True)
class Waits:
    """How `poll` spaces its checks: doubling from `initial` up to `maximum` seconds."""

    initial: float = 1.0
    maximum: float = 15.0


def poll(
    check: Callable[[], T | None],
    *,
    timeout: float,
    waits: Waits = Waits(),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T | None:
    """Call `check` until it returns something other than None or `timeout` seconds have passed
    (then None): waiting for a state to arrive, not retrying a failure. Waits double from
    `waits.initial` up to `waits.maximum` and never overshoot the deadline; `check` runs at least
    once.
    """
    deadline = clock() + timeout
    wait = waits.initial
    while True:
        result = check()
        remaining = deadline - clock()
        if result is not None or remaining <= 0:
            return result
        sleep(min(wait, remaining))
        wait = min(wait * 2, waits.maximum)
