"""Code Engine v2: one project's state: secrets, config maps, jobs, job runs (run as local
processes), apps, builds and custom domain mappings served by the project's own local TLS router.

This class holds the state (guarded by `lock`) and the operations behind the HTTP API
(`routes.py`) and the in-process API that tests, the demo and Event Notifications use (its job
destination calls `submit_job_run`). Each returns what the API would: the resource's JSON.
`CodeEngine` (`service.py`) is the default project's space and holds the others.

Images map to local commands: `register_dockerfile(image_reference, dockerfile)` reads the
ENTRYPOINT and CMD of the Dockerfile the image is built from (`dockerfile`);
`register_image(image_reference, entrypoint, cmd=..., cwd=..., env=...)` gives them directly.
A run's or app's command line is built from them the Kubernetes way (`plan.process`), and an
image on a private registry needs a registry `image_secret` (`pulls`).
Injected into every instance, as Code Engine does: CE_PROJECT_ID, CE_REGION, CE_JOB, CE_JOBRUN,
CE_API_BASE_URL (`model.Project.injected`: the project's own, its region's base URL),
JOB_INDEX, JOB_INDEX_RETRY_COUNT, JOB_ARRAY_SIZE. Injected values win over user env variables of
the same name (unknown for real).

Documented limits, per project (docs `limits.md` "Project quotas"), each an attribute tests may
change: `max_secrets` secrets (100: "You are limited to 100 secrets per project"; 403
`exceeded_quota` like the other quotas), a job or job run of at most 10 KiB, a run counting the
job it references (`checks.check_size`; 400), job-run names of at most 53 characters
(`job_settings`; 400), `max_job_runs` per project (100; 400 `limit_exceeded`, a stricter guess,
`job_runs`) and the one-week retention of finished runs (`job_runs`), `max_running_instances`
running at once, the rest queued (250; `runner`); config maps of at most 1 MiB and
`config_maps.max_config_maps` per project (100; `config_maps`).
The clock (`now`) is the emulator's, shared by all projects: it stamps `created_at`, start and
completion times, decides which finished runs have expired and which certificates have.

Apps (`apps`) run as local processes from registered images, one per app, on a loopback port
(`endpoint`); `seed_app(name)` makes an app exist without a process, for domain mappings
(`domain_mappings`, `router`); deleting an app deletes its mappings. Builds (`builds`) turn a
repository declared with `register_build_source` into a registered image. Job runs and apps with
`run_compute_resource_token_enabled` get a compute-resource token from IAM (`cr_tokens`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.account import Site
from localcloud.code_engine import job_settings, secret_data
from localcloud.code_engine.apps import Apps
from localcloud.code_engine.builds import Builds
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
from localcloud.code_engine.clock import EntityTags
from localcloud.code_engine.config_maps import ConfigMaps
from localcloud.code_engine.cr_tokens import TokenFiles, with_token_file
from localcloud.code_engine.dockerfile import image_from_dockerfile
from localcloud.code_engine.domain_mappings import DomainMappings
from localcloud.code_engine.job_runs import MAX_JOB_RUNS, JobRuns
from localcloud.code_engine.model import Job, Project, Secret
from localcloud.code_engine.plan import build_plan
from localcloud.code_engine.router import Material, Router
from localcloud.code_engine.runner import MAX_RUNNING_INSTANCES, Image, Runner
from localcloud.http import BadRequest

MAX_SECRETS = 100  # docs `limits.md` "Project quotas": "limited to 100 secrets per project"


@dataclass(frozen=True)
class Place:
    """Which project a space holds, and where: its id, name and region, and its region's base
    URL (looked up when needed: the server's port is known once it has started)."""

    id: str
    name: str
    region: str
    base_url: Callable[[], str]


class ProjectSpace:
    def __init__(
        self,
        site: Site,
        place: Place,
        *,
        now: Callable[[], dt.datetime],
        tags: EntityTags,
        images: dict[str, Image],
    ) -> None:
        self.site = site
        self.place = place
        self.lock = threading.RLock()
        self._clock = now
        self.tags = tags
        self.images = images  # the registry's: shared by every project
        self._secrets: dict[str, Secret] = {}
        self._jobs: dict[str, Job] = {}
        self._runner = Runner(self.lock, self._now, MAX_RUNNING_INSTANCES)
        self._job_runs = JobRuns(self.lock, self._runner)
        self.created_at = self._now()
        self.max_secrets = MAX_SECRETS  # secrets the project holds, of any format
        self.pending_seconds = 0.0  # how long a new job run stays `pending` before it starts
        self.max_job_runs = MAX_JOB_RUNS  # job runs the project holds, in any state
        self.config_maps = ConfigMaps(
            self.lock, project=self.project, now=self._now, tags=self.tags
        )
        self._tokens = TokenFiles()
        self.apps = Apps(
            self.lock,
            project=self.project,
            now=self._now,
            tags=self.tags,
            images=self.images,
            lookups=(self._secrets.get, self.config_maps.find),
            tokens=self._tokens,
            issue_token=lambda name: self._cr_token("application", name),
            deleted=self._app_deleted,
        )
        self.builds = Builds(
            self.lock,
            project=self.project,
            now=self._now,
            tags=self.tags,
            secret=self._secrets.get,
            images=self.images,
        )
        self.router = Router()
        self.domain_mappings = DomainMappings(
            self.lock,
            project=self.project,
            now=self._now,
            tags=self.tags,
            secret=self._secrets.get,
            app_exists=self.apps.exists,
            router=self.router,
        )
        self.router.routes = self.domain_mappings.route

    def _now(self) -> dt.datetime:
        return self._clock()  # the emulator's clock, looked up at each call

    @property
    def max_running_instances(self) -> int:
        """Instances that run at once over all job runs; the others stay `pending`."""
        return self._runner.max_running

    @max_running_instances.setter
    def max_running_instances(self, value: int) -> None:
        self._runner.max_running = value

    @property
    def id(self) -> str:
        return self.place.id

    @property
    def region(self) -> str:
        return self.place.region

    def project(self) -> Project:
        place = self.place
        return Project(
            self.site.identity.account_id,
            place.id,
            place.name,
            place.region,
            place.base_url(),
            self.created_at,
        )

    def shutdown(self) -> None:
        """Kill running instances and app processes, join the background threads, stop the
        router, remove the token files."""
        self._runner.shutdown()
        self.apps.shutdown()
        self.builds.shutdown()
        self.router.stop()
        self._tokens.close()

    def _app_deleted(self, name: str) -> None:
        self.domain_mappings.drop_component(name)  # built after the apps, which it asks

    def _cr_token(self, component_type: str, name: str) -> str:
        """A compute-resource token for the project's `job` or `application` `name`."""
        return self.site.iam.compute_resource_token(self.project().crn, component_type, name)

    # -- apps -------------------------------------------------------------------------------
    def seed_app(self, name: str) -> None:
        """Make app `name` exist, `ready`, without a process (for domain mappings)."""
        self.apps.seed(name)

    def create_app(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.apps.create(body)

    def get_app(self, name: str) -> dict[str, Any]:
        return self.apps.get(name)

    def list_apps(self) -> list[dict[str, Any]]:
        return self.apps.list()

    def update_app(self, name: str, if_match: str | None, patch: Mapping[str, Any]
                   ) -> dict[str, Any]:  # fmt: skip
        return self.apps.update(name, if_match, patch)

    def delete_app(self, name: str) -> None:
        """Delete app `name`, stop its process and, as Code Engine does, delete its custom
        domain mappings."""
        self.apps.delete(name)

    def app_logs(self, name: str) -> str:
        """stdout and stderr of every revision app `name` ran (KeyError: it never ran)."""
        return self.apps.logs(name)

    # -- builds -----------------------------------------------------------------------------
    def register_build_source(
        self,
        source_url: str,
        images: Mapping[str, Image],
        *,
        revisions: Collection[str] | None = None,
    ) -> None:
        """Declare what the repository at `source_url` builds into: `images` by the recipe's
        path (`strategy_spec_file` inside `source_context_dir`, e.g. `Dockerfile.job`), at
        `revisions` (None: any revision)."""
        self.builds.register_source(source_url, images, revisions=revisions)

    @property
    def build_seconds(self) -> float:
        """How long a build run takes (half `pending`, half `running`)."""
        return self.builds.build_seconds

    @build_seconds.setter
    def build_seconds(self, value: float) -> None:
        self.builds.build_seconds = value

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
            if old is None and len(self._secrets) >= self.max_secrets:
                raise secrets_quota_exceeded(len(self._secrets), self.max_secrets)
            secret = Secret(name, fmt, data, self.tags.next(), self._now())
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
            job = self._jobs[name] = Job(name, spec, self.tags.next(), self._now())
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
        entrypoint: list[str],
        *,
        cmd: list[str] | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Make `image_reference` an image with this ENTRYPOINT and CMD, run locally."""
        self.images[image_reference] = Image(
            list(entrypoint), list(cmd or []), cwd, dict(env or {})
        )

    def register_dockerfile(
        self, image_reference: str, dockerfile: Path, *, cwd: Path | None = None
    ) -> None:
        """Make `image_reference` the image built from `dockerfile` (its ENTRYPOINT and CMD),
        run locally from `cwd` (default: the Dockerfile's folder, the build context)."""
        self.images[image_reference] = image_from_dockerfile(dockerfile, cwd=cwd)

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
        settings = job_settings.job_settings(body, allowed=job_settings.RUN_FIELDS)
        with self.lock:
            job = self._jobs.get(str(body.get("job_name")))
            check_size(body, size, "job run", job=(job.name, job.spec.to_dict()) if job else None)
            run = job_settings.new_run(body, settings, self._jobs, self._now())
            project = self.project()
            found = (self._secrets.get, self.config_maps.find)
            plan = build_plan(run, run.injected(project), self.images, found, self.pending_seconds)
            token_file = f"jobrun-{run.id}"  # a run of the same name may exist (409)
            if run.spec.run_compute_resource_token_enabled and plan.error is None:
                token = self._cr_token("job", run.job_name or run.name)
                plan.env = with_token_file(plan.env, self._tokens.write(token_file, token))
            try:
                execution = self._job_runs.add(run, plan, now=self._now(), quota=self.max_job_runs)
            except BadRequest:
                self._tokens.remove(token_file)
                raise
            return run.to_dict(project, execution)

    def get_job_run(self, name: str) -> dict[str, Any]:
        with self.lock:
            run, execution = self._job_runs.get(name, self._now())
            return run.to_dict(self.project(), execution)

    def delete_job_run(self, name: str) -> None:
        self._job_runs.delete(name, self._now())

    def list_job_runs(self, job_name: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            project = self.project()
            return [
                run.to_dict(project, execution)
                for run, execution in self._job_runs.select(job_name, self._now())
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


def secrets_quota_exceeded(held: int, quota: int) -> BadRequest:
    """As for job runs (`job_runs.quota_exceeded`): Kubernetes' 403 `exceeded quota` (the real
    status and message are not documented)."""
    return BadRequest(
        f"secret quota exceeded: the project holds {held} secrets (limit {quota}); "
        "delete one before you create another",
        status=403,
        code="exceeded_quota",
    )
