"""certsync's own job-run history: which finished runs to delete so the project never fills up.

A Code Engine project holds at most 100 job runs, of all its jobs together, and keeps a run
submitted through the API for a week after it completes (`limits.md`; `run-job.md`: "Job runs that
complete are automatically deleted after one week"). One run per rotation would fill that quota
in a busy week, and then every run, the user's own jobs' included, is refused. So certsync deletes
its own job's finished runs beyond what people need to read: the `recent` newest, plus failed ones
younger than `failed_days` (at most `MAX_FAILED_KEPT` of them) to investigate. It never touches a
pending or running run, the run doing the pruning, or a run of any other job.

The job prunes after every run (it knows its job from `CE_JOB`); the trigger prunes when Code
Engine refuses a submission because the quota is full. The policy is pure; `RunHistory` is the
adapter over the Code Engine SDK.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shared.errors import NotFoundError
from shared.retry import RetryPolicy
from shared.sdk import PAGE_SIZE, call_api, call_pages
from shared.settings import EnvReader

FINISHED = frozenset({"completed", "failed"})
MAX_FAILED_KEPT = 20
RETENTION_VARIABLES = ("CERTSYNC_KEEP_RUNS", "CERTSYNC_KEEP_FAILED_DAYS")


@dataclass(frozen=True)
class Retention:
    recent: int = 10  # finished runs kept, newest first, whatever their outcome
    failed_days: int = 3  # older failed runs kept this long (at most MAX_FAILED_KEPT)

    @classmethod
    def from_env(cls, env: EnvReader) -> Retention:
        """`CERTSYNC_KEEP_RUNS` (1-90, default 10), `CERTSYNC_KEEP_FAILED_DAYS` (0-7, default 3)."""
        return cls(
            recent=env.integer("CERTSYNC_KEEP_RUNS", cls.recent, minimum=1, maximum=90),
            failed_days=env.integer(
                "CERTSYNC_KEEP_FAILED_DAYS", cls.failed_days, minimum=0, maximum=7
            ),
        )


@dataclass(frozen=True)
class RunInfo:
    """A job run as listed: enough to decide whether it may go."""

    name: str
    job_name: str | None
    status: str
    created_at: dt.datetime | None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> RunInfo:
        return cls(
            name=str(body.get("name") or ""),
            job_name=body.get("job_name"),
            status=str(body.get("status") or ""),
            created_at=_timestamp(body.get("created_at")),
        )


def runs_to_delete(
    runs: Sequence[RunInfo],
    *,
    job_name: str,
    retention: Retention,
    now: dt.datetime,
    current: str | None = None,
) -> list[str]:
    """Names of `job_name`'s finished runs that the retention does not keep, newest first."""
    mine = sorted(
        (
            (when, r.name, r.status)
            for r in runs
            if (when := r.created_at) is not None  # an age we cannot read: keep the run
            and r.job_name == job_name
            and r.status in FINISHED
            and r.name != current
        ),
        reverse=True,
    )
    older = mine[retention.recent :]
    cutoff = now - dt.timedelta(days=retention.failed_days)
    failed_kept = [name for when, name, status in older if status == "failed" and when >= cutoff]
    keep = set(failed_kept[:MAX_FAILED_KEPT])
    return [name for _, name, _ in older if name not in keep]


class JobRunsApi(Protocol):
    """The SDK calls pruning makes (ibm_code_engine_sdk CodeEngineV2)."""

    def list_job_runs(self, project_id: str, **kwargs: Any) -> Any: ...

    def delete_job_run(self, project_id: str, name: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Pruned:
    deleted: tuple[str, ...]
    kept: int  # finished runs of the job left in place


class RunHistory:
    """List and delete one job's runs in one project, each call under the retry policy."""

    def __init__(
        self,
        api: JobRunsApi,
        project_id: str,
        job_name: str,
        retention: Retention,
        *,
        policy: RetryPolicy,
    ) -> None:
        self._api = api
        self._project = project_id
        self._job = job_name
        self._retention = retention
        self._policy = policy

    def prune(self, now: dt.datetime, current: str | None = None) -> Pruned:
        runs = self.list()
        doomed = runs_to_delete(
            runs, job_name=self._job, retention=self._retention, now=now, current=current
        )
        for name in doomed:
            self._delete(name)
        finished = sum(1 for r in runs if r.job_name == self._job and r.status in FINISHED)
        return Pruned(tuple(doomed), finished - len(doomed))

    def list(self) -> list[RunInfo]:
        from ibm_code_engine_sdk.code_engine_v2 import JobRunsPager

        pager = JobRunsPager(
            client=self._api, project_id=self._project, job_name=self._job, limit=PAGE_SIZE
        )
        listed = call_pages(pager, what=f"list job runs of job {self._job!r}", policy=self._policy)
        return [RunInfo.from_body(r) for r in listed]

    def _delete(self, name: str) -> None:
        # A run already gone was deleted by Code Engine, a person, or another run's pruning.
        with contextlib.suppress(NotFoundError):
            call_api(
                lambda: self._api.delete_job_run(self._project, name),
                what=f"delete job run {name!r}",
                policy=self._policy,
            )


def _timestamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
