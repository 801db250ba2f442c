"""Code Engine v2: one project with secrets, config maps, jobs, job runs (run as local processes),
and custom domain mappings served by a local TLS router.

This class holds the state (guarded by `lock`) and the operations behind the HTTP API
(`routes.py`) and the in-process API that tests, the demo and Event Notifications use (its job
destination calls `submit_job_run`). Each returns what the API would: the resource's JSON.

Images map to local commands with `register_image(image_reference, argv, cwd=..., env=...)`.
Injected into every instance, as Code Engine does: CE_PROJECT_ID, CE_REGION, CE_JOB, CE_JOBRUN,
CE_API_BASE_URL (`model.Project.injected`), JOB_INDEX, JOB_INDEX_RETRY_COUNT, JOB_ARRAY_SIZE.
Injected values win over user env variables of the same name (unknown for real).

Documented limits, each an attribute tests may change: a job or job run of at most 10 KiB
(`checks.check_size`; 400), job-run names of at most 53 characters (`job_settings`; 400),
`max_job_runs` per project (100; 403 `exceeded_quota`) and the one-week retention of finished
runs (`job_runs`), `max_running_instances` running at once, the rest queued (250; `runner`);
config maps of at most 1 MiB and `config_maps.max_config_maps` per project (100; `config_maps`).
`clock` is the emulator's now (`clock.advance(timedelta)` moves it): it stamps `created_at`,
start and completion times, decides which finished runs have expired and which certificates have.

Domain mappings (`domain_mappings`, `router`): the emulator has no apps API; `seed_app(name)`
makes an app exist for a mapping's component and `delete_app(name)` deletes it with its mappings.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any

from localcloud.account import Site
from localcloud.code_engine import job_settings, secret_data
from localcloud.code_engine.checks import (
    JOB_NAME,
    SECRET_NAME,
    check_if_match,
    check_name,
    check_size,
    conflict,
    invalid,
    not_found,
    reject_unknown,
)
from localcloud.code_engine.clock import Clock, EntityTags
from localcloud.code_engine.config_maps import ConfigMaps
from localcloud.code_engine.domain_mappings import DomainMappings
from localcloud.code_engine.job_runs import MAX_JOB_RUNS, JobRuns
from localcloud.code_engine.model import API, Job, Project, Secret
from localcloud.code_engine.plan import build_plan
from localcloud.code_engine.router import Material, Router
from localcloud.code_engine.runner import MAX_RUNNING_INSTANCES, Image, Runner


class CodeEngine:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.lock = threading.RLock()
        self.clock = Clock()
        self.tags = EntityTags()
        self.images: dict[str, Image] = {}
        self._secrets: dict[str, Secret] = {}
        self._jobs: dict[str, Job] = {}
        self._runner = Runner(self.lock, self._now, MAX_RUNNING_INSTANCES)
        self._job_runs = JobRuns(self.lock, self._runner)
        self.created_at = self.clock()
        self.pending_seconds = 0.0  # how long a new job run stays `pending` before it starts
        self.max_job_runs = MAX_JOB_RUNS  # job runs the project holds, in any state
        self._apps: set[str] = set()
        self.config_maps = ConfigMaps(
            self.lock, project=self.project, now=self._now, tags=self.tags
        )
        self.router = Router()
        self.domain_mappings = DomainMappings(
            self.lock,
            project=self.project,
            now=self._now,
            tags=self.tags,
            secret=self._secrets.get,
            app_exists=self._apps.__contains__,
            router=self.router,
        )
        self.router.routes = self.domain_mappings.route

    def _now(self) -> dt.datetime:
        return self.clock()  # looked up at each call: a test may replace the clock

    @property
    def max_running_instances(self) -> int:
        """Instances that run at once over all job runs; the others stay `pending`."""
        return self._runner.max_running

    @max_running_instances.setter
    def max_running_instances(self, value: int) -> None:
        self._runner.max_running = value

    @property
    def api_url(self) -> str:
        return f"{self.site.url}{API}"

    def project(self) -> Project:
        return Project(self.site.identity, self.site.url, self.created_at)

    def shutdown(self) -> None:
        """Kill running instances, join the runner threads, stop the router."""
        self._runner.shutdown()
        self.router.stop()

    def seed_app(self, name: str) -> None:
        """Make app `name` exist (the emulator has no apps API; domain mappings need one)."""
        with self.lock:
            self._apps.add(check_name(name, JOB_NAME, 63))

    def delete_app(self, name: str) -> None:
        """Delete app `name` and, as Code Engine does, its custom domain mappings."""
        with self.lock:
            if name not in self._apps:
                raise not_found("App", name)
            self._apps.discard(name)
            self.domain_mappings.drop_component(name)

    # -- secrets ----------------------------------------------------------------------------
    def create_secret(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(body, {"format", "name", "data", "service_access", "service_operator"})
        name = check_name(body.get("name"), SECRET_NAME, 253)
        fmt = secret_data.check_format(body.get("format"))
        data = secret_data.check_data(fmt, body.get("data"))
        return self.put_secret(name, fmt, data, replace=False)

    def put_secret(
        self, name: str, fmt: str, data: Mapping[str, str], *, replace: bool = True
    ) -> dict[str, Any]:
        """Store a secret (tests use this for seeding); validated like the API does."""
        check_name(name, SECRET_NAME, 253)
        data = secret_data.check_data(secret_data.check_format(fmt), dict(data))
        with self.lock:
            old = self._secrets.get(name)
            if old is not None and not replace:
                raise conflict("Secret", name)
            secret = Secret(name, fmt, data, self.tags.next(), self.clock())
            if old is not None:
                secret.id, secret.created_at = old.id, old.created_at
            self._secrets[name] = secret
            if fmt == secret_data.TLS_FORMAT:
                self.router.secret_written(name, Material(data["tls_cert"], data["tls_key"]))
            return secret.to_dict(self.project())

    def replace_secret(
        self, name: str, if_match: str | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PUT semantics; `If-Match` as `check_if_match` requires."""
        reject_unknown(body, {"format", "data"})
        with self.lock:
            current = self._secrets.get(name)
            if current is None:
                raise not_found("Secret", name)
            check_if_match("Secret", name, if_match, current.entity_tag)
            fmt = secret_data.check_format(body.get("format"))
            if fmt != current.format:
                raise invalid(f"The format of secret '{name}' cannot be changed")
            return self.put_secret(name, fmt, secret_data.check_data(fmt, body.get("data")))

    def get_secret(self, name: str) -> dict[str, Any]:
        found = self.secret(name)
        if found is None:
            raise not_found("Secret", name)
        return found

    def delete_secret(self, name: str) -> None:
        """409 while a domain mapping uses the secret (`domain_mappings`: a stricter guess)."""
        with self.lock:
            self.domain_mappings.check_unused(name)
            if self._secrets.pop(name, None) is None:
                raise not_found("Secret", name)
            self.router.secret_written(name, None)

    def secret(self, name: str) -> dict[str, Any] | None:
        """The secret as GET shows it (with `data`), or None."""
        with self.lock:
            found = self._secrets.get(name)
            return None if found is None else found.to_dict(self.project())

    @property
    def secrets(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {name: s.to_dict(self.project()) for name, s in self._secrets.items()}

    def list_secrets(self, fmt: str | None = None) -> list[dict[str, Any]]:
        """As a list shows them: without `data`."""
        with self.lock:
            return [
                s.to_dict(self.project(), with_data=False)
                for s in self._secrets.values()
                if fmt is None or s.format == fmt
            ]

    # -- jobs -------------------------------------------------------------------------------
    def create_job(self, body: Mapping[str, Any], *, size: int | None = None) -> dict[str, Any]:
        """`size`: the request body's bytes (None: measure `body`, see `check_size`)."""
        check_size(body, size, "job")
        name = check_name(body.get("name"), JOB_NAME, 63)
        if "image_reference" not in body:
            raise invalid("'image_reference' is required")
        settings = job_settings.job_settings(body, allowed=job_settings.JOB_FIELDS)
        spec = job_settings.new_job_spec(settings)
        with self.lock:
            if name in self._jobs:
                raise conflict("Job", name)
            job = self._jobs[name] = Job(name, spec, self.tags.next(), self.clock())
            return job.to_dict(self.project())

    def update_job(
        self, name: str, if_match: str | None, patch: Mapping[str, Any], *, size: int | None = None
    ) -> dict[str, Any]:
        """JSON merge patch with the same If-Match rules as `replace_secret`."""
        check_size(patch, size, "job")
        settings = job_settings.job_settings(patch, allowed=job_settings.PATCH_FIELDS)
        with self.lock:
            job = self._jobs.get(name)
            if job is None:
                raise not_found("Job", name)
            check_if_match("Job", name, if_match, job.entity_tag)
            job.spec = job_settings.patched(job.spec, settings)
            job.entity_tag = self.tags.next()
            return job.to_dict(self.project())

    def get_job(self, name: str) -> dict[str, Any]:
        with self.lock:
            if name not in self._jobs:
                raise not_found("Job", name)
            return self._jobs[name].to_dict(self.project())

    def delete_job(self, name: str) -> None:
        with self.lock:
            if self._jobs.pop(name, None) is None:
                raise not_found("Job", name)

    def list_jobs(self) -> list[dict[str, Any]]:
        with self.lock:
            return [job.to_dict(self.project()) for job in self._jobs.values()]

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
        settings = job_settings.job_settings(body, allowed=job_settings.RUN_FIELDS)
        with self.lock:
            run = job_settings.new_run(body, settings, self._jobs, self.clock())
            project = self.project()
            found = (self._secrets.get, self.config_maps.find)
            plan = build_plan(run, run.injected(project), self.images, found, self.pending_seconds)
            execution = self._job_runs.add(run, plan, now=self.clock(), quota=self.max_job_runs)
            return run.to_dict(project, execution)

    def get_job_run(self, name: str) -> dict[str, Any]:
        with self.lock:
            run, execution = self._job_runs.get(name, self.clock())
            return run.to_dict(self.project(), execution)

    def delete_job_run(self, name: str) -> None:
        self._job_runs.delete(name, self.clock())

    def list_job_runs(self, job_name: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            project = self.project()
            return [
                run.to_dict(project, execution)
                for run, execution in self._job_runs.select(job_name, self.clock())
            ]

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
        with self.lock:
            return [attempt.to_dict() for attempt in self._job_runs.execution(name).attempts]

    def job_run_logs(self, name: str, *, index: int | None = None) -> str:
        """stdout then stderr of every attempt (optionally of one index), in completion order."""
        attempts = self.job_run_attempts(name)
        return "".join(
            a["stdout"] + a["stderr"] for a in attempts if index is None or a["index"] == index
        )
