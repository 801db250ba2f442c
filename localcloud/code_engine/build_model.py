"""Code Engine v2 builds and build runs as the emulator stores them, their settings checked, and
their JSON as the SDK's `Build` and `BuildRun` show it (example bodies: the SDK's unit tests).

Defaults as terraform-provider-ibm documents them for `ibm_code_engine_build` (source_type `git`,
strategy_spec_file `Dockerfile`, strategy_size `medium`, timeout 600); enums are the SDK's.
`source_url` is required for `git` sources (SDK `create_build`).

Unknown, stricter choices: unknown body fields are a 400; `source_type` `local` is a 400 (its
source is uploaded by the CLI, which the emulator does not emulate); `timeout` must be 1..3600;
build names are DNS labels of at most 63 characters, like jobs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.code_engine.checks import SECRET_NAME, check_name, invalid, pick
from localcloud.code_engine.clock import iso
from localcloud.code_engine.job_settings import bounded, check_env_vars, image_of, one_of
from localcloud.code_engine.model import Project

STRATEGY_TYPES = {"dockerfile", "buildpacks"}
STRATEGY_SIZES = {"small", "medium", "large", "xlarge", "xxlarge"}
SOURCE_TYPES = {"git", "local"}
MAX_TIMEOUT = 3600


@dataclass(frozen=True)
class BuildSpec:
    output_image: str
    output_secret: str
    strategy_type: str
    run_build_params: list[dict[str, str]] = field(default_factory=list)
    source_context_dir: str | None = None
    source_revision: str | None = None
    source_secret: str | None = None
    source_type: str = "git"
    source_url: str | None = None
    strategy_size: str = "medium"
    strategy_spec_file: str | None = None
    timeout: int = 600

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @property
    def spec_path(self) -> str:
        """Where the image's recipe is in the repository: `<source_context_dir>/<spec file>`
        (buildpacks: the context directory itself)."""
        folder = (self.source_context_dir or "").strip("/")
        if self.strategy_type == "buildpacks":
            return folder or "."
        spec = self.strategy_spec_file or "Dockerfile"
        return f"{folder}/{spec}" if folder else spec


SPEC_FIELDS = {f.name for f in dataclasses.fields(BuildSpec)}
CREATE_FIELDS = SPEC_FIELDS | {"name"}
RUN_FIELDS = SPEC_FIELDS | {"build_name", "name", "service_account"}


@dataclass
class Build:
    name: str
    spec: BuildSpec
    entity_tag: str
    created_at: dt.datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_dict(self, project: Project, registered: bool) -> dict[str, Any]:
        """`registered`: whether its output secret is a registry secret of the project; if not,
        the build is `failed` with reason `spec_output_secret_ref_not_found` (docs
        `ts-build-fail-notregisternosecret.md`: "The Build is not registered correctly ...
        SpecOutputSecretRefNotFound"; the SDK's `BuildStatus` reasons)."""
        reason = "registered" if registered else "spec_output_secret_ref_not_found"
        return {
            **project.meta("build_v2", "builds", self.name, self.id, self.created_at),
            **self.spec.to_dict(),
            "entity_tag": self.entity_tag,
            "status": "ready" if registered else "failed",
            "status_details": {"reason": reason},
        }


@dataclass
class BuildRun:
    """A build run: its own copy of the build's settings, and how far it got."""

    name: str
    build_name: str
    spec: BuildSpec
    created_at: dt.datetime
    service_account: str = "default"
    status: str = "pending"  # pending, running, succeeded, failed (SDK enum)
    reason: str = "pending"
    start_time: dt.datetime | None = None
    completion_time: dt.datetime | None = None
    output_digest: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_dict(self, project: Project) -> dict[str, Any]:
        details: dict[str, Any] = {"reason": self.reason}
        if self.start_time is not None:
            details["start_time"] = iso(self.start_time)
        if self.completion_time is not None:
            details["completion_time"] = iso(self.completion_time)
        if self.output_digest is not None:
            details["output_digest"] = self.output_digest
            details["git_branch_name"] = self.spec.source_revision or "main"
        return {
            **project.meta("build_run_v2", "build_runs", self.name, self.id, self.created_at),
            **self.spec.to_dict(),
            "build_name": self.build_name,
            "service_account": self.service_account,
            "status": self.status,
            "status_details": details,
        }


def build_settings(body: Mapping[str, Any], *, allowed: set[str]) -> dict[str, Any]:
    """Validated build settings present in `body` (no defaults applied)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(f"Unknown field(s): {', '.join(unknown)}")
    out: dict[str, Any] = {}
    if body.get("output_image") is not None:
        out["output_image"] = image_of(body["output_image"])
    for name in ("output_secret", "source_secret"):
        if body.get(name) is not None:
            out[name] = check_name(body[name], SECRET_NAME, 253, name)
    if body.get("strategy_type") is not None:
        out["strategy_type"] = one_of(body, "strategy_type", STRATEGY_TYPES)
    if body.get("strategy_size") is not None:
        out["strategy_size"] = one_of(body, "strategy_size", STRATEGY_SIZES)
    if body.get("source_type") is not None:
        out["source_type"] = one_of(body, "source_type", SOURCE_TYPES)
        if out["source_type"] == "local":
            raise invalid("Builds of source_type 'local' are not supported by this emulator")
    for name in ("source_context_dir", "source_revision", "source_url", "strategy_spec_file"):
        if body.get(name) is not None:
            out[name] = pick(body, name, str)
    if body.get("timeout") is not None:
        out["timeout"] = bounded(body, "timeout", 1, MAX_TIMEOUT)
    if "run_build_params" in body:
        out["run_build_params"] = check_env_vars(body["run_build_params"], "run_build_params")
    return out


def checked(spec: BuildSpec) -> BuildSpec:
    """The whole spec's rules: a git source needs its URL; a Dockerfile build names its file."""
    if spec.source_type == "git" and not spec.source_url:
        raise invalid("'source_url' is required when 'source_type' is 'git'")
    if spec.strategy_type == "dockerfile" and spec.strategy_spec_file is None:
        return dataclasses.replace(spec, strategy_spec_file="Dockerfile")
    return spec


def new_build_spec(settings: dict[str, Any]) -> BuildSpec:
    for required in ("output_image", "output_secret", "strategy_type"):
        if required not in settings:
            raise invalid(f"'{required}' is required")
    return checked(BuildSpec(**settings))
