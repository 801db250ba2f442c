"""Code Engine v2 resources as the emulator stores them, and each one's JSON as the API shows it.

Field names and value shapes follow the SDK's models (`Project`, `Secret`, `ConfigMap`, `Job`,
`JobRun`, `DomainMapping`; a run's status is `run_status`): timestamps are RFC 3339 UTC at second
precision, settings that were never set are left out, `resource_type` is `<kind>_v2` (secrets: per
format, as the SDK enum and terraform's tests show).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from localcloud.code_engine.clock import iso
from localcloud.code_engine.run_status import status_details
from localcloud.code_engine.runner import Execution

API = "/v2"
RESOURCE_GROUP_ID = "b0c0ffee0000000000000000000000d1"
RESOURCE_TYPES = {
    "generic": "secret_generic_v2",
    "ssh_auth": "secret_auth_ssh_v2",
    "basic_auth": "secret_basic_auth_v2",
    "hmac_auth": "secret_hmac_auth_v2",
    "tls": "secret_tls_v2",
    "registry": "secret_registry_v2",
    "other": "secret_other_v2",
}
TASK_MAX_EXECUTION_TIME, TASK_RETRY_LIMIT = 7200, 3  # seconds, retries
PROJECT_NAME = "certsync"


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Project:
    """One project of the emulated account, as its region's endpoint serves it at `url`: the
    default one (`Identity.project_id`, named `certsync`, in `Identity.region`) or one added with
    `CodeEngine.add_project`."""

    account_id: str
    id: str
    name: str
    region: str
    url: str  # the region's base URL (the cloud's, or `/codeengine/<region>` on it); API: `/v2`
    created_at: dt.datetime

    def href(self, *parts: str) -> str:
        return "/".join([f"{self.url}{API}", "projects", self.id, *parts])

    @property
    def subdomain(self) -> str:
        """The project's generated DNS label: 11 lowercase alphanumerics on the real service
        (`vg67hzldruk` in the SDK's examples); ours derives from the project id, so it is stable."""
        number = int.from_bytes(hashlib.sha256(self.id.encode()).digest()[:8], "big")
        label = ""
        for _ in range(11):
            number, digit = divmod(number, 36)
            label += "0123456789abcdefghijklmnopqrstuvwxyz"[digit]
        return label

    @property
    def cname_target(self) -> str:
        """Where the project's custom domains point, e.g.
        `custom.abcdabcdabc.us-east.codeengine.appdomain.cloud` (docs `domainmappings.md`
        #completing-custom-domain-cname)."""
        return f"custom.{self.subdomain}.{self.region}.codeengine.appdomain.cloud"

    @property
    def crn(self) -> str:
        """`crn:v1:bluemix:public:codeengine:<region>:a/<account>:<project id>::` (the SDK's
        `Project.crn` example); trusted-profile links name the project by it."""
        return f"crn:v1:bluemix:public:codeengine:{self.region}:a/{self.account_id}:{self.id}::"

    @property
    def domain(self) -> str:
        """`CE_DOMAIN`: `<region>.codeengine.appdomain.cloud` (docs `envvar-autoinject.md`)."""
        return f"{self.region}.codeengine.appdomain.cloud"

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "created_at": iso(self.created_at),
            "crn": self.crn,
            "href": self.href(),
            "id": self.id,
            "name": self.name,
            "region": self.region,
            "resource_group_id": RESOURCE_GROUP_ID,
            "resource_type": "project_v2",
            "status": "active",
        }

    def meta(self, kind: str, collection: str, name: str, ident: str, created_at: dt.datetime
             ) -> dict[str, Any]:  # fmt: skip
        """The fields every resource of the project has."""
        return {
            "created_at": iso(created_at),
            "href": self.href(collection, name),
            "id": ident,
            "name": name,
            "project_id": self.id,
            "region": self.region,
            "resource_type": kind,
        }

    def injected(self, job: str, run: str | None = None) -> dict[str, str]:
        """What Code Engine injects into every instance (besides the per-index variables).
        CE_API_BASE_URL is the project's region's base URL on the emulator; the real value is the
        region's private endpoint `https://api.private.<region>.codeengine.cloud.ibm.com`."""
        values = {
            "CE_API_BASE_URL": self.url,
            "CE_JOB": job,
            "CE_PROJECT_ID": self.id,
            "CE_REGION": self.region,
        }
        return values if run is None else {**values, "CE_JOBRUN": run}


def computed_env(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "type": "literal", "value": v} for k, v in values.items()]


@dataclass
class Secret:
    name: str
    format: str
    data: dict[str, str]
    entity_tag: str
    created_at: dt.datetime
    id: str = field(default_factory=_new_id)
    generated_by: str = "user"  # what secrets created through the API show

    def to_dict(self, project: Project, *, with_data: bool = True) -> dict[str, Any]:
        kind = RESOURCE_TYPES[self.format]
        body = {
            **project.meta(kind, "secrets", self.name, self.id, self.created_at),
            "entity_tag": self.entity_tag,
            "format": self.format,
            "generated_by": self.generated_by,
        }
        return {**body, "data": dict(self.data)} if with_data else body


@dataclass
class ConfigMap:
    name: str
    data: dict[str, str]
    entity_tag: str
    created_at: dt.datetime
    id: str = field(default_factory=_new_id)

    def to_dict(self, project: Project) -> dict[str, Any]:
        """`data` is left out when empty (`config_maps`: Kubernetes omits an empty map)."""
        body = {
            **project.meta("config_map_v2", "config_maps", self.name, self.id, self.created_at),
            "entity_tag": self.entity_tag,
        }
        return {**body, "data": dict(self.data)} if self.data else body


@dataclass(frozen=True)
class JobSpec:
    """What a job runs and how (the SDK's job settings); a job run carries its own copy.
    Defaults as terraform-provider-ibm documents them; None: not set, left out of the JSON."""

    image_reference: str
    image_secret: str | None = None
    run_arguments: list[str] = field(default_factory=list)
    run_as_user: int | None = None
    run_commands: list[str] = field(default_factory=list)
    run_compute_resource_token_enabled: bool | None = None
    run_env_variables: list[dict[str, str]] = field(default_factory=list)
    run_mode: str = "task"
    run_service_account: str = "default"
    run_volume_mounts: list[dict[str, str]] = field(default_factory=list)
    scale_array_spec: str = "0"
    scale_cpu_limit: str = "1"
    scale_ephemeral_storage_limit: str = "400M"
    scale_max_execution_time: int | None = None  # task mode only
    scale_memory_limit: str = "4G"
    scale_retry_limit: int | None = None  # task mode only

    def with_task_defaults(self) -> JobSpec:
        """A task gets a maximum execution time (7200 s) and a retry limit (3) unless set."""
        if self.run_mode != "task":
            return self
        seconds, retries = self.scale_max_execution_time, self.scale_retry_limit
        return dataclasses.replace(
            self,
            scale_max_execution_time=TASK_MAX_EXECUTION_TIME if seconds is None else seconds,
            scale_retry_limit=TASK_RETRY_LIMIT if retries is None else retries,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass
class Job:
    name: str
    spec: JobSpec
    entity_tag: str
    created_at: dt.datetime
    id: str = field(default_factory=_new_id)

    def to_dict(self, project: Project) -> dict[str, Any]:
        return {
            **project.meta("job_v2", "jobs", self.name, self.id, self.created_at),
            **self.spec.to_dict(),
            "entity_tag": self.entity_tag,
            "computed_env_variables": computed_env(project.injected(self.name)),
        }


@dataclass
class JobRun:
    """A submitted run: its own settings (the job's, overridden by the run's) and its origin."""

    name: str
    spec: JobSpec
    created_at: dt.datetime
    job_name: str | None = None  # None: a run with its own image, not of a job
    array_size_override: int | None = None  # `scale_array_size_variable_override`
    id: str = field(default_factory=_new_id)

    def injected(self, project: Project) -> dict[str, str]:
        return project.injected(self.job_name or self.name, self.name)

    def to_dict(self, project: Project, execution: Execution) -> dict[str, Any]:
        body = {
            **project.meta("job_run_v2", "job_runs", self.name, self.id, self.created_at),
            **self.spec.to_dict(),
        }
        if self.array_size_override is not None:
            body["scale_array_size_variable_override"] = self.array_size_override
        if self.job_name is not None:
            body["job_name"] = self.job_name
        body["computed_env_variables"] = computed_env(self.injected(project))
        body["status"] = execution.status
        body["status_details"] = status_details(execution)
        return body


@dataclass
class DomainMapping:
    """A custom domain (`name`) routed to an app (`component`) with the certificate of a TLS
    secret. `status` is `deploying` after each create or update, then `ready` or `failed`; the
    API's example shows `status_details.reason` `ready` for a ready one (`deploying` while it
    deploys, and the reasons of failures, are our guesses).

    `visibility` `custom`: the API's enum (custom, private, project, public) mirrors the console's
    types (Custom, System-private, System-internal, System-public; docs `domainmappings.md`
    #view-domain-mapping-ui), and mappings users create are `Custom`. (The API reference's example
    body shows `public` next to `user_managed: true`; we follow the docs' reading.)"""

    name: str
    component: dict[str, str]
    tls_secret: str
    entity_tag: str
    created_at: dt.datetime
    status: str = "deploying"
    reason: str = "deploying"
    id: str = field(default_factory=_new_id)

    def to_dict(self, project: Project) -> dict[str, Any]:
        return {
            **project.meta(
                "domain_mapping_v2", "domain_mappings", self.name, self.id, self.created_at
            ),
            "cname_target": project.cname_target,
            "component": dict(self.component),
            "entity_tag": self.entity_tag,
            "status": self.status,
            "status_details": {"reason": self.reason},
            "tls_secret": self.tls_secret,
            "user_managed": True,
            "visibility": "custom",
        }
