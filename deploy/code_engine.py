"""Code Engine through `ibm-code-engine-sdk`: the mappings config map, the webhook token secret,
the builds, the job and the trigger app.

Code Engine's v2 resources have no description or labels, so certsync marks its own with a
`CERTSYNC_MANAGED_BY` key (config map and secret data) or environment variable (job and app).
Builds cannot carry one: a build is certsync's when its name is one certsync gives and its output
image is a certsync image (`<registry>/certsync-<job|trigger>:<tag>`).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from deploy.clients import Clients, wait_for_status
from deploy.code_engine_specs import (
    APP_FIELDS,
    BUILD_FIELDS,
    JOB_FIELDS,
    BuildFailed,
    app_not_ready,
    workload_spec,
)
from deploy.config import Config
from deploy.model import MARKER_KEY, Facts, Found, Kind, Resource
from deploy.workloads import TOKEN_KEY
from shared.errors import NotFoundError

Progress = Callable[[str], None]
BUILD_TIMEOUT = 1800.0  # a Code Engine build may take up to its `timeout` (default 600 s)
APP_TIMEOUT = 600.0


class CodeEngine:
    kinds: tuple[Kind, ...] = (Kind.CONFIG_MAP, Kind.SECRET, Kind.BUILD, Kind.JOB, Kind.APP)

    def __init__(
        self,
        clients: Clients,
        config: Config,
        facts: Facts,
        progress: Progress,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clients = clients
        self.config = config
        self.facts = facts
        self.progress = progress
        self.sleep = sleep
        self.sdk = clients.code_engine
        self._token: str | None = None
        self._app: dict[str, Any] | None = None

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> list[Found]:
        c = self.config
        found = [
            self._config_map(c.config_map_name),
            self._secret(c.webhook_secret_name),
            *(self._build(f"{c.name}-{component}") for component in ("job", "trigger")),
            self._workload(Kind.JOB, c.job_name),
            self._workload(Kind.APP, c.app_name),
        ]
        return [f for f in found if f is not None]

    def _get(self, request: Callable[[], Any], what: str) -> dict[str, Any] | None:
        try:
            return self.clients.call(request, what)
        except NotFoundError:
            return None

    def _config_map(self, name: str) -> Found | None:
        body = self._get(
            lambda: self.sdk.get_config_map(project_id=self.facts.project_id, name=name),
            f"get Code Engine config map '{name}'",
        )
        if body is None:
            return None
        data = dict(body.get("data") or {})
        spec = {"data": data}
        return Found(
            Kind.CONFIG_MAP,
            name,
            spec,
            data.get(MARKER_KEY) == self.config.name,
            {"entity_tag": body.get("entity_tag")},
        )

    def _secret(self, name: str) -> Found | None:
        body = self._get(
            lambda: self.sdk.get_secret(project_id=self.facts.project_id, name=name),
            f"get Code Engine secret '{name}'",
        )
        if body is None:
            return None
        data = dict(body.get("data") or {})
        if body.get("format") == "generic" and data.get(TOKEN_KEY):
            self._token = data[TOKEN_KEY]
        spec = {"format": body.get("format"), "keys": sorted(data)}
        return Found(
            Kind.SECRET,
            name,
            spec,
            data.get(MARKER_KEY) == self.config.name,
            {"entity_tag": body.get("entity_tag"), "data_keys": sorted(data)},
        )

    def _build(self, name: str) -> Found | None:
        body = self._get(
            lambda: self.sdk.get_build(project_id=self.facts.project_id, name=name),
            f"get Code Engine build '{name}'",
        )
        if body is None:
            return None
        spec = {k: body.get(k) for k in BUILD_FIELDS}
        image = str(body.get("output_image") or "")
        component = name.removeprefix(f"{self.config.name}-")
        managed = f"/certsync-{component}:" in image
        return Found(Kind.BUILD, name, spec, managed, {"entity_tag": body.get("entity_tag")})

    def _workload(self, kind: Kind, name: str) -> Found | None:
        if kind is Kind.JOB:
            body = self._get(
                lambda: self.sdk.get_job(project_id=self.facts.project_id, name=name),
                f"get Code Engine job '{name}'",
            )
            fields = JOB_FIELDS
        else:
            body = self._get(
                lambda: self.sdk.get_app(project_id=self.facts.project_id, name=name),
                f"get Code Engine app '{name}'",
            )
            fields = APP_FIELDS
            self._app = body
        if body is None:
            return None
        spec = workload_spec(body, fields)
        managed = any(
            v.get("name") == MARKER_KEY and v.get("value") == self.config.name
            for v in spec["run_env_variables"]
        )
        return Found(kind, name, spec, managed, {"entity_tag": body.get("entity_tag")})

    # -- what other adapters need ------------------------------------------------------------
    def webhook_token(self) -> str:
        """The bearer token, as stored in the webhook secret (read or created by now)."""
        if self._token is None:
            raise RuntimeError("the webhook secret has not been read or created yet")
        return self._token

    def app_url(self) -> str | None:
        if self._app is None or self._app.get("status") != "ready":
            return None
        endpoint = self._app.get("endpoint")
        return str(endpoint).rstrip("/") if endpoint else None

    # -- writing ---------------------------------------------------------------------------
    def create(self, resource: Resource) -> None:
        project, name, spec = self.facts.project_id, resource.name, resource.spec
        if resource.kind is Kind.CONFIG_MAP:
            self.clients.call(
                lambda: self.sdk.create_config_map(
                    project_id=project, name=name, data=spec["data"]
                ),
                f"create Code Engine config map '{name}'",
            )
        elif resource.kind is Kind.SECRET:
            self._token = secrets.token_hex(32)
            data = {TOKEN_KEY: self._token, MARKER_KEY: self.config.name}
            self.clients.call(
                lambda: self.sdk.create_secret(
                    project_id=project, format="generic", name=name, data=data
                ),
                f"create Code Engine secret '{name}'",
            )
        elif resource.kind is Kind.BUILD:
            self.clients.call(
                lambda: self.sdk.create_build(project_id=project, name=name, **spec),
                f"create Code Engine build '{name}'",
            )
            self._run_build(name)
        elif resource.kind is Kind.JOB:
            self.clients.call(
                lambda: self.sdk.create_job(project_id=project, name=name, **spec),
                f"create Code Engine job '{name}'",
            )
        elif resource.kind is Kind.APP:
            self.clients.call(
                lambda: self.sdk.create_app(project_id=project, name=name, **spec),
                f"create Code Engine app '{name}'",
            )
            self._wait_for_app(name)

    def update(self, resource: Resource, found: Found) -> None:
        project, name, spec = self.facts.project_id, resource.name, resource.spec
        etag = str(found.handle.get("entity_tag") or "*")
        if resource.kind is Kind.CONFIG_MAP:
            self.clients.call(
                lambda: self.sdk.replace_config_map(
                    project_id=project, name=name, if_match=etag, data=spec["data"]
                ),
                f"update Code Engine config map '{name}'",
            )
        elif resource.kind is Kind.SECRET:
            self._update_secret(name, etag)
        elif resource.kind is Kind.BUILD:
            self.clients.call(
                lambda: self.sdk.update_build(
                    project_id=project, name=name, if_match=etag, build=spec
                ),
                f"update Code Engine build '{name}'",
            )
            self._run_build(name)
        elif resource.kind is Kind.JOB:
            self.clients.call(
                lambda: self.sdk.update_job(project_id=project, name=name, if_match=etag, job=spec),
                f"update Code Engine job '{name}'",
            )
        elif resource.kind is Kind.APP:
            self.clients.call(
                lambda: self.sdk.update_app(project_id=project, name=name, if_match=etag, app=spec),
                f"update Code Engine app '{name}'",
            )
            self._wait_for_app(name)

    def _update_secret(self, name: str, etag: str) -> None:
        """Add what is missing, keeping an existing token (it is generated once)."""
        body = self.clients.call(
            lambda: self.sdk.get_secret(project_id=self.facts.project_id, name=name),
            f"get Code Engine secret '{name}'",
        )
        data = dict(body.get("data") or {})
        data.setdefault(TOKEN_KEY, secrets.token_hex(32))
        data[MARKER_KEY] = self.config.name
        self._token = data[TOKEN_KEY]
        self.clients.call(
            lambda: self.sdk.replace_secret(
                project_id=self.facts.project_id,
                name=name,
                if_match=etag,
                format="generic",
                data=data,
            ),
            f"update Code Engine secret '{name}'",
        )

    def delete(self, found: Found) -> None:
        project, name = self.facts.project_id, found.name
        requests = {
            Kind.CONFIG_MAP: lambda: self.sdk.delete_config_map(project_id=project, name=name),
            Kind.SECRET: lambda: self.sdk.delete_secret(project_id=project, name=name),
            Kind.BUILD: lambda: self.sdk.delete_build(project_id=project, name=name),
            Kind.JOB: lambda: self.sdk.delete_job(project_id=project, name=name),
            Kind.APP: lambda: self.sdk.delete_app(project_id=project, name=name),
        }
        with contextlib.suppress(NotFoundError):  # already gone
            self.clients.call(requests[found.kind], f"delete {found.kind.value} '{name}'")

    # -- waiting -----------------------------------------------------------------------------
    def _run_build(self, build: str) -> None:
        run = self.clients.call(
            lambda: self.sdk.create_build_run(project_id=self.facts.project_id, build_name=build),
            f"start a run of Code Engine build '{build}'",
        )
        run_name = str(run["name"])
        self.progress(f"building '{build}' (build run '{run_name}')")
        body = self._wait(
            lambda: self.clients.call(
                lambda: self.sdk.get_build_run(project_id=self.facts.project_id, name=run_name),
                f"get Code Engine build run '{run_name}'",
            ),
            done=lambda b: b.get("status") in {"succeeded", "failed"},
            label=f"build run '{run_name}'",
            timeout=BUILD_TIMEOUT,
        )
        if body.get("status") != "succeeded":
            reason = (body.get("status_details") or {}).get("reason") or "no reason given"
            raise BuildFailed(
                f"Code Engine build run '{run_name}' failed ({reason}); see "
                f"`ibmcloud ce buildrun logs --name {run_name}`"
            )

    def _wait_for_app(self, name: str) -> None:
        self.progress(f"waiting for app '{name}' to be ready")
        self._app = self._wait(
            lambda: self.clients.call(
                lambda: self.sdk.get_app(project_id=self.facts.project_id, name=name),
                f"get Code Engine app '{name}'",
            ),
            # `warning` is final too (SDK `App.StatusEnum`): the new revision failed and an
            # earlier one serves (docs `appdeploy-access.md`, "Ready (with warnings)").
            done=lambda b: b.get("status") in {"ready", "failed", "warning"},
            label=f"app '{name}'",
            timeout=APP_TIMEOUT,
        )
        if self._app.get("status") != "ready":
            raise BuildFailed(app_not_ready(name, self._app))

    def _wait(
        self,
        get: Callable[[], dict[str, Any]],
        *,
        done: Callable[[dict[str, Any]], bool],
        label: str,
        timeout: float,
    ) -> dict[str, Any]:
        body, final = wait_for_status(
            get, done=done, label=label, timeout=timeout, progress=self.progress, sleep=self.sleep
        )
        if not final:
            raise BuildFailed(f"{label} still '{body.get('status')}' after {timeout:.0f} s")
        return body
