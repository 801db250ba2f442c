"""Submitting job runs after the response: one at a time per name, retried, every outcome logged.

Deduplication has two layers: within this process, a name already being submitted is not
submitted again; across processes (replicas, restarts), the deterministic name makes Code Engine
answer 409, which counts as success.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog
from starlette.concurrency import run_in_threadpool

from shared.errors import CertsyncError
from trigger.jobruns import JobRuns, Submitted
from trigger.runs import RunRequest

log = structlog.get_logger("certsync.trigger")


class Submitter:
    def __init__(self, job_runs: JobRuns) -> None:
        self._job_runs = job_runs
        self._in_flight: set[str] = set()

    @property
    def in_flight(self) -> frozenset[str]:
        return frozenset(self._in_flight)

    async def submit_all(self, runs: Sequence[RunRequest]) -> None:
        """Submit the runs of one notification side by side; never raises."""
        await asyncio.gather(*(self.submit(run.name, run.notification_json) for run in runs))

    async def submit(self, name: str, notification_json: str) -> None:
        """Submit run `name` unless it is already being submitted; never raises.

        Runs on the event loop (as a response's background task); the blocking SDK call and the
        adapter's waits between attempts happen in a worker thread. Check-and-add has no `await`
        between, so it is atomic on the loop.
        """
        if name in self._in_flight:
            log.info("job_run_skipped", ce_jobrun=name, reason="already being submitted")
            return
        self._in_flight.add(name)
        try:
            await run_in_threadpool(self._submit_blocking, name, notification_json)
        finally:
            self._in_flight.discard(name)

    def _submit_blocking(self, name: str, notification_json: str) -> None:
        started = time.monotonic()
        try:
            result = self._job_runs.submit(name, notification_json)
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
