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

import builtins  # `list` in annotations: the class has a `list` method
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from localcloud.code_engine import job_settings
from localcloud.code_engine.checks import check_size, conflict, not_found
from localcloud.code_engine.cr_tokens import with_token_file
from localcloud.code_engine.model import Job, JobRun
from localcloud.code_engine.plan import build_plan
from localcloud.code_engine.runner import MAX_RUNNING_INSTANCES, Execution, Plan, Runner
from localcloud.code_engine.scope import Runtime, Scope
from localcloud.http import BadRequest

MAX_JOB_RUNS = 100
RETENTION = dt.timedelta(days=7)


class JobRuns:
    """Job runs and their executions by name; every method takes the project's lock (the
    runner's too, so that a caller holding it sees a consistent execution)."""

    def __init__(
        self, scope: Scope, runtime: Runtime, *, jobs: Callable[[], Mapping[str, Job]]
    ) -> None:
        """`jobs()`: the project's jobs by name, which runs reference."""
        self._scope = scope
        self._runtime = runtime
        self._jobs = jobs
        self._runner = Runner(scope.lock, scope.now, MAX_RUNNING_INSTANCES)
        self._runs: dict[str, JobRun] = {}
        self._executions: dict[str, Execution] = {}
        self.max_job_runs = MAX_JOB_RUNS  # job runs the project holds, in any state
        self.pending_seconds = 0.0  # how long a new job run stays `pending` before it starts

    @property
    def max_running_instances(self) -> int:
        """Instances that run at once over all job runs; the others stay `pending`."""
        return self._runner.max_running

    @max_running_instances.setter
    def max_running_instances(self, value: int) -> None:
        self._runner.max_running = value

    # -- the API ----------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any], *, size: int | None = None) -> dict[str, Any]:
        """`size`: the request body's bytes (None: measure `body`, see `check_size`)."""
        settings = job_settings.job_settings(body, allowed=job_settings.RUN_FIELDS)
        scope, runtime = self._scope, self._runtime
        with scope.lock:
            jobs = self._jobs()
            job = jobs.get(str(body.get("job_name")))
            check_size(body, size, "job run", job=(job.name, job.spec.to_dict()) if job else None)
            run = job_settings.new_run(body, settings, jobs, scope.now())
            project = scope.project()
            plan = build_plan(
                run, run.injected(project), runtime.images, runtime.lookups, self.pending_seconds
            )
            token_file = f"jobrun-{run.id}"  # a run of the same name may exist (409)
            if run.spec.run_compute_resource_token_enabled and plan.error is None:
                token = runtime.issue_token("job", run.job_name or run.name)
                plan.env = with_token_file(plan.env, runtime.tokens.write(token_file, token))
            try:
                execution = self._add(run, plan)
            except BadRequest:
                runtime.tokens.remove(token_file)
                raise
            return run.to_dict(project, execution)

    def get(self, name: str) -> dict[str, Any]:
        with self._scope.lock:
            self._sweep(self._scope.now())
            if name not in self._runs:
                raise not_found("Job run", name)
            return self._runs[name].to_dict(self._scope.project(), self._executions[name])

    def delete(self, name: str) -> None:
        with self._scope.lock:
            self._sweep(self._scope.now())
            if self._runs.pop(name, None) is None:
                raise not_found("Job run", name)
            execution = self._executions.pop(name)
        self._runner.cancel(execution)

    def list(self, job_name: str | None = None) -> builtins.list[dict[str, Any]]:
        with self._scope.lock:
            self._sweep(self._scope.now())
            project = self._scope.project()
            return [
                run.to_dict(project, self._executions[name])
                for name, run in self._runs.items()
                if job_name is None or run.job_name == job_name
            ]

    # -- the control plane --------------------------------------------------------------------
    def submit(
        self,
        job_name: str,
        *,
        run_env_variables: builtins.list[dict[str, str]] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """In-process equivalent of `POST /job_runs` with `job_name` (raises BadRequest)."""
        body: dict[str, Any] = {"job_name": job_name}
        if run_env_variables is not None:
            body["run_env_variables"] = run_env_variables
        if name is not None:
            body["name"] = name
        return self.create(body)

    def wait(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """Block until the run is completed or failed (all attempts recorded)."""
        execution = self._execution(name)
        if not execution.done.wait(timeout):
            raise TimeoutError(f"job run {name} still {execution.status} after {timeout}s")
        return self.get(name)

    def attempts(self, name: str) -> builtins.list[dict[str, Any]]:
        """Every attempt: index, retry, exit_code, stdout, stderr, timed_out."""
        with self._scope.lock:
            return [attempt.to_dict() for attempt in self._execution(name).attempts]

    def logs(self, name: str, *, index: int | None = None) -> str:
        """stdout then stderr of every attempt (optionally of one index), in completion order."""
        return "".join(
            a["stdout"] + a["stderr"]
            for a in self.attempts(name)
            if index is None or a["index"] == index
        )

    def shutdown(self) -> None:
        """Kill running instances and join the runner's threads."""
        self._runner.shutdown()

    # -- internals ----------------------------------------------------------------------------
    def _add(self, run: JobRun, plan: Plan) -> Execution:
        """Store `run` and start executing `plan`: 400 when the project is full, 409 on a
        duplicate name (lock held)."""
        self._sweep(self._scope.now())
        if len(self._runs) >= self.max_job_runs:
            raise quota_exceeded(len(self._runs), self.max_job_runs)
        if run.name in self._runs:
            raise conflict("Job run", run.name)
        self._runs[run.name] = run
        execution = self._executions[run.name] = self._runner.start(plan)
        return execution

    def _execution(self, name: str) -> Execution:
        """The execution of a run that still exists (KeyError otherwise)."""
        with self._scope.lock:
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
