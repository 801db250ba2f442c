"""The job-runs adapter: the unmodified SDK builds each request, a scripted transport answers it.

No sockets: `ScriptedTransport` plays Code Engine, answering each request the SDK prepared with the
next scripted response (or failing to answer); its waits are recorded, never slept.
"""

import asyncio
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import pytest
from ibm_cloud_sdk_core.authenticators import BearerTokenAuthenticator, IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2

from shared.clients import CODE_ENGINE_API_VERSION
from shared.errors import PermanentError, RetryableError
from shared.retry import RetryPolicy
from shared.runs import Retention, RunHistory
from trigger.http import Response, TransportError
from trigger.jobruns import (
    AlreadyExists,
    CodeEngineJobRuns,
    Submitted,
    api_exception,
    request_builder,
    token_is_fresh,
)

NOW = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
URL = "https://api.us-south.codeengine.cloud.ibm.com/v2"
BEARER = "header.payload.signature-not-a-real-token"
QUOTA = b'{"errors":[{"code":"exceeded_quota","message":"job run quota exceeded (limit 100)"}]}'
POLICY = RetryPolicy(attempts=4, total_seconds=60.0, initial_wait=0.5, max_wait=10.0)


def answer(status: int, body: bytes = b"{}", **headers: str) -> Response:
    return Response(status, {"content-type": "application/json", **headers}, body)


class ScriptedTransport:
    def __init__(self, *script: Response | TransportError) -> None:
        self.script = list(script)
        self.requests: list[Mapping[str, Any]] = []

    async def send(self, request: Mapping[str, Any]) -> Response:
        self.requests.append(request)
        result = self.script.pop(0) if self.script else answer(201)
        if isinstance(result, TransportError):
            raise result
        return result


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


def sdk_client() -> CodeEngineV2:
    client = CodeEngineV2(
        authenticator=BearerTokenAuthenticator(BEARER), version=CODE_ENGINE_API_VERSION
    )
    client.set_service_url(URL)
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
        sdk_client(),
        "p-1",
        "certsync",
        transport=transport,
        policy=POLICY,
        history=history,
        clock=lambda: NOW,
        sleep=sleep,
    )
    return asyncio.run(adapter.submit("certsync-1", notification_json))


def test_the_sdk_builds_and_authenticates_the_request():
    transport = ScriptedTransport(answer(201))

    assert submit(transport) == Submitted("certsync-1")

    [request] = transport.requests
    assert request["method"] == "POST"
    assert request["url"] == f"{URL}/projects/p-1/job_runs"
    assert request["params"] == {"version": CODE_ENGINE_API_VERSION}
    assert request["headers"]["Authorization"] == f"Bearer {BEARER}"
    assert request["headers"]["User-Agent"].startswith("code-engine-python-sdk/")
    body = json.loads(request["data"])
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
    dropped = TransportError("connection closed before an answer: ConnectionResetError")
    transport = ScriptedTransport(busy, limited, dropped, answer(201))
    waits: list[float] = []

    assert submit(transport, waits=waits) == Submitted("certsync-1", attempts=4)

    assert len(waits) == 3
    assert 0 <= waits[0] <= POLICY.initial_wait * 2
    assert waits[1] >= 3.0  # Retry-After
    assert [r["headers"]["Authorization"] for r in transport.requests] == [f"Bearer {BEARER}"] * 4


def test_retries_stop_after_the_attempts():
    transport = ScriptedTransport(*[answer(503)] * 10)

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
    transport = ScriptedTransport(*[answer(403, QUOTA)] * POLICY.attempts)

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
    transport = ScriptedTransport(*[answer(403, QUOTA)] * POLICY.attempts)
    secret_text = json.dumps({"id": "n", "data": {"secrets": [{"secret_id": "s-1"}]}})

    with pytest.raises(RetryableError) as info:
        submit(transport, notification_json=secret_text)

    assert "s-1" not in str(info.value)


def test_an_error_answer_becomes_the_sdks_own_api_exception():
    exc = api_exception(
        answer(
            404, b'{"errors":[{"message":"job not found"}]}', **{"x-global-transaction-id": "tx-1"}
        )
    )

    assert (exc.status_code, exc.message, exc.global_transaction_id) == (
        404,
        "job not found",
        "tx-1",
    )


def test_the_builder_returns_requests_and_leaves_the_client_sending():
    client = sdk_client()

    builder = request_builder(client)

    assert builder.authenticator is client.authenticator  # one token cache
    assert isinstance(builder.create_job_run("p-1", job_name="j", name="r"), dict)
    assert client.send is not builder.send


@pytest.mark.parametrize(
    ("token", "refresh_in", "expire_in", "fresh"),
    [
        ("t", 600, 900, True),
        ("t", 10, 900, False),  # due for refresh within the margin: the SDK would ask IAM
        ("t", 600, 10, False),
        (None, 600, 900, False),  # never fetched
    ],
)
def test_a_token_is_fresh_only_when_authenticating_makes_no_request(
    token, refresh_in, expire_in, fresh
):
    client = CodeEngineV2(authenticator=IAMAuthenticator("an-api-key-for-the-test-0123"))
    manager = client.authenticator.token_manager
    manager.access_token = token
    manager.refresh_time = 1_000_000 + refresh_in
    manager.expire_time = 1_000_000 + expire_in

    assert token_is_fresh(client, now=lambda: 1_000_000.0) is fresh


def test_an_authenticator_without_tokens_to_fetch_is_always_fresh():
    assert token_is_fresh(sdk_client())
