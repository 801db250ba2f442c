"""Code Engine job runs behind the calls the trigger makes; the SDK stays on this side.

Each attempt is the SDK's own `create_job_run`, as it ships (it builds, authenticates and sends
the request with `requests`, and raises its `ApiException`), run in a small pool of worker
threads so that the event loop goes on answering notifications. Its exceptions become our
errors by the one status table (`shared.sdk.call_once`), exactly as for the job's calls; the
waits between attempts are on the event loop, where a waiting submission holds no thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2, EnvVarPrototype

from shared.errors import CertsyncError, ConflictError, QuotaExceededError, RetryableError
from shared.retry import RetryPolicy, call_with_retry_async
from shared.runs import RunHistory
from shared.sdk import call_once
from trigger.runs import NOTIFICATION_VARIABLE

T = TypeVar("T")


@dataclass(frozen=True)
class Submitted:
    name: str
    attempts: int = 1


@dataclass(frozen=True)
class AlreadyExists:
    """A run with this name exists: an earlier delivery of the same notification submitted it."""

    name: str
    attempts: int = 1


class JobRuns(Protocol):
    async def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        """Start run `name` of the job with the notification (retrying transient failures);
        raise a `CertsyncError` when it cannot be done."""
        ...


@dataclass(frozen=True)
class Job:
    """The job whose runs are submitted: the Code Engine client, its project and its name."""

    client: CodeEngineV2
    project_id: str
    name: str


@dataclass(frozen=True)
class Timing:
    """What time it is (for pruning) and how to wait between attempts; tests pass their own."""

    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class CodeEngineJobRuns:
    """`JobRuns` over the Code Engine SDK, `workers` calls at a time, retried under `policy`.

    When the project's job-run quota is full, the job's own finished runs beyond the retention
    are deleted (`history`; its calls are part of this attempt and not retried on their own)
    and the submission is tried again under the same policy; runs of other jobs are never
    touched.
    """

    def __init__(
        self,
        job: Job,
        *,
        policy: RetryPolicy,
        history: RunHistory,
        workers: int = 4,
        timing: Timing = Timing(),
    ) -> None:
        self._job = job
        self._policy = policy
        self._history = history
        self._timing = timing
        # The SDK's calls block: each runs in one of these threads (the client's connection pool
        # is sized to match in trigger/__main__.py).
        self._threads = ThreadPoolExecutor(workers, thread_name_prefix="certsync-submit")

    async def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        attempts = 0

        async def attempt() -> Submitted | AlreadyExists:
            nonlocal attempts
            attempts += 1
            return await self._create(name, notification_json, attempts)

        what = f"create job run {name!r} of job {self._job.name!r}"
        return await call_with_retry_async(
            attempt, self._policy, operation=what, sleep=self._timing.sleep
        )

    def close(self) -> None:
        """Let the worker threads end (calls already started finish first)."""
        self._threads.shutdown(wait=False)

    async def _create(
        self, name: str, notification_json: str, attempts: int
    ) -> Submitted | AlreadyExists:
        what = f"create job run {name!r} of job {self._job.name!r}"
        variable = EnvVarPrototype(
            type="literal", name=NOTIFICATION_VARIABLE, value=notification_json
        )
        request = functools.partial(
            self._job.client.create_job_run,
            self._job.project_id,
            job_name=self._job.name,
            name=name,
            run_env_variables=[variable],
        )
        try:
            await self._in_thread(functools.partial(call_once, request, what=what))
        except ConflictError as exc:
            if exc.status == 409:
                return AlreadyExists(name, attempts)
            raise
        except QuotaExceededError as exc:
            raise await self._make_room(exc) from None
        return Submitted(name, attempts)

    async def _make_room(self, refused: QuotaExceededError) -> CertsyncError:
        try:
            pruned = await self._in_thread(
                functools.partial(self._history.prune, self._timing.now())
            )
        except CertsyncError as exc:
            return RetryableError(f"{refused}; deleting finished job runs failed too: {exc}")
        return RetryableError(
            f"{refused}; deleted {len(pruned.deleted)} finished run(s) of job "
            f"{self._job.name!r} to make room",
            status=refused.status,
        )

    async def _in_thread(self, call: Callable[[], T]) -> T:
        """`call` in a worker thread, with this task's context (its bound log keys), as
        `asyncio.to_thread` does, but in this adapter's own bounded pool."""
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(context.run, call))
