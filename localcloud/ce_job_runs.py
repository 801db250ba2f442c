"""Code Engine v2 emulator: the project's job runs as the API shows them, and their limits.

- Quota: "You are limited to 100 job runs per project before you need to remove or clean up old
  ones" (docs `limits.md` "Project quotas"; `ts-jobrun-deleteforquota.md`), whatever their state
  and job. The 101st is refused with 403 `exceeded_quota`. Neither status nor message is
  documented: Code Engine runs on Kubernetes, whose ResourceQuota admission refuses with 403
  Forbidden "exceeded quota" (seen through Code Engine for configmaps in lithops-cloud/lithops#536).
  Kubernetes admits before it stores, so the quota is checked before a name conflict (409).
- Retention: "Job runs that complete are automatically deleted after one week" (docs `run-job`,
  `job-plan` #job-cleanup, `ts-jobrun-deleted.md`); completed and failed runs both count. Runs
  created by subscriptions go after ten minutes; the emulator has no subscriptions. The sweep is
  lazy, at the start of every job-run call, against the emulator's clock.
- Construction: a run referencing a job inherits the job's settings; its own override them.
- Rendering: `status_details` carries every field of the SDK's `JobRunStatus`, `indices_details`
  (`IndexDetails`) included. `last_failure_reason` follows the SDK's examples
  (`ContainerExitedCode1`); a timeout shows as `DeadlineExceeded` (the Kubernetes reason; what
  real Code Engine reports is not documented).
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from localcloud import ce_jobs
from localcloud.ce_common import conflict, invalid, iso, not_found
from localcloud.ce_runner import Attempt, Execution, Plan, Runner
from localcloud.http import BadRequest

MAX_JOB_RUNS = 100
RETENTION = dt.timedelta(days=7)
STATES = ("pending", "running", "succeeded", "failed")


class JobRuns:
    """Job runs and their executions by name. Callers pass `now`; every method takes the lock."""

    def __init__(self, lock: threading.RLock, runner: Runner) -> None:
        self._lock = lock
        self._runner = runner
        self._runs: dict[str, dict[str, Any]] = {}
        self._executions: dict[str, Execution] = {}

    def add(
        self, run: dict[str, Any], plan: Plan, *, now: dt.datetime, quota: int
    ) -> dict[str, Any]:
        """Store `run` and start executing `plan`: 403 when the project is full, 409 on a
        duplicate name."""
        with self._lock:
            self._sweep(now)
            if len(self._runs) >= quota:
                raise quota_exceeded(len(self._runs), quota)
            if run["name"] in self._runs:
                raise conflict("Job run", run["name"])
            self._runs[run["name"]] = run
            self._executions[run["name"]] = self._runner.start(plan)
            return self._render(run["name"])

    def get(self, name: str, now: dt.datetime) -> dict[str, Any]:
        with self._lock:
            self._sweep(now)
            if name not in self._runs:
                raise not_found("Job run", name)
            return self._render(name)

    def delete(self, name: str, now: dt.datetime) -> None:
        with self._lock:
            self._sweep(now)
            if self._runs.pop(name, None) is None:
                raise not_found("Job run", name)
            execution = self._executions.pop(name)
        self._runner.cancel(execution)

    def select(self, job_name: str | None, now: dt.datetime) -> list[dict[str, Any]]:
        with self._lock:
            self._sweep(now)
            return [
                self._render(name)
                for name, run in self._runs.items()
                if job_name is None or run.get("job_name") == job_name
            ]

    def execution(self, name: str) -> Execution:
        """The execution of a run that still exists (KeyError otherwise)."""
        with self._lock:
            return self._executions[name]

    def attempts(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return [attempt.to_dict() for attempt in self._executions[name].attempts]

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

    def _render(self, name: str) -> dict[str, Any]:
        run = copy.deepcopy(self._runs[name])
        execution = self._executions[name]
        run["status"] = execution.status
        run["status_details"] = status_details(execution)
        return run


def run_settings(
    body: Mapping[str, Any], settings: dict[str, Any], jobs: Mapping[str, Mapping[str, Any]]
) -> tuple[str | None, str, dict[str, Any]]:
    """(job name, run name, settings with defaults) of a new run: the settings of the job it
    references, overridden by its own (env variables by name); 400 or 404 as the API."""
    job_name = body.get("job_name")
    if job_name is None:
        if "name" not in body or "image_reference" not in body:
            raise invalid("A job run without 'job_name' requires 'name' and 'image_reference'")
        base: dict[str, Any] = {}
    else:
        job_name = ce_jobs.job_name_of(job_name)
        for field in ("image_secret", "run_service_account"):
            if field in settings:
                raise invalid(f"'{field}' must not be set on a job run that references a job")
        if job_name not in jobs:
            raise not_found("Job", job_name)
        base = {k: v for k, v in jobs[job_name].items() if k in ce_jobs.JOB_FIELDS}
    raw_name = body.get("name")
    name = (
        ce_jobs.run_name_of(raw_name)
        if raw_name is not None
        else ce_jobs.generated_run_name(str(job_name))
    )
    merged = {**base, **settings}
    merged["run_env_variables"] = ce_jobs.merge_env(
        base.get("run_env_variables", []), settings.get("run_env_variables", [])
    )
    merged.pop("name", None)
    ce_jobs.check_mode(merged if merged.get("run_mode") == "daemon" else settings)
    return job_name, name, ce_jobs.with_defaults(merged)


def quota_exceeded(held: int, quota: int) -> BadRequest:
    return BadRequest(
        f"job run quota exceeded: the project holds {held} job runs (limit {quota}); "
        "delete finished job runs or wait for them to be deleted",
        status=403,
        code="exceeded_quota",
    )


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
            details[f"{state}_indices"] = ce_jobs.format_indices(sorted(indices))
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
