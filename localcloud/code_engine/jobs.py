"""Code Engine v2: the project's jobs.

create 201, get and update 200, delete 202 (IBM's SDK integration tests `test/integration/
test_v2.py`); update is a JSON merge patch that needs `If-Match` (`*` for any version), like
apps. What a job may hold is `job_settings`'; a job of at most 10 KiB (`checks.check_size`, docs
`limits.md`).
"""

from __future__ import annotations

import builtins  # `list` in annotations: the class has a `list` method
from collections.abc import Mapping
from typing import Any

from localcloud.code_engine import job_settings
from localcloud.code_engine.checks import (
    JOB_NAME,
    check_if_match,
    check_name,
    check_size,
    conflict,
    invalid,
    not_found,
)
from localcloud.code_engine.model import Job
from localcloud.code_engine.scope import Scope


class Jobs:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self._jobs: dict[str, Job] = {}

    # -- the API ----------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any], *, size: int | None = None) -> dict[str, Any]:
        """`size`: the request body's bytes (None: measure `body`, see `check_size`)."""
        check_size(body, size, "job")
        name = check_name(body.get("name"), JOB_NAME, 63)
        if "image_reference" not in body:
            raise invalid("'image_reference' is required")
        settings = job_settings.job_settings(body, allowed=job_settings.JOB_FIELDS)
        spec = job_settings.new_job_spec(settings)
        scope = self._scope
        with scope.lock:
            if name in self._jobs:
                raise conflict("Job", name)
            job = self._jobs[name] = Job(name, spec, scope.tags.next(), scope.now())
            return job.to_dict(scope.project())

    def update(
        self, name: str, if_match: str | None, patch: Mapping[str, Any], *, size: int | None = None
    ) -> dict[str, Any]:
        """JSON merge patch with the same If-Match rules as `Secrets.replace`."""
        check_size(patch, size, "job")
        settings = job_settings.job_settings(patch, allowed=job_settings.PATCH_FIELDS)
        with self._scope.lock:
            job = self._found(name)
            check_if_match("Job", name, if_match, job.entity_tag)
            job.spec = job_settings.patched(job.spec, settings)
            job.entity_tag = self._scope.tags.next()
            return job.to_dict(self._scope.project())

    def get(self, name: str) -> dict[str, Any]:
        with self._scope.lock:
            return self._found(name).to_dict(self._scope.project())

    def delete(self, name: str) -> None:
        with self._scope.lock:
            if self._jobs.pop(name, None) is None:
                raise not_found("Job", name)

    def list(self) -> builtins.list[dict[str, Any]]:
        with self._scope.lock:
            project = self._scope.project()
            return [job.to_dict(project) for job in self._jobs.values()]

    # -- what the rest of the project asks ----------------------------------------------------
    def stored(self) -> Mapping[str, Job]:
        """The stored jobs by name (job runs read their job's spec; the project's lock held)."""
        return self._jobs

    def _found(self, name: str) -> Job:
        found = self._jobs.get(name)
        if found is None:
            raise not_found("Job", name)
        return found
