import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest
import requests
from ibm_cloud_sdk_core import ApiException

from shared.errors import PermanentError, RetryableError
from shared.retry import RetryPolicy
from shared.runs import Retention, RunHistory
from trigger.jobruns import AlreadyExists, CodeEngineJobRuns, Submitted

NOW = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
QUOTA = b'{"errors":[{"code":"exceeded_quota","message":"job run quota exceeded (limit 100)"}]}'


def refusal(status: int, body: bytes) -> ApiException:
    response = requests.Response()
    response.status_code = status
    response._content = body
    return ApiException(status, http_response=response)


class Result:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def get_result(self) -> dict[str, Any]:
        return self.body


class FakeCodeEngine:
    """create_job_run answers from `answers` in turn; list/delete over `runs`."""

    def __init__(self, answers: list[ApiException | None], runs: list[dict[str, Any]]) -> None:
        self.answers = answers
        self.runs = runs
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []

    def create_job_run(self, project_id: str, **kwargs: Any) -> Result:
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer
        self.created.append(kwargs)
        return Result({"name": kwargs["name"]})

    def list_job_runs(self, project_id: str, **kwargs: Any) -> Result:
        return Result({"job_runs": [r for r in self.runs if r["job_name"] == kwargs["job_name"]]})

    def delete_job_run(self, project_id: str, name: str, **kwargs: Any) -> Result:
        self.deleted.append(name)
        return Result({})


def finished(name: str, job: str = "certsync", hours_ago: int = 1) -> dict[str, Any]:
    created = (NOW - dt.timedelta(hours=hours_ago)).isoformat()
    return {"name": name, "job_name": job, "status": "completed", "created_at": created}


POLICY = RetryPolicy(attempts=4, total_seconds=60.0, initial_wait=0.5, max_wait=10.0)


def job_runs(fake: FakeCodeEngine, waits: list[float] | None = None) -> CodeEngineJobRuns:
    once = RetryPolicy(attempts=1)
    history = RunHistory(fake, "p-1", "certsync", Retention(recent=2), policy=once)
    policy = replace(POLICY, sleep=(waits if waits is not None else []).append)
    return CodeEngineJobRuns(
        fake, "p-1", "certsync", policy=policy, history=history, clock=lambda: NOW
    )


def test_the_compact_notification_goes_into_ibmendata():
    fake = FakeCodeEngine([None], [])

    assert job_runs(fake).submit("certsync-1", '{"id":"n"}') == Submitted("certsync-1")
    [created] = fake.created
    assert created["job_name"] == "certsync"
    [variable] = created["run_env_variables"]
    assert (variable.type, variable.name, variable.value) == ("literal", "ibmendata", '{"id":"n"}')


def test_a_409_means_already_submitted():
    fake = FakeCodeEngine([refusal(409, b'{"errors":[{"message":"exists"}]}')], [])

    assert job_runs(fake).submit("certsync-1", "{}") == AlreadyExists("certsync-1")


def test_transient_errors_are_retried_with_backoff():
    busy = refusal(503, b'{"errors":[{"message":"busy"}]}')
    limited = refusal(429, b'{"errors":[{"message":"slow down"}]}')
    limited.http_response.headers["Retry-After"] = "3"
    fake = FakeCodeEngine([busy, limited, None], [])
    waits: list[float] = []

    assert job_runs(fake, waits).submit("certsync-1", "{}") == Submitted("certsync-1", attempts=3)

    assert len(waits) == 2
    assert 0 <= waits[0] <= POLICY.initial_wait * 2
    assert waits[1] >= 3.0  # Retry-After


def test_retries_stop_after_the_attempts():
    fake = FakeCodeEngine([refusal(503, b"{}")] * 10, [])

    with pytest.raises(RetryableError):
        job_runs(fake).submit("certsync-1", "{}")

    assert len(fake.answers) == 10 - POLICY.attempts


def test_a_full_quota_prunes_the_jobs_own_finished_runs_then_submits():
    runs = [finished(f"certsync-{i}", hours_ago=i) for i in range(5)]
    runs += [finished("report-1", job="nightly-report", hours_ago=99)]
    fake = FakeCodeEngine([refusal(403, QUOTA), None], runs)

    assert job_runs(fake).submit("certsync-new", "{}") == Submitted("certsync-new", attempts=2)

    assert fake.deleted == ["certsync-2", "certsync-3", "certsync-4"]


def test_a_quota_that_stays_full_is_given_up_on_after_the_attempts():
    fake = FakeCodeEngine([refusal(403, QUOTA)] * POLICY.attempts, [])

    with pytest.raises(RetryableError, match=r"deleted 0 finished run\(s\) of job 'certsync'"):
        job_runs(fake).submit("certsync-new", "{}")


def test_a_403_that_is_not_the_quota_is_permanent_and_prunes_nothing():
    fake = FakeCodeEngine([refusal(403, b'{"errors":[{"message":"not authorized"}]}')], [])

    with pytest.raises(PermanentError) as info:
        job_runs(fake).submit("certsync-new", "{}")

    assert not isinstance(info.value, RetryableError)
    assert fake.deleted == []


def test_quota_message_names_no_notification_content():
    fake = FakeCodeEngine([refusal(403, QUOTA)], [])
    secret_text = json.dumps({"id": "n", "data": {"secrets": [{"secret_id": "s-1"}]}})

    fake.answers *= POLICY.attempts
    with pytest.raises(RetryableError) as info:
        job_runs(fake).submit("certsync-new", secret_text)

    assert "s-1" not in str(info.value)
