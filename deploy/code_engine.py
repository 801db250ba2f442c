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
# Each kind's name in `CodeEngineV2`'s methods (`get_<api>`, `create_<api>`, ...), and how it is
# changed: config maps and secrets are replaced with their fields (`replace_<api>`), builds, jobs
# and apps patched with the spec as one argument (`update_job(job=...)`).
APIS = {
    Kind.CONFIG_MAP: ("config_map", False),
    Kind.SECRET: ("secret", False),
    Kind.BUILD: ("build", True),
    Kind.JOB: ("job", True),
    Kind.APP: ("app", True),
}


class CodeEngine:
    kinds: tuple[Kind, ...] = tuple(APIS)

    def __init__(self, clients: Clients, config: Config, facts: Facts, progress: Progress) -> None:
        self.clients = clients
        self.config = config
        self.project = facts.project_id
        self.progress = progress
        self.readers: dict[Kind, Callable[[str, dict[str, Any]], Found]] = {
            Kind.CONFIG_MAP: self._config_map,
            Kind.SECRET: self._secret,
            Kind.BUILD: self._build,
            Kind.JOB: lambda name, body: self._workload(Kind.JOB, name, body),
            Kind.APP: lambda name, body: self._workload(Kind.APP, name, body),
        }

    def _call(self, verb: str, kind: Kind, **fields: Any) -> dict[str, Any]:
        """`get`, `create`, `update` (`replace_<api>` or `update_<api>`) or `delete` of `kind`."""
        api, patched = APIS[kind]
        method = "replace" if verb == "update" and not patched else verb
        request = getattr(self.clients.code_engine, f"{method}_{api}")
        what = f"{verb} {kind.value} '{fields['name']}'"
        return self.clients.call(lambda: request(project_id=self.project, **fields), what)

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
            body = self._call("get", kind, name=name)
        except NotFoundError:
            return None
        return self.readers[kind](name, body)

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
        image = str(body.get("output_image") or "")
        component = name.removeprefix(f"{self.config.name}-")
        managed = f"/certsync-{component}:" in image
        return Found(Kind.BUILD, name, body, managed, _tag(body))

    def _workload(self, kind: Kind, name: str, body: dict[str, Any]) -> Found:
        """A job or an app as `plan` compares it: sizes and variables normalised."""
        env = [
            {k: v for k, v in var.items() if k in ENV_KEYS and v not in (None, "")}
            for var in body.get("run_env_variables") or []
        ]
        spec: dict[str, Any] = canonical(body)
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
        fields = self._fields(resource, {})
        body = self._call("create", resource.kind, name=resource.name, **fields)
        return self._done(resource, fields, body)

    def update(self, resource: Resource, found: Found, known: Known) -> Found:
        kind, name = resource.kind, resource.name
        api, patched = APIS[kind]
        if patched:
            fields = {api: resource.spec}
        else:  # replaced: a secret keeps what it holds (its token is generated once)
            held = self._call("get", kind, name=name) if kind is Kind.SECRET else {}
            fields = self._fields(resource, dict(held.get("data") or {}))
        etag = str(found.handle.get("entity_tag") or "*")
        body = self._call("update", kind, name=name, if_match=etag, **fields)
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
        with contextlib.suppress(NotFoundError):  # already gone
            self._call("delete", found.kind, name=found.name)


def _tag(body: dict[str, Any]) -> dict[str, Any]:
    return {"entity_tag": body.get("entity_tag")}


def _url(app: dict[str, Any]) -> dict[str, str]:
    """The app's public URL once it is ready (an app's `endpoint`); nothing before."""
    endpoint = app.get("endpoint")
    if app.get("status") != "ready" or not endpoint:
        return {}
    return {"url": str(endpoint).rstrip("/")}
