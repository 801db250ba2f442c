"""Code Engine v2 apps as the emulator stores them, and their JSON as the SDK's `App`,
`AppRevision` and `AppInstance` show it (example bodies: the SDK's unit tests).

An app runs as one local process per revision (`apps`): its revision name is `<app>-00001`,
`<app>-00002`, ... (the SDK's examples); `status` is the latest revision's: `deploying` while it
starts (revision `loading`), `ready` once its port accepts connections, `failed` when its process
exits or cannot start (app reason `no_revision_ready`), or `warning` (reason
`ready_but_latest_revision_failed`) when an earlier revision was ready: that one serves again.
Revision reasons are the SDK enum's (`container_failed_exit_code_<n>`, `image_pull_back_off`);
an env reference that does not resolve shows as `deploying_waiting_for_resources` (our guess:
real Code Engine keeps such a revision deploying until it gives up).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from localcloud.code_engine.clock import iso
from localcloud.code_engine.model import Project, computed_env
from localcloud.zygote import Process


@dataclass(frozen=True)
class AppSpec:
    """What an app runs and how; None: not set, left out of the JSON."""

    image_reference: str
    image_port: int = 8080
    image_secret: str | None = None
    managed_domain_mappings: str = "local_public"
    probe_liveness: dict[str, Any] | None = None
    probe_readiness: dict[str, Any] | None = None
    run_arguments: list[str] = field(default_factory=list)
    run_as_user: int | None = None
    run_commands: list[str] = field(default_factory=list)
    run_compute_resource_token_enabled: bool = False
    run_env_variables: list[dict[str, str]] = field(default_factory=list)
    run_service_account: str = "default"
    run_volume_mounts: list[dict[str, str]] = field(default_factory=list)
    scale_concurrency: int = 100
    scale_concurrency_target: int | None = None
    scale_cpu_limit: str = "1"
    scale_down_delay: int = 0
    scale_ephemeral_storage_limit: str = "400M"
    scale_initial_instances: int = 1
    scale_max_instances: int = 10
    scale_memory_limit: str = "4G"
    scale_min_instances: int = 0
    scale_request_timeout: int = 300

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass
class Revision:
    """One immutable version of an app's settings, and the process that serves it."""

    name: str
    spec: AppSpec
    created_at: dt.datetime
    status: str = "loading"  # loading, ready, failed (SDK `AppRevision.StatusEnum`)
    reason: str = "deploying"
    ever_ready: bool = False
    stopped: bool = False  # stopped on purpose (an update or a delete): its exit is no failure
    proc: Process | None = None
    started_at: dt.datetime | None = None
    exit_code: int | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def running(self) -> bool:
        return self.proc is not None and self.exit_code is None

    def to_dict(self, project: Project, app: str, injected: dict[str, str]) -> dict[str, Any]:
        return {
            **project.meta(
                "app_revision_v2", f"apps/{app}/revisions", self.name, self.id, self.created_at
            ),
            **self.spec.to_dict(),
            "app_name": app,
            "computed_env_variables": computed_env(injected),
            "status": self.status,
            "status_details": {
                "actual_instances": 1 if self.running and self.status == "ready" else 0,
                "reason": self.reason,
            },
        }

    def instance(self, project: Project, app: str) -> dict[str, Any]:
        """The SDK's `AppInstance` of the revision's process (Knative's pod name shape,
        `<revision>-deployment-<hash>-<5>`, as the docs' `HOSTNAME` example shows)."""
        digest = hashlib.sha256(self.id.encode()).hexdigest()
        name = f"{self.name}-deployment-{digest[:9]}-{digest[9:14]}"
        state: dict[str, Any] = {"container_status": "running" if self.running else "terminated"}
        if self.started_at is not None:
            state["started_at"] = iso(self.started_at)
        if self.exit_code is not None:
            state["exit_code"] = self.exit_code
        status = "running" if self.running else ("failed" if self.exit_code else "succeeded")
        return {
            **project.meta(
                "app_instance_v2", f"apps/{app}/instances", name, digest[:36], self.created_at
            ),
            "app_name": app,
            "revision_name": self.name,
            "scale_cpu_limit": self.spec.scale_cpu_limit,
            "scale_ephemeral_storage_limit": self.spec.scale_ephemeral_storage_limit,
            "scale_memory_limit": self.spec.scale_memory_limit,
            "status": status,
            "status_details": {"restarts": 0, "user_container": {"current_state": state}},
        }


@dataclass
class App:
    """An app; `port` is where its processes listen on loopback (None: a seeded app, which
    exists for domain mappings but runs nothing)."""

    name: str
    spec: AppSpec
    entity_tag: str
    created_at: dt.datetime
    port: int | None
    revisions: list[Revision] = field(default_factory=list)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def latest(self) -> Revision:
        return self.revisions[-1]

    def next_revision_name(self) -> str:
        return f"{self.name}-{len(self.revisions) + 1:05d}"

    @property
    def fallback(self) -> Revision | None:
        """The newest earlier revision that was ready: what serves when the latest fails."""
        earlier = [r for r in self.revisions[:-1] if r.ever_ready]
        return earlier[-1] if earlier else None

    @property
    def status(self) -> tuple[str, str]:
        """(status, reason) of the app, from its latest revision. A failed latest revision with
        an earlier one that was ready is `warning`, reason `ready_but_latest_revision_failed`:
        docs `appdeploy-access.md` "Ready (with warnings): The deployment of a new application
        revision failed, but the original deployment is available"; the SDK's `App.StatusEnum`
        and `AppStatus.ReasonEnum` spell the status and the reason."""
        latest = self.latest.status
        if latest == "ready":
            return "ready", "ready"
        if latest == "failed":
            if self.fallback is not None:
                return "warning", "ready_but_latest_revision_failed"
            return "failed", "no_revision_ready"
        return "deploying", "deploying"

    def endpoint(self, project: Project) -> str:
        """Locally `http://127.0.0.1:<port>`, where the process listens; the real endpoint is
        `https://<app>.<subdomain>.<region>.codeengine.appdomain.cloud` (SDK example), which a
        seeded app, having no process, shows."""
        if self.port is None:
            return f"https://{self.name}.{project.subdomain}.{project.domain}"
        return f"http://127.0.0.1:{self.port}"

    def to_dict(self, project: Project) -> dict[str, Any]:
        status, reason = self.status
        details = {"latest_created_revision": self.latest.name, "reason": reason}
        ready = [r.name for r in self.revisions if r.ever_ready]
        if ready:
            details["latest_ready_revision"] = ready[-1]
        endpoint = self.endpoint(project)
        # Real: `http://<app>.<subdomain>.svc.cluster.local`, reachable only inside the project;
        # local processes reach the app on loopback like everyone else.
        internal = f"http://{self.name}.{project.subdomain}.svc.cluster.local"
        return {
            **project.meta("app_v2", "apps", self.name, self.id, self.created_at),
            **self.spec.to_dict(),
            "computed_env_variables": computed_env(injected(project, self, self.latest)),
            "endpoint": endpoint,
            "endpoint_internal": internal if self.port is None else endpoint,
            "entity_tag": self.entity_tag,
            "status": status,
            "status_details": details,
        }


def injected(project: Project, app: App, revision: Revision) -> dict[str, str]:
    """What Code Engine injects into every instance of an app (docs `envvar-autoinject.md`
    #inside-env-vars-app): CE_API_BASE_URL (the emulator's URL; real: the region's private
    endpoint), CE_APP, CE_DOMAIN, CE_PROJECT_ID, CE_REGION, CE_SUBDOMAIN, Knative's K_SERVICE,
    K_CONFIGURATION and K_REVISION, and PORT: the loopback port the emulator picked (real: the
    app's `image_port`, 8080 by default). The docs list no `CE_REVISION`; K_REVISION names it."""
    values = {
        "CE_API_BASE_URL": project.url,
        "CE_APP": app.name,
        "CE_DOMAIN": project.domain,
        "CE_PROJECT_ID": project.id,
        "CE_REGION": project.region,
        "CE_SUBDOMAIN": project.subdomain,
        "K_CONFIGURATION": app.name,
        "K_REVISION": revision.name,
        "K_SERVICE": app.name,
    }
    port = app.port if app.port is not None else revision.spec.image_port
    return {**values, "PORT": str(port)}
