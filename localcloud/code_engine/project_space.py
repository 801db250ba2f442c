"""Code Engine v2: one project's state: secrets, config maps, jobs, job runs (run as local
processes), apps, builds and custom domain mappings served by the project's own local TLS router.

This class holds the project's collections (`scope`: one class per collection, each an attribute
named after its path segment: `secrets`, `config_maps`, `jobs`, `job_runs`, `apps`, `builds`,
`domain_mappings`), whose verbs serve the HTTP API (`routes.py`) and the in-process control plane
that tests, the demo and Event Notifications use (its job destination calls `job_runs.submit`).
Each returns what the API would: the resource's JSON. `CodeEngine` (`service.py`) is the default
project's space and holds the others.

Images map to local commands: `register_dockerfile(image_reference, dockerfile)` reads the
ENTRYPOINT and CMD of the Dockerfile the image is built from (`dockerfile`);
`register_image(image_reference, entrypoint, cmd=..., cwd=..., env=...)` gives them directly.
A run's or app's command line is built from them the Kubernetes way (`plan.process`), and an
image on a private registry needs a registry `image_secret` (`pulls`).
Injected into every instance, as Code Engine does: CE_PROJECT_ID, CE_REGION, CE_JOB, CE_JOBRUN,
CE_API_BASE_URL (`model.Project.injected`: the project's own, its region's base URL),
JOB_INDEX, JOB_INDEX_RETRY_COUNT, JOB_ARRAY_SIZE. Injected values win over user env variables of
the same name (unknown for real).

Documented limits, per project (docs `limits.md` "Project quotas"), each an attribute of its
collection that tests may change: `secrets.max_secrets` (100: "You are limited to 100 secrets per
project"; 403 `exceeded_quota` like the other quotas), a job or job run of at most 10 KiB, a run
counting the job it references (`checks.check_size`; 400), job-run names of at most 53 characters
(`job_settings`; 400), `job_runs.max_job_runs` per project (100; 400 `limit_exceeded`, a stricter
guess) and the one-week retention of finished runs (`job_runs`),
`job_runs.max_running_instances` running at once, the rest queued (250; `runner`); config maps
of at most 1 MiB and `config_maps.max_config_maps` per project (100; `config_maps`).
The clock (`now`) is the emulator's, shared by all projects: it stamps `created_at`, start and
completion times, decides which finished runs have expired and which certificates have.

Apps (`apps`) run as local processes from registered images, one per app, on a loopback port
(`endpoint`); `apps.seed(name)` makes an app exist without a process, for domain mappings
(`domain_mappings`, `router`); deleting an app deletes its mappings. Builds (`builds`) turn a
repository declared with `builds.register_source` into a registered image. Job runs and apps with
`run_compute_resource_token_enabled` get a compute-resource token from IAM (`cr_tokens`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from localcloud.account import Site
from localcloud.code_engine.apps import Apps
from localcloud.code_engine.builds import Builds
from localcloud.code_engine.clock import EntityTags
from localcloud.code_engine.config_maps import ConfigMaps
from localcloud.code_engine.cr_tokens import TokenFiles
from localcloud.code_engine.dockerfile import image_from_dockerfile
from localcloud.code_engine.domain_mappings import DomainMappings
from localcloud.code_engine.job_runs import JobRuns
from localcloud.code_engine.jobs import Jobs
from localcloud.code_engine.model import Project
from localcloud.code_engine.router import Router
from localcloud.code_engine.runner import Image
from localcloud.code_engine.scope import Runtime, Scope
from localcloud.code_engine.secrets import Secrets


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
        self.created_at = self._now()
        self._tokens = TokenFiles()
        self.router = Router()
        scope = Scope(self.lock, self.project, self._now, tags)
        self.secrets = Secrets(scope, router=self.router, check_unused=self._secret_in_use)
        self.config_maps = ConfigMaps(scope)
        runtime = Runtime(
            images, self.secrets.stored, self.config_maps.stored, self._tokens, self._cr_token
        )
        self.jobs = Jobs(scope)
        self.job_runs = JobRuns(scope, runtime, jobs=self.jobs.stored)
        self.apps = Apps(scope, runtime, deleted=self._app_deleted)
        self.builds = Builds(scope, secret=self.secrets.stored, images=images)
        self.domain_mappings = DomainMappings(
            scope, secret=self.secrets.stored, app_exists=self.apps.exists, router=self.router
        )
        self.router.routes = self.domain_mappings.route

    def _now(self) -> dt.datetime:
        return self._clock()  # the emulator's clock, looked up at each call

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
        self.job_runs.shutdown()
        self.apps.shutdown()
        self.builds.shutdown()
        self.router.stop()
        self._tokens.close()

    def _secret_in_use(self, name: str) -> None:
        self.domain_mappings.check_unused(name)  # built after the secrets, which it asks

    def _app_deleted(self, name: str) -> None:
        self.domain_mappings.drop_component(name)  # built after the apps, which it asks

    def _cr_token(self, component_type: str, name: str) -> str:
        """A compute-resource token for the project's `job` or `application` `name`."""
        return self.site.iam.compute_resource_token(self.project().crn, component_type, name)

    # -- the image registry (shared by every project) ---------------------------------------
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
