"""Code Engine through `ibm-code-engine-sdk`: the mappings config map, the webhook token secret,
the builds, the job and the trigger app.

Code Engine's v2 resources have no description or labels, so certsync marks its own with a
`CERTSYNC_MANAGED_BY` key (config map and secret data) or environment variable (job and app).
Builds cannot carry one: a build is certsync's when its name is one certsync gives and its output
image is a certsync image (`<registry>/certsync-<job|trigger>:<tag>`).

Reads and writes return what they learn in the `Found` handle: the webhook token (`token`, masked)
and the ready app's URL (`url`).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deploy.ce_waits import run_build, wait_for_app
from deploy.clients import Clients
from deploy.config import Config
from deploy.model import MARKER_KEY, Facts, Found, Kind, Known, Resource
from deploy.sizing import canonical
from deploy.workloads import TOKEN_KEY, sort_env
from shared.errors import NotFoundError
from shared.settings import SecretValue

Progress = Callable[[str], None]
ENV_KEYS = ("type", "name", "value", "reference", "key", "prefix")
JOB_FIELDS = (
    "image_reference",
    "image_secret",
    "run_compute_resource_token_enabled",
    "scale_retry_limit",
    "scale_max_execution_time",
    "scale_cpu_limit",
    "scale_memory_limit",
)
APP_FIELDS = (
    "image_reference",
    "image_secret",
    "image_port",
    "run_compute_resource_token_enabled",
    "scale_min_instances",
    "scale_cpu_limit",
    "scale_memory_limit",
)
BUILD_FIELDS = (
    "output_image",
    "output_secret",
    "source_type",
    "source_url",
    "source_revision",
    "strategy_type",
    "strategy_spec_file",
)


@dataclass(frozen=True)
class Api:
    """One kind of Code Engine resource in `CodeEngineV2`: its get, create and delete take
    `project_id` and `name`; config maps and secrets are replaced with their fields
    (`replace_<kind>`), builds, jobs and apps patched with the spec as one argument
    (`update_build(build=...)`, `update_job(job=...)`, `update_app(app=...)`)."""

    what: str
    get: Callable[..., Any]
    create: Callable[..., Any]
    update: Callable[..., Any]
    delete: Callable[..., Any]
    patch: str | None = None  # the update's argument holding the spec; None: replaced by fields


class CodeEngine:
    kinds: tuple[Kind, ...] = (Kind.CONFIG_MAP, Kind.SECRET, Kind.BUILD, Kind.JOB, Kind.APP)

    def __init__(self, clients: Clients, config: Config, facts: Facts, progress: Progress) -> None:
        self.clients = clients
        self.config = config
        self.project = facts.project_id
        self.progress = progress
        sdk = clients.code_engine
        self.apis = {
            Kind.CONFIG_MAP: Api(
                "config map",
                sdk.get_config_map,
                sdk.create_config_map,
                sdk.replace_config_map,
                sdk.delete_config_map,
            ),
            Kind.SECRET: Api(
                "secret", sdk.get_secret, sdk.create_secret, sdk.replace_secret, sdk.delete_secret
            ),
            Kind.BUILD: Api(
                "build",
                sdk.get_build,
                sdk.create_build,
                sdk.update_build,
                sdk.delete_build,
                "build",
            ),
            Kind.JOB: Api(
                "job", sdk.get_job, sdk.create_job, sdk.update_job, sdk.delete_job, "job"
            ),
            Kind.APP: Api(
                "app", sdk.get_app, sdk.create_app, sdk.update_app, sdk.delete_app, "app"
            ),
        }
        self.readers: dict[Kind, Callable[[str, dict[str, Any]], Found]] = {
            Kind.CONFIG_MAP: self._config_map,
            Kind.SECRET: self._secret,
            Kind.BUILD: self._build,
            Kind.JOB: lambda name, body: self._workload(Kind.JOB, name, body, JOB_FIELDS),
            Kind.APP: lambda name, body: self._workload(Kind.APP, name, body, APP_FIELDS),
        }

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> list[Found]:
        c = self.config
        names = [
            (Kind.CONFIG_MAP, c.config_map_name),
            (Kind.SECRET, c.webhook_secret_name),
            *((Kind.BUILD, f"{c.name}-{component}") for component in ("job", "trigger")),
            (Kind.JOB, c.job_name),
            (Kind.APP, c.app_name),
        ]
        found = [self._read(kind, name) for kind, name in names]
        return [f for f in found if f is not None]

    def _read(self, kind: Kind, name: str) -> Found | None:
        try:
            body = self._get(kind, name)
        except NotFoundError:
            return None
        return self.readers[kind](name, body)

    def _get(self, kind: Kind, name: str) -> dict[str, Any]:
        api = self.apis[kind]
        return self.clients.call(
            lambda: api.get(project_id=self.project, name=name),
            f"get Code Engine {api.what} '{name}'",
        )

    def _config_map(self, name: str, body: dict[str, Any]) -> Found:
        data = dict(body.get("data") or {})
        managed = data.get(MARKER_KEY) == self.config.name
        return Found(Kind.CONFIG_MAP, name, {"data": data}, managed, _tag(body))

    def _secret(self, name: str, body: dict[str, Any]) -> Found:
        data = dict(body.get("data") or {})
        handle = {**_tag(body), "data_keys": sorted(data)}
        if body.get("format") == "generic" and data.get(TOKEN_KEY):
            handle["token"] = SecretValue(data[TOKEN_KEY])
        spec = {"format": body.get("format"), "keys": sorted(data)}
        return Found(Kind.SECRET, name, spec, data.get(MARKER_KEY) == self.config.name, handle)

    def _build(self, name: str, body: dict[str, Any]) -> Found:
        spec = {k: body.get(k) for k in BUILD_FIELDS}
        image = str(body.get("output_image") or "")
        component = name.removeprefix(f"{self.config.name}-")
        managed = f"/certsync-{component}:" in image
        return Found(Kind.BUILD, name, spec, managed, _tag(body))

    def _workload(
        self, kind: Kind, name: str, body: dict[str, Any], fields: tuple[str, ...]
    ) -> Found:
        env = [
            {k: v for k, v in var.items() if k in ENV_KEYS and v not in (None, "")}
            for var in body.get("run_env_variables") or []
        ]
        spec: dict[str, Any] = canonical({k: body.get(k) for k in fields})
        spec["run_compute_resource_token_enabled"] = bool(
            spec["run_compute_resource_token_enabled"]
        )
        spec["run_env_variables"] = sort_env(env)
        managed = any(
            v.get("name") == MARKER_KEY and v.get("value") == self.config.name
            for v in spec["run_env_variables"]
        )
        return Found(kind, name, spec, managed, {**_tag(body), **_url(body)})

    # -- writing ---------------------------------------------------------------------------
    def create(self, resource: Resource, known: Known) -> Found:
        api, name = self.apis[resource.kind], resource.name
        fields = self._fields(resource, {})
        body = self.clients.call(
            lambda: api.create(project_id=self.project, name=name, **fields),
            f"create Code Engine {api.what} '{name}'",
        )
        return self._done(resource, fields, body)

    def update(self, resource: Resource, found: Found, known: Known) -> Found:
        api, name = self.apis[resource.kind], resource.name
        etag = str(found.handle.get("entity_tag") or "*")
        if api.patch is not None:
            fields = {api.patch: resource.spec}
        else:  # replaced: a secret keeps what it holds (its token is generated once)
            held = self._get(resource.kind, name) if resource.kind is Kind.SECRET else {}
            fields = self._fields(resource, dict(held.get("data") or {}))
        body = self.clients.call(
            lambda: api.update(project_id=self.project, name=name, if_match=etag, **fields),
            f"update Code Engine {api.what} '{name}'",
        )
        return self._done(resource, fields, body)

    def _fields(self, resource: Resource, held: dict[str, Any]) -> dict[str, Any]:
        """The create's (and a replace's) fields: the spec, or for the webhook secret its data
        with a token generated once."""
        if resource.kind is not Kind.SECRET:
            return dict(resource.spec)
        data = {**held, MARKER_KEY: self.config.name}
        data.setdefault(TOKEN_KEY, secrets.token_hex(32))
        return {"format": "generic", "data": data}

    def _done(self, resource: Resource, fields: dict[str, Any], body: dict[str, Any]) -> Found:
        """After a write: a build runs, an app is waited for; the handle has what was learnt."""
        handle = _tag(body)
        if resource.kind is Kind.BUILD:
            run_build(self.clients, self.project, resource.name, self.progress)
        elif resource.kind is Kind.APP:
            handle |= _url(wait_for_app(self.clients, self.project, resource.name, self.progress))
        elif resource.kind is Kind.SECRET:
            handle["token"] = SecretValue(fields["data"][TOKEN_KEY])
        return Found(resource.kind, resource.name, resource.spec, True, handle)

    def delete(self, found: Found) -> None:
        api = self.apis[found.kind]
        with contextlib.suppress(NotFoundError):  # already gone
            self.clients.call(
                lambda: api.delete(project_id=self.project, name=found.name),
                f"delete {found.kind.value} '{found.name}'",
            )


def _tag(body: dict[str, Any]) -> dict[str, Any]:
    return {"entity_tag": body.get("entity_tag")}


def _url(app: dict[str, Any]) -> dict[str, str]:
    """The app's public URL once it is ready (an app's `endpoint`); nothing before."""
    endpoint = app.get("endpoint")
    if app.get("status") != "ready" or not endpoint:
        return {}
    return {"url": str(endpoint).rstrip("/")}
