"""Submitting job runs after the response: one at a time per name, retried, every outcome logged.

Submissions are tasks on the event loop (`JobRuns` is asynchronous), at most `concurrency` at
once; one waiting for its turn or its next attempt costs no thread.

Deduplication has two layers: within this process, a name already being submitted is not
submitted again; across processes (replicas, restarts), the deterministic name makes Code Engine
answer 409, which counts as success.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import time
from collections.abc import Sequence

import structlog

from shared.errors import CertsyncError
from trigger.jobruns import JobRuns, Submitted
from trigger.runs import RunRequest

log = structlog.get_logger("certsync.trigger")


class Submitter:
    def __init__(self, job_runs: JobRuns, concurrency: int = 4) -> None:
        self._job_runs = job_runs
        self._concurrency = concurrency
        self._in_flight: set[str] = set()
        # Runs waiting for a worker, each with the context of the request that asked for it
        # (its bound log keys: notification_id, ...); at most `concurrency` workers drain it.
        self._queue: collections.deque[tuple[RunRequest, contextvars.Context]] = collections.deque()
        self._workers: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> frozenset[str]:
        """Runs queued or being submitted."""
        return frozenset(self._in_flight)

    async def submit_all(self, runs: Sequence[RunRequest]) -> None:
        """Queue the runs of one notification for submission; returns at once, never raises.

        Submissions belong to this submitter, not to the request that asked for them: a backlog
        of deferred submissions holds a few objects each (a request cycle kept waiting holds
        about a hundred, and a burst of thousands made the garbage collector's full passes stall
        the loop for ~100 ms), and queueing one costs the acknowledgement an append. `drain`
        waits for them.
        """
        context = contextvars.copy_context()
        self._queue.extend((run, context) for run in runs if self._claim(run.name))
        loop = asyncio.get_running_loop()
        while len(self._workers) < min(self._concurrency, len(self._queue)):
            worker = loop.create_task(self._work())
            self._workers.add(worker)  # the loop keeps only a weak reference
            worker.add_done_callback(self._workers.discard)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            run, context = self._queue.popleft()
            submission = self._submit_claimed(run.name, run.notification_json)
            await loop.create_task(submission, context=context)

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for every queued submission (on SIGTERM, once the
        server no longer takes requests); what is left is in `in_flight`."""
        if self._workers:
            await asyncio.wait(set(self._workers), timeout=timeout)

    async def submit(self, name: str, notification_json: str) -> None:
        """Submit run `name` now unless it is already queued or being submitted; never raises."""
        if self._claim(name):
            await self._submit_claimed(name, notification_json)

    def _claim(self, name: str) -> bool:
        """Mark `name` as being submitted, unless it already is. No `await` between the check
        and the add, so this is atomic on the loop."""
        if name in self._in_flight:
            log.info("job_run_skipped", ce_jobrun=name, reason="already being submitted")
            return False
        self._in_flight.add(name)
        return True

    async def _submit_claimed(self, name: str, notification_json: str) -> None:
        try:
            await self._submit(name, notification_json)
        finally:
            self._in_flight.discard(name)

    async def _submit(self, name: str, notification_json: str) -> None:
        started = time.monotonic()
        try:
            result = await self._job_runs.submit(name, notification_json)
        except CertsyncError as exc:
            log.error(
                "job_run_submit_failed",
                ce_jobrun=name,
                status=getattr(exc, "status", None),
                error=str(exc),
                error_type=type(exc).__name__,
                seconds=_since(started),
            )
            return
        except Exception:
            # A bug, not a service failure: log it with its traceback, keep serving.
            log.exception("job_run_submit_failed", ce_jobrun=name)
            return
        event = "job_run_submitted" if isinstance(result, Submitted) else "job_run_exists"
        log.info(event, ce_jobrun=name, attempts=result.attempts, seconds=_since(started))


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)
