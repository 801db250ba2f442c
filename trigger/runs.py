"""The job runs one rotation starts: compact notifications that fit Code Engine's size limit.

Code Engine limits a job run to 10 KiB, environment variables included (`limits.md`, "Job
limits"). Each run carries the rotation as a compact notification (`shared.events.compact`) in
the `ibmendata` variable; a batch that would not fit one run is split into several, each naming
some of the secrets, every secret in exactly one of them. Sizes are measured on the request body
as the Code Engine SDK sends it (`json.dumps` of the request, default separators), with the
longest run name possible, against a budget of 6 KiB: the 4 KiB left are for the job's own
definition, which may count towards a run's size (undocumented; certsync's job is about 2 KiB).
Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from shared.events import Notification, compact
from shared.run_names import MAX_RUN_NAME, ROTATION, run_name

# The variable Event Notifications sets when it starts a job itself; the job reads the same one.
NOTIFICATION_VARIABLE = "ibmendata"
MAX_RUN_BYTES = 10 * 1024  # Code Engine's limit for a job run
RUN_BUDGET = 6 * 1024  # what certsync lets a run request reach; the job's definition may count


class TooLarge(ValueError):
    """Even one secret per run would not fit: the notification's own fields are too long."""


@dataclass(frozen=True)
class RunRequest:
    name: str
    notification_json: str  # the compact notification, the value of `ibmendata`
    secret_ids: tuple[str, ...]


def run_request_body(job_name: str, name: str, notification_json: str) -> bytes:
    """The `create_job_run` body the SDK sends for one run (what the size limit applies to)."""
    variable = {"name": NOTIFICATION_VARIABLE, "type": "literal", "value": notification_json}
    body = {"job_name": job_name, "name": name, "run_env_variables": [variable]}
    return json.dumps(body).encode()


def run_request_size(job_name: str, notification_json: str) -> int:
    """The body's size with the longest run name possible."""
    return len(run_request_body(job_name, "x" * MAX_RUN_NAME, notification_json))


def plan_runs(
    job_name: str, notification: Notification, budget: int = RUN_BUDGET
) -> tuple[RunRequest, ...]:
    """One run per rotation, or several when the secrets do not fit one; names deterministic."""
    secret_ids = list(dict.fromkeys(notification.secret_ids))
    text = _text(notification, secret_ids)
    if run_request_size(job_name, text) <= budget:  # the usual case
        return (
            RunRequest(run_name(job_name, ROTATION, notification.key), text, tuple(secret_ids)),
        )
    groups = _pack(job_name, notification, secret_ids, budget)
    key = notification.key
    if len(groups) == 1:
        names = [run_name(job_name, ROTATION, key)]
    else:
        names = [run_name(job_name, ROTATION, key, part) for part in range(1, len(groups) + 1)]
    return tuple(
        RunRequest(name, _text(notification, ids), tuple(ids))
        for name, ids in zip(names, groups, strict=True)
    )


def _pack(
    job_name: str, notification: Notification, secret_ids: list[str], budget: int
) -> list[list[str]]:
    """Greedy, in the notification's order: each group as large as the budget allows."""

    def fits(ids: list[str]) -> bool:
        return run_request_size(job_name, _text(notification, ids)) <= budget

    groups: list[list[str]] = []
    for secret_id in secret_ids:
        if groups and fits([*groups[-1], secret_id]):
            groups[-1].append(secret_id)
        elif fits([secret_id]):
            groups.append([secret_id])
        else:
            raise TooLarge(
                f"the notification's fields are too long to pass to a job run "
                f"(over {budget} bytes with a single secret)"
            )
    return groups


def _text(notification: Notification, secret_ids: Sequence[str]) -> str:
    return json.dumps(compact(notification, secret_ids), separators=(",", ":"))
