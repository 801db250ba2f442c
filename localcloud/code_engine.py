"""Code Engine v2: projects, secrets, jobs and job runs, with job runs executed as local processes.

HTTP routes live in `ce_routes`, validation in `ce_common`/`ce_secrets`/`ce_jobs`, execution in
`ce_runner`. This class holds the state (guarded by `cloud.lock`) and the operations shared by the
HTTP API and in-process callers (the Event Notifications emulator calls `submit_job_run`).

Images map to local commands with `register_image(image_reference, argv, cwd=..., env=...)`.
Injected into every instance, as Code Engine does: CE_PROJECT_ID, CE_REGION, CE_JOB, CE_JOBRUN,
CE_API_BASE_URL (the emulator's base URL; the real value is the region's *private* endpoint
`https://api.private.<region>.codeengine.cloud.ibm.com`), JOB_INDEX, JOB_INDEX_RETRY_COUNT,
JOB_ARRAY_SIZE. Injected values win over user env variables of the same name (unknown for real).

Documented limits, each an attribute tests may change: a job or job run of at most 10 KiB
(`ce_common.check_size`; 400), job-run names of at most 53 characters (`ce_jobs`; 400),
`max_job_runs` per project (100; 403 `exceeded_quota`) and the one-week retention of finished
runs (`ce_job_runs`), `max_running_instances` running at once, the rest queued (250; `ce_runner`).
`clock` is the emulator's now (`clock.advance(timedelta)` moves it): it stamps `created_at`,
start and completion times, and decides which finished runs have expired.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

from localcloud import ce_jobs, ce_secrets
from localcloud.ce_common import (
    JOB_NAME,
    SECRET_NAME,
    Clock,
    EntityTags,
    check_if_match,
    check_name,
    check_size,
    conflict,
    invalid,
    iso,
    not_found,
    project_body,
)
from localcloud.ce_job_runs import MAX_JOB_RUNS, JobRuns, run_settings
from localcloud.ce_plan import build_plan
from localcloud.ce_runner import MAX_RUNNING_INSTANCES, Image, Runner

if TYPE_CHECKING:
    from localcloud.cloud import LocalCloud


class CodeEngine:
    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.clock = Clock()
        self.tags = EntityTags()
        self.images: dict[str, Image] = {}
        self._secrets: dict[str, dict[str, Any]] = {}
        self._jobs: dict[str, dict[str, Any]] = {}
        self._runner = Runner(cloud.lock, self._now, MAX_RUNNING_INSTANCES)
        self._job_runs = JobRuns(cloud.lock, self._runner)
        self.created_at = iso(self.clock())
        self.pending_seconds = 0.0  # how long a new job run stays `pending` before it starts
        self.max_job_runs = MAX_JOB_RUNS  # job runs the project holds, in any state

    def _now(self) -> dt.datetime:
        return self.clock()  # looked up at each call: a test may replace the clock

    @property
    def max_running_instances(self) -> int:
        """Instances that run at once over all job runs; the others stay `pending`."""
        return self._runner.max_running

    @max_running_instances.setter
    def max_running_instances(self, value: int) -> None:
        self._runner.max_running = value

    def routes(self) -> list[BaseRoute]:
        from localcloud.ce_routes import routes

        return routes(self)

    def shutdown(self) -> None:
        """Kill running instances and join the runner threads."""
        self._runner.shutdown()

    # -- identity ---------------------------------------------------------------------------
    @property
    def project_id(self) -> str:
        return self.cloud.identity.project_id

    def href(self, *parts: str) -> str:
        return "/".join([self.cloud.code_engine_url, "projects", self.project_id, *parts])

    def project(self) -> dict[str, Any]:
        return project_body(self.cloud.identity, self.cloud.code_engine_url, self.created_at)

    def _meta(self, kind: str, name: str, collection: str) -> dict[str, Any]:
        return ce_jobs.resource_meta(
            name=name,
            project_id=self.project_id,
            region=self.cloud.identity.region,
            href=self.href(collection, name),
            created_at=iso(self.clock()),
            kind=kind,
        )

    # -- secrets ----------------------------------------------------------------------------
    def create_secret(self, body: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"format", "name", "data", "service_access", "service_operator"}
        if unknown:
            raise invalid(f"Unknown field(s): {', '.join(sorted(unknown))}")
        name = check_name(body.get("name"), SECRET_NAME, 253)
        fmt = ce_secrets.check_format(body.get("format"))
        data = ce_secrets.check_data(fmt, body.get("data"))
        return self.put_secret(name, fmt, data, replace=False)

    def put_secret(
        self,
        name: str,
        fmt: str,
        data: Mapping[str, str],
        *,
        replace: bool = True,
        generated_by: str = "user",
    ) -> dict[str, Any]:
        """Store a secret (tests use this for seeding); validated like the API does."""
        check_name(name, SECRET_NAME, 253)
        data = ce_secrets.check_data(ce_secrets.check_format(fmt), dict(data))
        with self.cloud.lock:
            if name in self._secrets and not replace:
                raise conflict("Secret", name)
            secret = ce_secrets.new_secret(
                name=name,
                fmt=fmt,
                data=data,
                project_id=self.project_id,
                region=self.cloud.identity.region,
                href=self.href("secrets", name),
                entity_tag=self.tags.next(),
                created_at=iso(self.clock()),
                generated_by=generated_by,
            )
            old = self._secrets.get(name)
            if old is not None:
                secret.update({k: old[k] for k in ("created_at", "id", "generated_by")})
            self._secrets[name] = secret
            return copy.deepcopy(secret)

    def replace_secret(
        self, name: str, if_match: str | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PUT semantics; `If-Match` as `check_if_match` requires."""
        unknown = set(body) - {"format", "data"}
        if unknown:
            raise invalid(f"Unknown field(s): {', '.join(sorted(unknown))}")
        with self.cloud.lock:
            current = self._secrets.get(name)
            if current is None:
                raise not_found("Secret", name)
            check_if_match("Secret", name, if_match, current["entity_tag"])
            fmt = ce_secrets.check_format(body.get("format"))
            if fmt != current["format"]:
                raise invalid(f"The format of secret '{name}' cannot be changed")
            data = ce_secrets.check_data(fmt, body.get("data"))
            return self.put_secret(name, fmt, data)

    def get_secret(self, name: str) -> dict[str, Any]:
        with self.cloud.lock:
            if name not in self._secrets:
                raise not_found("Secret", name)
            return copy.deepcopy(self._secrets[name])

    def delete_secret(self, name: str) -> None:
        with self.cloud.lock:
            if self._secrets.pop(name, None) is None:
                raise not_found("Secret", name)

    def secret(self, name: str) -> dict[str, Any] | None:
        """The stored secret (with `data`), or None."""
        with self.cloud.lock:
            found = self._secrets.get(name)
            return None if found is None else copy.deepcopy(found)

    @property
    def secrets(self) -> dict[str, dict[str, Any]]:
        with self.cloud.lock:
            return copy.deepcopy(self._secrets)

    # -- jobs -------------------------------------------------------------------------------
    def create_job(self, body: Mapping[str, Any], *, size: int | None = None) -> dict[str, Any]:
        """`size`: the request body's bytes (None: measure `body`, see `check_size`)."""
        check_size(body, size, "job")
        name = check_name(body.get("name"), JOB_NAME, 63)
        if "image_reference" not in body:
            raise invalid("'image_reference' is required")
        settings = ce_jobs.job_settings(body, allowed=ce_jobs.JOB_FIELDS)
        settings.pop("name", None)
        ce_jobs.check_mode(settings)
        with self.cloud.lock:
            if name in self._jobs:
                raise conflict("Job", name)
            job = {**self._meta("job_v2", name, "jobs"), **ce_jobs.with_defaults(settings)}
            job["entity_tag"] = self.tags.next()
            job["computed_env_variables"] = ce_jobs.computed_env(self._injected(name))
            self._jobs[name] = job
            return copy.deepcopy(job)

    def update_job(
        self, name: str, if_match: str | None, patch: Mapping[str, Any], *, size: int | None = None
    ) -> dict[str, Any]:
        """JSON merge patch with the same If-Match rules as `replace_secret`."""
        check_size(patch, size, "job")
        settings = ce_jobs.job_settings(patch, allowed=ce_jobs.PATCH_FIELDS)
        with self.cloud.lock:
            job = self._jobs.get(name)
            if job is None:
                raise not_found("Job", name)
            check_if_match("Job", name, if_match, job["entity_tag"])
            updated = {**job, **settings}
            ce_jobs.check_mode(updated if updated["run_mode"] == "daemon" else settings)
            updated["entity_tag"] = self.tags.next()
            self._jobs[name] = updated
            return copy.deepcopy(updated)

    def get_job(self, name: str) -> dict[str, Any]:
        with self.cloud.lock:
            if name not in self._jobs:
                raise not_found("Job", name)
            return copy.deepcopy(self._jobs[name])

    def delete_job(self, name: str) -> None:
        with self.cloud.lock:
            if self._jobs.pop(name, None) is None:
                raise not_found("Job", name)

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        with self.cloud.lock:
            return copy.deepcopy(self._jobs)

    # -- job runs ---------------------------------------------------------------------------
    def register_image(
        self,
        image_reference: str,
        argv: list[str],
        *,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Make `image_reference` run `argv` locally (its entrypoint; run_arguments append)."""
        self.images[image_reference] = Image(list(argv), cwd, dict(env or {}))

    def submit_job_run(
        self,
        job_name: str,
        *,
        run_env_variables: list[dict[str, str]] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """In-process equivalent of `POST /job_runs` with `job_name` (raises BadRequest)."""
        body: dict[str, Any] = {"job_name": job_name}
        if run_env_variables is not None:
            body["run_env_variables"] = run_env_variables
        if name is not None:
            body["name"] = name
        return self.create_job_run(body)

    def create_job_run(self, body: Mapping[str, Any], *, size: int | None = None) -> dict[str, Any]:
        """`size`: the request body's bytes (None: measure `body`, see `check_size`)."""
        check_size(body, size, "job run")
        settings = ce_jobs.job_settings(body, allowed=ce_jobs.RUN_FIELDS)
        with self.cloud.lock:
            run = self._new_run(body, settings)
            plan = build_plan(run, self.images, self._secrets, self.pending_seconds)
            return self._job_runs.add(run, plan, now=self.clock(), quota=self.max_job_runs)

    def _new_run(self, body: Mapping[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
        job_name, name, merged = run_settings(body, settings, self._jobs)
        run = {**self._meta("job_run_v2", name, "job_runs"), **merged}
        if job_name is not None:
            run["job_name"] = job_name
        run["computed_env_variables"] = ce_jobs.computed_env(
            {**self._injected(job_name or name), "CE_JOBRUN": name}
        )
        return run

    def _injected(self, job: str) -> dict[str, str]:
        return {
            "CE_API_BASE_URL": self.cloud.url,
            "CE_JOB": job,
            "CE_PROJECT_ID": self.project_id,
            "CE_REGION": self.cloud.identity.region,
        }

    def get_job_run(self, name: str) -> dict[str, Any]:
        return self._job_runs.get(name, self.clock())

    def delete_job_run(self, name: str) -> None:
        self._job_runs.delete(name, self.clock())

    def list_job_runs(self, job_name: str | None = None) -> list[dict[str, Any]]:
        return self._job_runs.select(job_name, self.clock())

    @property
    def job_runs(self) -> dict[str, dict[str, Any]]:
        return {run["name"]: run for run in self.list_job_runs()}

    def wait_for_job_run(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """Block until the run is completed or failed (all attempts recorded)."""
        execution = self._job_runs.execution(name)
        if not execution.done.wait(timeout):
            raise TimeoutError(f"job run {name} still {execution.status} after {timeout}s")
        return self.get_job_run(name)

    def job_run_attempts(self, name: str) -> list[dict[str, Any]]:
        """Every attempt: index, retry, exit_code, stdout, stderr, timed_out."""
        return self._job_runs.attempts(name)

    def job_run_logs(self, name: str, *, index: int | None = None) -> str:
        """stdout then stderr of every attempt (optionally of one index), in completion order."""
        attempts = self.job_run_attempts(name)
        return "".join(
            a["stdout"] + a["stderr"] for a in attempts if index is None or a["index"] == index
        )
