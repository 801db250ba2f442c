"""Code Engine v2: the project's job runs and their executions, and the limits on them.

- Quota: "You are limited to 100 job runs per project before you need to remove or clean up old
  ones" (docs `limits.md` "Project quotas"; `ts-jobrun-deleteforquota.md`), whatever their state
  and job. Neither the status nor the message of the refusal is documented. Code Engine runs on
  Kubernetes, whose ResourceQuota admission refuses with 403 Forbidden "exceeded quota" (seen
  through Code Engine for configmaps in lithops-cloud/lithops#536), but Code Engine's own API may
  check its limit first and answer otherwise. Stricter choice: the 101st is refused with 400
  `limit_exceeded`, worded after the docs ("You are limited to 100 job runs per project"), so a
  client must recognise a refusal that names a quota or a limit, whatever its 4xx status.
  Kubernetes admits before it stores, so the quota is checked before a name conflict (409).
- Retention: "Job runs that complete are automatically deleted after one week" (docs `run-job`,
  `job-plan` #job-cleanup, `ts-jobrun-deleted.md`); completed and failed runs both count. Runs
  created by subscriptions go after ten minutes; the emulator has no subscriptions. The sweep is
  lazy, at the start of every job-run call, against the emulator's clock.
"""

from __future__ import annotations

import datetime as dt
import threading

from localcloud.code_engine.checks import conflict, not_found
from localcloud.code_engine.model import JobRun
from localcloud.code_engine.runner import Execution, Plan, Runner
from localcloud.http import BadRequest

MAX_JOB_RUNS = 100
RETENTION = dt.timedelta(days=7)


class JobRuns:
    """Job runs and their executions by name. Callers pass `now`; every method takes the lock
    (the runner's, so that a caller holding it sees a consistent execution)."""

    def __init__(self, lock: threading.RLock, runner: Runner) -> None:
        self._lock = lock
        self._runner = runner
        self._runs: dict[str, JobRun] = {}
        self._executions: dict[str, Execution] = {}

    def add(self, run: JobRun, plan: Plan, *, now: dt.datetime, quota: int) -> Execution:
        """Store `run` and start executing `plan`: 400 when the project is full, 409 on a
        duplicate name."""
        with self._lock:
            self._sweep(now)
            if len(self._runs) >= quota:
                raise quota_exceeded(len(self._runs), quota)
            if run.name in self._runs:
                raise conflict("Job run", run.name)
            self._runs[run.name] = run
            execution = self._executions[run.name] = self._runner.start(plan)
            return execution

    def get(self, name: str, now: dt.datetime) -> tuple[JobRun, Execution]:
        with self._lock:
            self._sweep(now)
            if name not in self._runs:
                raise not_found("Job run", name)
            return self._runs[name], self._executions[name]

    def delete(self, name: str, now: dt.datetime) -> None:
        with self._lock:
            self._sweep(now)
            if self._runs.pop(name, None) is None:
                raise not_found("Job run", name)
            execution = self._executions.pop(name)
        self._runner.cancel(execution)

    def select(self, job_name: str | None, now: dt.datetime) -> list[tuple[JobRun, Execution]]:
        with self._lock:
            self._sweep(now)
            return [
                (run, self._executions[name])
                for name, run in self._runs.items()
                if job_name is None or run.job_name == job_name
            ]

    def execution(self, name: str) -> Execution:
        """The execution of a run that still exists (KeyError otherwise)."""
        with self._lock:
            return self._executions[name]

    def _sweep(self, now: dt.datetime) -> None:
        expired = [
            name
            for name, execution in self._executions.items()
            if execution.completion_time is not None
            and now - execution.completion_time >= RETENTION
        ]
        for name in expired:
            del self._runs[name]
            del self._executions[name]


def quota_exceeded(held: int, quota: int) -> BadRequest:
    return BadRequest(
        f"You are limited to {quota} job runs per project and the project holds {held}; "
        "delete finished job runs or wait for them to be deleted",
        status=400,
        code="limit_exceeded",
    )
