"""Code Engine v2: the project's builds and build runs; a successful run makes its image runnable.

Known real behaviour (SDK, IBM's SDK integration tests, docs):
- create build 201, create build run 202, get and update 200, delete 202; builds carry an `ETag`
  equal to `entity_tag` and are updated by JSON merge patch with `If-Match`, like jobs.
- a build whose `output_secret` does not exist is still created, but is not registered: its
  status is `failed` with reason `spec_output_secret_ref_not_found`, and its runs fail, until a
  registry secret of that name exists (docs `ts-build-fail-notregisternosecret.md`; Shipwright
  re-validates a build when its secrets change, so the status here is computed at each read).
- a run's name defaults to `<build>-run-<YYMMDD-hhmmss>` (SDK `create_build_run`).
- a build run is `pending`, `running`, then `succeeded` or `failed` (SDK `BuildRun.StatusEnum`).

Locally nothing is built: tests and the demo declare what a repository builds into with
`register_source(source_url, images, revisions=...)`, images keyed by the recipe's path in the
repository (`strategy_spec_file` inside `source_context_dir`, e.g. `Dockerfile.job`). A run waits
`build_seconds` (half `pending`, half `running`) in a background thread, then registers the image
under `output_image` (and `<repository>@<output_digest>`) so that jobs and apps can run it.

Unknown, stricter choices: a run of an unknown build is a 404 (Shipwright would create the run and
fail it with `build_not_found`); a run needs `build_name` (standalone runs are not emulated, 400).
Failure reasons are the SDK enum's, chosen by us: an unregistered build
`invalid_build_configuration`, an unknown `source_url` `missing_code_repo_access`, an unknown
revision or recipe `failed`, a build longer than its `timeout` `timeout`. An output secret of
another format than `registry` counts as missing.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import threading
from collections.abc import Callable, Collection, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from localcloud.code_engine import build_model
from localcloud.code_engine.build_model import Build, BuildRun, BuildSpec
from localcloud.code_engine.checks import (
    JOB_NAME,
    check_if_match,
    check_name,
    conflict,
    invalid,
    not_found,
)
from localcloud.code_engine.job_settings import SERVICE_ACCOUNTS, one_of
from localcloud.code_engine.model import Secret
from localcloud.code_engine.pulls import REGISTRY_FORMAT
from localcloud.code_engine.runner import JOIN_TIMEOUT, Image
from localcloud.code_engine.scope import Scope


@dataclass(frozen=True)
class Source:
    """What a repository builds into: images by recipe path; the revisions it has (None: any)."""

    images: Mapping[str, Image]
    revisions: frozenset[str] | None


class Builds:
    """Callers hold no lock; every method takes the project's."""

    def __init__(
        self,
        scope: Scope,
        *,
        secret: Callable[[str], Secret | None],
        images: MutableMapping[str, Image],
    ) -> None:
        """`secret(name)`: the project's stored secret (a build's output secret)."""
        self._lock = scope.lock
        self._project = scope.project
        self._now = scope.now
        self._tags = scope.tags
        self._secret = secret
        self._images = images
        self._sources: dict[str, Source] = {}
        self._builds: dict[str, Build] = {}
        self._runs: dict[str, BuildRun] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.build_seconds = 0.3  # how long a build run takes, half pending, half running

    def register_source(
        self,
        source_url: str,
        images: Mapping[str, Image],
        *,
        revisions: Collection[str] | None = None,
    ) -> None:
        with self._lock:
            known = None if revisions is None else frozenset(revisions)
            self._sources[source_url] = Source(dict(images), known)

    # -- builds -----------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = check_name(body.get("name"), JOB_NAME, 63)
        settings = build_model.build_settings(body, allowed=build_model.CREATE_FIELDS)
        spec = build_model.new_build_spec(settings)
        with self._lock:
            if name in self._builds:
                raise conflict("Build", name)
            build = self._builds[name] = Build(name, spec, self._tags.next(), self._now())
            return self._show(build)

    def update(self, name: str, if_match: str | None, patch: Mapping[str, Any]) -> dict[str, Any]:
        settings = build_model.build_settings(patch, allowed=build_model.SPEC_FIELDS)
        with self._lock:
            build = self._found(name)
            check_if_match("Build", name, if_match, build.entity_tag)
            build.spec = build_model.checked(dataclasses.replace(build.spec, **settings))
            build.entity_tag = self._tags.next()
            return self._show(build)

    def get(self, name: str) -> dict[str, Any]:
        with self._lock:
            return self._show(self._found(name))

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._show(build) for build in self._builds.values()]

    def delete(self, name: str) -> None:
        """Its runs stay (unknown for real)."""
        with self._lock:
            if self._builds.pop(name, None) is None:
                raise not_found("Build", name)

    # -- build runs -------------------------------------------------------------------------
    def create_run(self, body: Mapping[str, Any]) -> dict[str, Any]:
        settings = build_model.build_settings(body, allowed=build_model.RUN_FIELDS)
        build_name = body.get("build_name")
        if build_name is None:
            raise invalid("Build runs without 'build_name' are not supported by this emulator")
        build_name = check_name(build_name, JOB_NAME, 63, "build_name")
        account = "default"
        if body.get("service_account") is not None:
            account = one_of(body, "service_account", SERVICE_ACCOUNTS)
        with self._lock:
            build = self._found(build_name)
            now = self._now()
            name = body.get("name") or f"{build_name[:48]}-run-{now:%y%m%d-%H%M%S}"
            name = check_name(name, JOB_NAME, 63)
            if name in self._runs:
                raise conflict("Build run", name)
            spec = build_model.checked(dataclasses.replace(build.spec, **settings))
            run = self._runs[name] = BuildRun(name, build_name, spec, now, account)
            thread = threading.Thread(target=self._execute, args=(run,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()
            return run.to_dict(self._project())

    def get_run(self, name: str) -> dict[str, Any]:
        with self._lock:
            return self._found_run(name).to_dict(self._project())

    def list_runs(self, build_name: str | None = None) -> builtins.list[dict[str, Any]]:
        with self._lock:
            project = self._project()
            return [
                run.to_dict(project)
                for run in self._runs.values()
                if build_name is None or run.build_name == build_name
            ]

    def delete_run(self, name: str) -> None:
        """A pending or running run is cancelled: it never produces its image."""
        with self._lock:
            if self._runs.pop(name, None) is None:
                raise not_found("Build run", name)

    def shutdown(self) -> None:
        self._stopping.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(JOIN_TIMEOUT)

    # -- internals ----------------------------------------------------------------------------
    def _found(self, name: str) -> Build:
        build = self._builds.get(name)
        if build is None:
            raise not_found("Build", name)
        return build

    def _found_run(self, name: str) -> BuildRun:
        run = self._runs.get(name)
        if run is None:
            raise not_found("Build run", name)
        return run

    def _registered(self, spec: BuildSpec) -> bool:
        secret = self._secret(spec.output_secret)
        return secret is not None and secret.format == REGISTRY_FORMAT

    def _show(self, build: Build) -> dict[str, Any]:
        return build.to_dict(self._project(), self._registered(build.spec))

    def _execute(self, run: BuildRun) -> None:
        half = self.build_seconds / 2
        if self._stopping.wait(half):
            return
        with self._lock:
            if self._runs.get(run.name) is not run:
                return  # deleted while pending
            run.status, run.reason, run.start_time = "running", "running", self._now()
        if self._stopping.wait(half):
            return
        with self._lock:
            if self._runs.get(run.name) is not run:
                return
            image, reason = self._outcome(run.spec)
            run.completion_time = self._now()
            if image is None:
                run.status, run.reason = "failed", reason
                return
            digest = "sha256:" + hashlib.sha256(f"{run.id}{run.spec}".encode()).hexdigest()
            run.status, run.reason, run.output_digest = "succeeded", "succeeded", digest
            self._images[run.spec.output_image] = image
            self._images[f"{_repository(run.spec.output_image)}@{digest}"] = image

    def _outcome(self, spec: BuildSpec) -> tuple[Image | None, str]:
        """(the image built, or None and the failure reason)."""
        if not self._registered(spec):
            return None, "invalid_build_configuration"
        if spec.timeout < self.build_seconds:
            return None, "timeout"
        source = self._sources.get(spec.source_url or "")
        if source is None:
            return None, "missing_code_repo_access"
        revision = spec.source_revision
        if (
            revision is not None
            and source.revisions is not None
            and revision not in source.revisions
        ):
            return None, "failed"
        image = source.images.get(spec.spec_path)
        return (image, "succeeded") if image is not None else (None, "failed")


def _repository(image: str) -> str:
    """`icr.io/ns/name:tag` -> `icr.io/ns/name` (a tag follows the last `/`)."""
    head, _, last = image.rpartition("/")
    name = last.split("@")[0].split(":")[0]
    return f"{head}/{name}" if head else name
