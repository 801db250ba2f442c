"""Code Engine v2: projects, secrets, jobs and job runs, with job runs executed as local processes.

HTTP routes live in `ce_routes`, validation in `ce_common`/`ce_secrets`/`ce_jobs`, execution in
`ce_runner`. This class holds the state (guarded by `cloud.lock`) and the operations shared by the
HTTP API and in-process callers (the Event Notifications emulator calls `submit_job_run`).

Images map to local commands with `register_image(image_reference, argv, cwd=..., env=...)`.
Injected into every instance, as Code Engine does: CE_PROJECT_ID, CE_REGION, CE_JOB, CE_JOBRUN,
CE_API_BASE_URL (the emulator's base URL; the real value is the region's *private* endpoint
`https://api.private.<region>.codeengine.cloud.ibm.com`), JOB_INDEX, JOB_INDEX_RETRY_COUNT,
JOB_ARRAY_SIZE. Injected values win over user env variables of the same name (unknown for real).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

from tests.fakecloud import ce_jobs, ce_secrets
from tests.fakecloud.ce_common import (
    JOB_NAME,
    SECRET_NAME,
    EntityTags,
    check_name,
    conflict,
    invalid,
    not_found,
    now_iso,
    project_body,
)
from tests.fakecloud.ce_plan import build_plan
from tests.fakecloud.ce_runner import Execution, Image, Runner
from tests.fakecloud.http import BadRequest

if TYPE_CHECKING:
    from tests.fakecloud.cloud import FakeCloud

FINAL = ("completed", "failed")


class CodeEngine:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud
        self.tags = EntityTags()
        self.images: dict[str, Image] = {}
        self._secrets: dict[str, dict[str, Any]] = {}
        self._jobs: dict[str, dict[str, Any]] = {}
        self._runs: dict[str, dict[str, Any]] = {}
        self._executions: dict[str, Execution] = {}
        self._runner = Runner(cloud.lock)
        self.created_at = now_iso()
        self.pending_seconds = 0.0  # how long a new job run stays `pending` before it starts

    def routes(self) -> list[BaseRoute]:
        from tests.fakecloud.ce_routes import routes

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
            created_at=now_iso(),
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
                created_at=now_iso(),
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
        """PUT semantics. `If-Match` is required (missing: 400, our strict choice); `*` matches
        any version; anything else must equal the current entity tag exactly, else 412."""
        unknown = set(body) - {"format", "data"}
        if unknown:
            raise invalid(f"Unknown field(s): {', '.join(sorted(unknown))}")
        with self.cloud.lock:
            current = self._secrets.get(name)
            if current is None:
                raise not_found("Secret", name)
            if not if_match:
                raise BadRequest("The 'If-Match' header is required", code="missing_if_match")
            if if_match != "*" and if_match != current["entity_tag"]:
                raise BadRequest(
                    f"Secret '{name}' was modified: If-Match '{if_match[:64]}' does not match "
                    f"the current entity tag",
                    status=412,
                    code="precondition_failed",
                )
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
    def create_job(self, body: Mapping[str, Any]) -> dict[str, Any]:
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
        self, name: str, if_match: str | None, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        """JSON merge patch with the same If-Match rules as `replace_secret`."""
        settings = ce_jobs.job_settings(patch, allowed=ce_jobs.PATCH_FIELDS)
        with self.cloud.lock:
            job = self._jobs.get(name)
            if job is None:
                raise not_found("Job", name)
            if not if_match:
                raise BadRequest("The 'If-Match' header is required", code="missing_if_match")
            if if_match not in ("*", job["entity_tag"]):
                raise BadRequest(
                    f"Job '{name}' was modified", status=412, code="precondition_failed"
                )
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

    def create_job_run(self, body: Mapping[str, Any]) -> dict[str, Any]:
        settings = ce_jobs.job_settings(body, allowed=ce_jobs.RUN_FIELDS)
        with self.cloud.lock:
            run = self._new_run(body, settings)
            if run["name"] in self._runs:
                raise conflict("Job run", run["name"])
            self._runs[run["name"]] = run
            plan = build_plan(run, self.images, self._secrets, self.pending_seconds)
            self._executions[run["name"]] = self._runner.start(plan)
            return self._render_run(run["name"])

    def _new_run(self, body: Mapping[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
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
            if job_name not in self._jobs:
                raise not_found("Job", job_name)
            base = {k: v for k, v in self._jobs[job_name].items() if k in ce_jobs.JOB_FIELDS}
        raw_name = body.get("name")
        name = (
            check_name(raw_name, JOB_NAME, 63)
            if raw_name is not None
            else ce_jobs.generated_run_name(str(job_name))
        )
        merged = {**base, **settings}
        merged["run_env_variables"] = ce_jobs.merge_env(
            base.get("run_env_variables", []), settings.get("run_env_variables", [])
        )
        merged.pop("name", None)
        ce_jobs.check_mode(merged if merged.get("run_mode") == "daemon" else settings)
        run = {**self._meta("job_run_v2", name, "job_runs"), **ce_jobs.with_defaults(merged)}
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

    def _render_run(self, name: str) -> dict[str, Any]:
        run = copy.deepcopy(self._runs[name])
        execution = self._executions[name]
        run["status"] = execution.status
        run["status_details"] = execution.status_details()
        return run

    def get_job_run(self, name: str) -> dict[str, Any]:
        with self.cloud.lock:
            if name not in self._runs:
                raise not_found("Job run", name)
            return self._render_run(name)

    def delete_job_run(self, name: str) -> None:
        with self.cloud.lock:
            if self._runs.pop(name, None) is None:
                raise not_found("Job run", name)
            execution = self._executions.pop(name)
        self._runner.cancel(execution)

    def list_job_runs(self, job_name: str | None = None) -> list[dict[str, Any]]:
        with self.cloud.lock:
            return [
                self._render_run(n)
                for n, run in self._runs.items()
                if job_name is None or run.get("job_name") == job_name
            ]

    @property
    def job_runs(self) -> dict[str, dict[str, Any]]:
        with self.cloud.lock:
            return {name: self._render_run(name) for name in self._runs}

    def wait_for_job_run(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """Block until the run is completed or failed (all attempts recorded)."""
        with self.cloud.lock:
            execution = self._executions.get(name)
        if execution is None:
            raise KeyError(name)
        if not execution.done.wait(timeout):
            raise TimeoutError(f"job run {name} still {execution.status} after {timeout}s")
        return self.get_job_run(name)

    def job_run_attempts(self, name: str) -> list[dict[str, Any]]:
        """Every attempt: index, retry, exit_code, stdout, stderr, timed_out."""
        with self.cloud.lock:
            execution = self._executions[name]
            return [a.to_dict() for a in execution.attempts]

    def job_run_logs(self, name: str, *, index: int | None = None) -> str:
        """stdout then stderr of every attempt (optionally of one index), in completion order."""
        attempts = self.job_run_attempts(name)
        return "".join(
            a["stdout"] + a["stderr"] for a in attempts if index is None or a["index"] == index
        )
