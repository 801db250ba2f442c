"""Code Engine job runs behind the calls the trigger makes; the SDK stays on this side."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2, EnvVarPrototype

from shared.errors import CertsyncError, ConflictError, QuotaExceededError, RetryableError
from shared.retry import RetryPolicy, call_with_retry
from shared.runs import RunHistory
from shared.sdk import call_once
from trigger.runs import NOTIFICATION_VARIABLE


@dataclass(frozen=True)
class Submitted:
    name: str
    attempts: int = 1


@dataclass(frozen=True)
class AlreadyExists:
    """A run with this name exists: an earlier delivery of the same notification submitted it."""

    name: str
    attempts: int = 1


class JobRuns(Protocol):
    def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        """Start run `name` of the job with the notification (retrying transient failures);
        raise a `CertsyncError` when it cannot be done."""
        ...


class CodeEngineJobRuns:
    """`JobRuns` over the Code Engine SDK, retried under `policy` (blocking: call it from a
    worker thread).

    When the project's job-run quota is full, the job's own finished runs beyond the retention
    are deleted (`history`, whose calls are part of this attempt and not retried on their own)
    and the submission is tried again under the same policy; runs of other jobs are never touched.
    """

    def __init__(
        self,
        client: CodeEngineV2,
        project_id: str,
        job_name: str,
        *,
        policy: RetryPolicy,
        history: RunHistory,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._client = client
        self._project_id = project_id
        self._job_name = job_name
        self._policy = policy
        self._history = history
        self._clock = clock

    def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        attempts = 0

        def attempt() -> Submitted | AlreadyExists:
            nonlocal attempts
            attempts += 1
            return self._create(name, notification_json, attempts)

        what = f"create job run {name!r} of job {self._job_name!r}"
        return call_with_retry(attempt, self._policy, operation=what)

    def _create(
        self, name: str, notification_json: str, attempts: int
    ) -> Submitted | AlreadyExists:
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
                what=f"create job run {name!r} of job {self._job_name!r}",
            )
        except ConflictError as exc:
            if exc.status == 409:
                return AlreadyExists(name, attempts)
            raise
        except QuotaExceededError as exc:
            raise self._make_room(exc) from None
        return Submitted(name, attempts)

    def _make_room(self, refused: QuotaExceededError) -> CertsyncError:
        try:
            pruned = self._history.prune(self._clock())
        except CertsyncError as exc:
            return RetryableError(f"{refused}; deleting finished job runs failed too: {exc}")
        return RetryableError(
            f"{refused}; deleted {len(pruned.deleted)} finished run(s) of job "
            f"{self._job_name!r} to make room",
            status=refused.status,
        )
