"""Code Engine job runs behind the one call the trigger makes; the SDK stays on this side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2, EnvVarPrototype

from shared.errors import ConflictError
from shared.sdk import call_once

# The variable Event Notifications sets when it starts a job itself; the job reads the same one.
NOTIFICATION_VARIABLE = "ibmendata"


@dataclass(frozen=True)
class Submitted:
    name: str


@dataclass(frozen=True)
class AlreadyExists:
    """A run with this name exists: an earlier delivery of the same notification submitted it."""

    name: str


class JobRuns(Protocol):
    def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        """Start run `name` of the job with the notification; raise a `CertsyncError`."""
        ...


class CodeEngineJobRuns:
    """`JobRuns` over the Code Engine SDK (blocking: call it from a worker thread)."""

    def __init__(self, client: CodeEngineV2, project_id: str, job_name: str) -> None:
        self._client = client
        self._project_id = project_id
        self._job_name = job_name

    def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        what = f"create job run {name!r} of job {self._job_name!r}"
        variable = EnvVarPrototype(
            type="literal", name=NOTIFICATION_VARIABLE, value=notification_json
        )
        try:
            call_once(
                lambda: self._client.create_job_run(
                    self._project_id,
                    job_name=self._job_name,
                    name=name,
                    run_env_variables=[variable],
                ),
                what=what,
            )
        except ConflictError as exc:
            if exc.status == 409:
                return AlreadyExists(name)
            raise
        return Submitted(name)
