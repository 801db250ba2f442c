"""The webhook over real HTTP: the app served by uvicorn on loopback, a recording fake `JobRuns`.

Each test leaves the `serving` block before asserting on submissions: uvicorn's shutdown waits
for background tasks, so every submission a request could have caused has happened by then.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import structlog
import uvicorn
from starlette.applications import Starlette
from structlog.typing import EventDict

from tests.unit.test_trigger_settings import SM_CRN, TOKEN, environ
from trigger.app import create_app
from trigger.jobruns import AlreadyExists, Submitted
from trigger.naming import job_run_name
from trigger.settings import Settings
from trigger.submitter import Submitter

JOB = "certsync"
SECRET_ID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def notification(event: str = "secret_rotated", **changes: Any) -> dict[str, Any]:
    """A notification as Event Notifications delivers it for a Secrets Manager event."""
    body: dict[str, Any] = {
        "id": "6f1c8a52-0d3e-4b7a-9c21-3e5f7a9b0c1d",
        "notification_id": "2d4f6a8c-1b3d-4e5f-8a7b-9c0d1e2f3a4b",
        "source": SM_CRN,
        "specversion": "1.0",
        "type": f"com.ibm.cloud.secrets-manager.{event}",
        "time": "2026-11-28T01:00:00.000000Z",
        "datacontenttype": "application/json",
        "ibmensourceid": SM_CRN,
        "ibmenseverity": "low",
        "ibmendefaultshort": "Your 1 public certificate secret rotated",
        "ibmendefaultlong": "You have 1 public certificate secret that rotated: web-cert.",
        "data": {
            "event_type": event,
            "secret_type": "public_cert",
            "secrets": [
                {
                    "secret_id": SM_CRN.removesuffix("::") + f":secret:{SECRET_ID}",
                    "secret_name": "web-cert",
                    "secret_group_id": "default",
                    "serial_number": "3a:9f:01",
                    "domains": "example.com, www.example.com",
                    "secret_expiration": "2027-02-26T01:00:00Z",
                    "event_time": "2026-11-28T01:00:00Z",
                    "event_triggered_by": "iam-ServiceId-secrets-manager",
                }
            ],
            "source_instance_crn": SM_CRN,
            "source_service": "SecretsManager",
        },
    }
    body |= changes
    return body


class RecordingJobRuns:
    """A fake `JobRuns`: records each call; `gate` (if given) holds calls until it is set."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.gate = gate
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        with self._lock:
            seen = any(n == name for n, _ in self.calls)
            self.calls.append((name, notification_json))
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        return AlreadyExists(name) if seen else Submitted(name)


def build(
    job_runs: RecordingJobRuns | None = None, **env: Any
) -> tuple[Starlette, RecordingJobRuns, Submitter]:
    fake = job_runs or RecordingJobRuns()
    submitter = Submitter(fake)
    return create_app(Settings.from_env(environ(**env)), submitter), fake, submitter


@contextlib.contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 in a thread; shut it down gracefully on exit."""
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only then (without
    # it, Nagle's algorithm and delayed ACKs add 40 ms to every response).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive())
        assert server.started, "the app did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(f"{url}/events", data=data, headers=AUTH if headers is None else headers)


# -- accepted --------------------------------------------------------------------------------


def test_a_rotation_is_acknowledged_and_its_job_run_submitted() -> None:
    app, fake, _ = build()
    sent = notification()

    with serving(app) as url:
        response = post(url, sent)

    expected = job_run_name(JOB, notification()["notification_id"])
    assert response.status_code == 202
    assert response.json() == {"job_run": expected, "job_runs": [expected]}
    [(name, passed_on)] = fake.calls
    assert name == expected
    assert json.loads(passed_on) == {  # compact: what the job reads, and the correlation keys
        "id": sent["id"],
        "notification_id": sent["notification_id"],
        "type": sent["type"],
        "time": sent["time"],
        "data": {
            "event_type": "secret_rotated",
            "secret_type": "public_cert",
            "secrets": [{"secret_id": SECRET_ID}],
        },
    }


def test_a_batch_too_large_for_one_run_is_split_into_several() -> None:
    app, fake, _ = build()
    body = notification()
    long_ids = [f"{i:03}" + "a" * 125 for i in range(100)]  # the longest ids Secrets Manager has
    body["data"]["secrets"] = [{"secret_id": i} for i in long_ids]

    with serving(app) as url:
        response = post(url, body)
        wait_for(lambda: len(fake.calls) == len(response.json()["job_runs"]))

    names = response.json()["job_runs"]
    assert response.status_code == 202
    assert len(names) > 1
    assert response.json()["job_run"] == names[0]
    assert sorted(name for name, _ in fake.calls) == sorted(names)
    texts = [text for _, text in sorted(fake.calls)]
    passed_on = [s["secret_id"] for text in texts for s in json.loads(text)["data"]["secrets"]]
    assert sorted(passed_on) == sorted(long_ids)


@pytest.mark.parametrize(
    "secret_type", ["arbitrary", "iam_credentials", "username_password", "kv", None]
)
def test_a_rotation_of_other_secret_types_is_ignored(secret_type: str | None) -> None:
    app, fake, _ = build()
    body = notification()
    body["data"]["secret_type"] = secret_type

    with structlog.testing.capture_logs() as logs, serving(app) as url:
        response = post(url, body)

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert fake.calls == []
    [line] = request_lines(logs)
    assert line["outcome"] == "ignored"


def test_without_a_notification_id_the_name_comes_from_the_id() -> None:
    app, fake, _ = build()
    body = notification()
    del body["notification_id"]

    with serving(app) as url:
        response = post(url, body)

    assert response.json()["job_run"] == job_run_name(JOB, body["id"])
    assert [name for name, _ in fake.calls] == [job_run_name(JOB, body["id"])]


def test_the_qualified_type_alone_identifies_the_event() -> None:
    app, fake, _ = build()
    body = notification()
    del body["data"]["event_type"]

    with serving(app) as url:
        response = post(url, body)

    assert response.status_code == 202
    assert len(fake.calls) == 1


def test_a_redelivery_during_the_submission_makes_one_run() -> None:
    gate = threading.Event()
    app, fake, submitter = build(RecordingJobRuns(gate))

    with structlog.testing.capture_logs() as logs, serving(app) as url:
        first = post(url, notification())
        assert fake.entered.wait(5)
        second = post(url, notification())
        wait_for(lambda: any(e["event"] == "job_run_skipped" for e in list(logs)))
        gate.set()

    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert len(fake.calls) == 1
    assert submitter.in_flight == frozenset()


def test_a_later_redelivery_is_submitted_under_the_same_name() -> None:
    app, fake, _ = build()

    with structlog.testing.capture_logs() as logs, serving(app) as url:
        post(url, notification())
        wait_for(lambda: len(fake.calls) == 1)
        post(url, notification())

    [(first, _), (second, _)] = fake.calls
    assert first == second  # Code Engine answers 409 to the second: already submitted
    events = [e["event"] for e in logs if e["event"].startswith("job_run")]
    assert events == ["job_run_submitted", "job_run_exists"]


def test_a_cloudevents_json_content_type_is_accepted() -> None:
    app, _, _ = build()

    with serving(app) as url:
        response = post(
            url, notification(), {**AUTH, "Content-Type": "application/json; charset=utf-8"}
        )
        response2 = post(
            url, notification(), {**AUTH, "Content-Type": "application/cloudevents+json"}
        )

    assert response.status_code == response2.status_code == 202


def test_without_a_token_configured_no_header_is_needed() -> None:
    app, fake, _ = build(CERTSYNC_WEBHOOK_TOKEN=None, CERTSYNC_ALLOW_UNAUTHENTICATED="true")

    with serving(app) as url:
        response = post(url, notification(), {"Content-Type": "application/json"})

    assert response.status_code == 202
    assert len(fake.calls) == 1


def test_an_allowed_source_is_accepted() -> None:
    app, fake, _ = build(CERTSYNC_ALLOWED_SOURCES=SM_CRN.removesuffix("::"))

    with serving(app) as url:
        response = post(url, notification())

    assert response.status_code == 202
    assert len(fake.calls) == 1


# -- acknowledged without a run --------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "status"),
    [("test_event", "ok"), ("secret_created", "ignored"), ("secret_deleted", "ignored")],
)
def test_other_events_are_acknowledged_without_a_run(event: str, status: str) -> None:
    app, fake, _ = build()
    body = notification(event)
    if event == "test_event":
        body["data"] = {"event_type": "test_event", "source_instance_crn": SM_CRN}

    with serving(app) as url:
        response = post(url, body)

    assert response.status_code == 200
    assert response.json() == {"status": status, "event_type": event}
    assert fake.calls == []


@pytest.mark.parametrize(
    "event", ["secret_about_to_expire", "secret_expired", "secret_rotation_failed"]
)
def test_events_a_person_must_act_on_are_logged_as_warnings(event: str) -> None:
    app, fake, _ = build()

    with structlog.testing.capture_logs() as logs, serving(app) as url:
        response = post(url, notification(event, type=f"com.ibm.cloud.secrets-manager.{event}"))

    assert response.status_code == 200
    assert response.json() == {"status": "logged", "event_type": event}
    assert fake.calls == []
    [warning] = [e for e in logs if e["event"] == "secret_problem_reported"]
    assert warning["log_level"] == "warning"
    assert warning["secrets"] == [
        {
            "secret_id": SECRET_ID,
            "name": "web-cert",
            "expiration": "2027-02-26T01:00:00Z",
            "serial_number": "3a:9f:01",
        }
    ]


def test_healthz() -> None:
    app, _, _ = build()

    with serving(app) as url:
        response = requests.get(f"{url}/healthz")

    assert response.status_code == 200


# -- rejected --------------------------------------------------------------------------------


def rejected(url: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
    response = post(url, body, headers)
    assert "error" in response.json()
    return response


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {**AUTH, "Authorization": "Bearer wrong-token-0123456789"},
        {**AUTH, "Authorization": f"Bearer {TOKEN}x"},
        {**AUTH, "Authorization": f"Basic {TOKEN}"},
        {**AUTH, "Authorization": TOKEN},
        {**AUTH, "Authorization": "Bearer"},
        {**AUTH, "Authorization": "Bearer \u00e9t\u00e9"},
    ],
    ids=["missing", "wrong", "longer", "basic", "no-scheme", "empty", "latin-1"],
)
def test_a_missing_or_wrong_token_is_401(headers: dict[str, str]) -> None:
    app, fake, _ = build()

    with serving(app) as url:
        response = rejected(url, notification(), headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert fake.calls == []


def test_the_token_is_checked_before_anything_else() -> None:
    app, _, _ = build()

    with serving(app) as url:
        wrong_type = rejected(url, b"x" * 300_000, {"Content-Type": "text/plain"})

    assert wrong_type.status_code == 401


def test_the_bearer_scheme_is_case_insensitive() -> None:
    app, _, _ = build()

    with serving(app) as url:
        response = post(url, notification(), {**AUTH, "Authorization": f"bearer {TOKEN}"})

    assert response.status_code == 202


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_content_type_other_than_json_is_415(content_type: str | None) -> None:
    app, fake, _ = build()
    headers = {"Authorization": AUTH["Authorization"]}
    if content_type is not None:
        headers["Content-Type"] = content_type

    with serving(app) as url:
        response = rejected(url, notification(), headers)

    assert response.status_code == 415
    assert fake.calls == []


def test_a_body_over_256_kib_is_413() -> None:
    app, fake, _ = build()
    body = json.dumps(notification(padding="x" * (256 * 1024))).encode()

    with serving(app) as url, requests.Session() as session:
        response = session.post(f"{url}/events", data=body, headers=AUTH)
        after = session.post(f"{url}/events", data=b"{}", headers=AUTH)  # the connection is fine

    assert response.status_code == 413
    assert "error" in response.json()
    assert after.status_code == 400
    assert fake.calls == []


def test_a_streamed_body_over_the_limit_is_413_whatever_its_length_header_says() -> None:
    app, fake, _ = build()

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to trust
        yield b'{"id": "1", "data": {"event_type": "secret_rotated", "pad": "'
        for _ in range(300):
            yield b"x" * 1024
        yield b'"}}'

    with serving(app) as url:
        response = requests.post(f"{url}/events", data=chunks(), headers=AUTH)

    assert response.status_code == 413
    assert fake.calls == []


def test_a_body_of_exactly_256_kib_is_read() -> None:
    app, _, _ = build()
    body = notification()
    size = len(json.dumps(body | {"padding": ""}).encode())
    body["padding"] = "x" * (256 * 1024 - size)

    with serving(app) as url:
        response = post(url, body)

    assert response.status_code == 202


def unchanged_but(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(notification())
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps(notification()).encode("utf-16"),
        [notification()],
        unchanged_but(("id",), None),
        unchanged_but(("data",), "rotated"),
        unchanged_but(("data", "secrets"), "web-cert"),
        unchanged_but(("data", "secrets"), []),
        unchanged_but(("data", "secrets"), [{"secret_id": SECRET_ID}] * 101),
        unchanged_but(("data", "secrets", 0, "secret_id"), "../../etc/passwd"),
        unchanged_but(("data", "secrets", 0, "secret_id"), 42),
        unchanged_but(("data", "event_type"), ["secret_rotated"]),
    ],
    ids=[
        "empty",
        "not-json",
        "not-utf-8",
        "deeply-nested",
        "utf-16",
        "array",
        "no-id",
        "data-not-object",
        "secrets-not-array",
        "rotation-without-secrets",
        "too-many-secrets",
        "bad-secret-id",
        "secret-id-not-string",
        "event-type-not-string",
    ],
)
def test_a_malformed_notification_is_400(body: Any) -> None:
    app, fake, _ = build()

    with serving(app) as url:
        response = rejected(url, body)

    assert response.status_code == 400
    assert fake.calls == []


@pytest.mark.parametrize(
    "source_crn",
    [
        SM_CRN.replace("9f8e7d6c", "0therins"),
        None,
        "crn:v1:bluemix:public:event-notifications:us-south:a/0123abcd:9f8e7d6c-1111-2222-3333::",
    ],
    ids=["other-instance", "missing", "other-service"],
)
def test_a_source_not_allowed_is_403(source_crn: str | None) -> None:
    app, fake, _ = build(CERTSYNC_ALLOWED_SOURCES=SM_CRN)
    body = unchanged_but(("data", "source_instance_crn"), source_crn)

    with serving(app) as url:
        response = rejected(url, body)

    assert response.status_code == 403
    assert fake.calls == []


def test_an_unexpected_error_is_logged_and_answered_without_a_5xx() -> None:
    # A collaborator with a bug: a job name that is not a string breaks naming.
    fake = RecordingJobRuns()
    submitter = Submitter(fake)
    broken = Settings(**{**vars(Settings.from_env(environ())), "job_name": None})
    app = create_app(broken, submitter)

    with structlog.testing.capture_logs() as logs, serving(app) as url:
        response = rejected(url, notification())

    assert response.status_code == 400
    assert fake.calls == []
    [failure] = [e for e in logs if e["event"] == "request_failed"]
    assert failure["log_level"] == "error"
    assert failure["exc_info"] is True


# -- logs ------------------------------------------------------------------------------------


def request_lines(logs: list[EventDict]) -> list[EventDict]:
    return [e for e in logs if e["event"] == "request_finished"]


def test_one_request_line_per_request_with_the_correlation_keys() -> None:
    app, _, _ = build()
    merge = structlog.contextvars.merge_contextvars

    with structlog.testing.capture_logs(processors=[merge]) as logs, serving(app) as url:
        post(url, notification())
        post(url, b"{", AUTH)

    accepted, malformed = request_lines(logs)
    assert accepted["notification_id"] == notification()["notification_id"]
    assert accepted["event_type"] == "secret_rotated"
    assert accepted["secret_ids"] == [SECRET_ID]
    assert accepted["outcome"] == "accepted"
    assert accepted["status"] == 202
    assert accepted["ce_jobruns"] == [job_run_name(JOB, notification()["notification_id"])]
    assert accepted["latency_ms"] >= 0
    assert malformed["status"] == 400
    assert malformed["outcome"] == "malformed"
    assert "notification_id" not in malformed  # cleared: nothing leaks from the previous request
    [submitted] = [e for e in logs if e["event"] == "job_run_submitted"]
    assert submitted["notification_id"] == notification()["notification_id"]


def test_the_token_never_appears_in_the_logs() -> None:
    app, _, _ = build()
    merge = structlog.contextvars.merge_contextvars
    wrong = {**AUTH, "Authorization": f"Bearer {TOKEN[:-1]}"}

    with structlog.testing.capture_logs(processors=[merge]) as logs, serving(app) as url:
        post(url, notification())
        post(url, notification(), wrong)
        post(url, b"{", AUTH)

    assert len(request_lines(logs)) == 3
    assert TOKEN not in repr(logs)
    assert TOKEN[:-1] not in repr(logs)
