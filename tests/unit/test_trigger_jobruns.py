"""The job-runs adapter: the unmodified SDK builds and sends each request, a scripted adapter
answers it.

No sockets: `ScriptedTransport`, a `requests` transport adapter mounted on the session the SDK is
given (`set_http_client`), plays Code Engine, answering each request with the next scripted
response (or failing to answer); the adapter's waits are recorded, never slept.
"""

import asyncio
import datetime as dt
import io
import json
from typing import Any

import pytest
import requests
from ibm_cloud_sdk_core.authenticators import BearerTokenAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2
from requests.adapters import HTTPAdapter
from urllib3 import HTTPResponse

from shared.clients import CODE_ENGINE_API_VERSION
from shared.errors import PermanentError, RetryableError
from shared.retry import RetryPolicy
from shared.runs import Retention, RunHistory
from trigger.jobruns import AlreadyExists, CodeEngineJobRuns, Job, Submitted, Timing

NOW = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
URL = "https://api.us-south.codeengine.cloud.ibm.com/v2"
BEARER = "header.payload.signature-not-a-real-token"
QUOTA = b'{"errors":[{"code":"exceeded_quota","message":"job run quota exceeded (limit 100)"}]}'
POLICY = RetryPolicy(attempts=4, total_seconds=60.0, initial_wait=0.5, max_wait=10.0)


def answer(status: int, body: bytes = b"{}", **headers: str) -> HTTPResponse:
    return HTTPResponse(
        body=io.BytesIO(body),
        status=status,
        headers={"content-type": "application/json", **headers},
        preload_content=False,
    )


class ScriptedTransport(HTTPAdapter):
    def __init__(self, *script: HTTPResponse | requests.RequestException) -> None:
        super().__init__()
        self.script = list(script)
        self.requests: list[requests.PreparedRequest] = []

    def send(  # type: ignore[override]  # the keyword arguments `Session.send` passes are unused
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        self.requests.append(request)
        result = self.script.pop(0) if self.script else answer(201)
        if isinstance(result, requests.RequestException):
            raise result
        return self.build_response(request, result)


class Result:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def get_result(self) -> dict[str, Any]:
        return self.body


class FakeRunsApi:
    """What pruning calls (list and delete job runs), over `runs`."""

    def __init__(self, runs: list[dict[str, Any]]) -> None:
        self.runs = runs
        self.deleted: list[str] = []

    def list_job_runs(self, project_id: str, **kwargs: Any) -> Result:
        return Result({"job_runs": [r for r in self.runs if r["job_name"] == kwargs["job_name"]]})

    def delete_job_run(self, project_id: str, name: str, **kwargs: Any) -> Result:
        self.deleted.append(name)
        return Result({})


def finished(name: str, job: str = "certsync", hours_ago: int = 1) -> dict[str, Any]:
    created = (NOW - dt.timedelta(hours=hours_ago)).isoformat()
    return {"name": name, "job_name": job, "status": "completed", "created_at": created}


def sdk_client(transport: ScriptedTransport) -> CodeEngineV2:
    client = CodeEngineV2(
        authenticator=BearerTokenAuthenticator(BEARER), version=CODE_ENGINE_API_VERSION
    )
    client.set_service_url(URL)
    session = requests.Session()
    session.mount("https://", transport)
    client.set_http_client(session)
    return client


def submit(
    transport: ScriptedTransport,
    runs: FakeRunsApi | None = None,
    waits: list[float] | None = None,
    notification_json: str = '{"id":"n"}',
) -> Submitted | AlreadyExists:
    recorded = waits if waits is not None else []

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)

    api = runs or FakeRunsApi([])
    history = RunHistory(api, "p-1", "certsync", Retention(recent=2), policy=RetryPolicy(1))
    adapter = CodeEngineJobRuns(
        Job(sdk_client(transport), "p-1", "certsync"),
        policy=POLICY,
        history=history,
        timing=Timing(now=lambda: NOW, sleep=sleep),
    )
    try:
        return asyncio.run(adapter.submit("certsync-1", notification_json))
    finally:
        adapter.close()


def test_the_sdk_builds_and_authenticates_the_request():
    transport = ScriptedTransport(answer(201))

    assert submit(transport) == Submitted("certsync-1")

    [request] = transport.requests
    assert request.method == "POST"
    assert request.url == f"{URL}/projects/p-1/job_runs?version={CODE_ENGINE_API_VERSION}"
    assert request.headers["Authorization"] == f"Bearer {BEARER}"
    assert request.headers["User-Agent"].startswith("code-engine-python-sdk/")
    body = json.loads(request.body or b"")
    assert body["job_name"] == "certsync"
    assert body["name"] == "certsync-1"
    assert body["run_env_variables"] == [
        {"name": "ibmendata", "type": "literal", "value": '{"id":"n"}'}
    ]


def test_a_409_means_already_submitted():
    transport = ScriptedTransport(answer(409, b'{"errors":[{"message":"exists"}]}'))

    assert submit(transport) == AlreadyExists("certsync-1")


def test_transient_errors_are_retried_with_backoff():
    busy = answer(503, b'{"errors":[{"message":"busy"}]}')
    limited = answer(429, b'{"errors":[{"message":"slow down"}]}', **{"retry-after": "3"})
    dropped = requests.ConnectionError("connection closed before an answer")
    transport = ScriptedTransport(busy, limited, dropped, answer(201))
    waits: list[float] = []

    assert submit(transport, waits=waits) == Submitted("certsync-1", attempts=4)

    assert len(waits) == 3
    assert 0 <= waits[0] <= POLICY.initial_wait * 2
    assert waits[1] >= 3.0  # Retry-After
    assert [r.headers["Authorization"] for r in transport.requests] == [f"Bearer {BEARER}"] * 4


def test_retries_stop_after_the_attempts():
    transport = ScriptedTransport(*(answer(503) for _ in range(10)))

    with pytest.raises(RetryableError, match="HTTP 503"):
        submit(transport)

    assert len(transport.requests) == POLICY.attempts


def test_a_full_quota_prunes_the_jobs_own_finished_runs_then_submits():
    runs = [finished(f"certsync-{i}", hours_ago=i) for i in range(5)]
    runs += [finished("report-1", job="nightly-report", hours_ago=99)]
    api = FakeRunsApi(runs)
    transport = ScriptedTransport(answer(403, QUOTA), answer(201))

    assert submit(transport, api) == Submitted("certsync-1", attempts=2)

    assert api.deleted == ["certsync-2", "certsync-3", "certsync-4"]


def test_a_quota_that_stays_full_is_given_up_on_after_the_attempts():
    transport = ScriptedTransport(*(answer(403, QUOTA) for _ in range(POLICY.attempts)))

    with pytest.raises(RetryableError, match=r"deleted 0 finished run\(s\) of job 'certsync'"):
        submit(transport)


def test_a_403_that_is_not_the_quota_is_permanent_and_prunes_nothing():
    api = FakeRunsApi([finished(f"certsync-{i}", hours_ago=i) for i in range(5)])
    transport = ScriptedTransport(answer(403, b'{"errors":[{"message":"not authorized"}]}'))

    with pytest.raises(PermanentError, match="not authorized") as info:
        submit(transport, api)

    assert not isinstance(info.value, RetryableError)
    assert api.deleted == []
    assert len(transport.requests) == 1


def test_errors_name_no_notification_content():
    transport = ScriptedTransport(*(answer(403, QUOTA) for _ in range(POLICY.attempts)))
    secret_text = json.dumps({"id": "n", "data": {"secrets": [{"secret_id": "s-1"}]}})

    with pytest.raises(RetryableError) as info:
        submit(transport, notification_json=secret_text)

    assert "s-1" not in str(info.value)
