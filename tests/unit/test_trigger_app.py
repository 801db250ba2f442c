"""The webhook app driven in-process by Starlette's TestClient, with a recording fake `JobRuns`.

TestClient runs a response's background task before it returns: every submission a request
causes has happened by the time `post` returns. (That the acknowledgement does not wait for the
submission, and what needs a real server, is proven in tests/integration.)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import structlog
from starlette.testclient import TestClient
from structlog.typing import EventDict

from shared.run_names import ROTATION, run_name
from tests.builders import (
    SECRET_ID,
    SM_CRN,
    InThread,
    RecordingJobRuns,
    notification,
    trigger_app,
    trigger_environ,
)
from tests.builders import WEBHOOK_HEADERS as AUTH
from tests.builders import WEBHOOK_TOKEN as TOKEN
from trigger.app import create_app
from trigger.settings import Settings
from trigger.submitter import Submitter

JOB = "certsync"


def post(client: TestClient, body: Any, headers: dict[str, str] | None = None) -> httpx2.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        "/events", content=content, headers=latin_1(AUTH if headers is None else headers)
    )


def latin_1(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Header values as latin-1 bytes, as HTTP clients send them (httpx takes only ASCII text)."""
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


# -- accepted --------------------------------------------------------------------------------


def test_a_rotation_is_acknowledged_and_its_job_run_submitted() -> None:
    app, fake, _ = trigger_app()
    sent = notification()

    with TestClient(app) as client:
        response = post(client, sent)

    expected = run_name(JOB, ROTATION, notification()["notification_id"])
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
    app, fake, _ = trigger_app()
    body = notification()
    long_ids = [f"{i:03}" + "a" * 125 for i in range(100)]  # the longest ids Secrets Manager has
    body["data"]["secrets"] = [{"secret_id": i} for i in long_ids]

    with TestClient(app) as client:
        response = post(client, body)

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
    app, fake, _ = trigger_app()
    body = notification()
    body["data"]["secret_type"] = secret_type

    with structlog.testing.capture_logs() as logs, TestClient(app) as client:
        response = post(client, body)

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert fake.calls == []
    [line] = request_lines(logs)
    assert line["outcome"] == "ignored"


def test_without_a_notification_id_the_name_comes_from_the_id() -> None:
    app, fake, _ = trigger_app()
    body = notification()
    del body["notification_id"]

    with TestClient(app) as client:
        response = post(client, body)

    assert response.json()["job_run"] == run_name(JOB, ROTATION, body["id"])
    assert [name for name, _ in fake.calls] == [run_name(JOB, ROTATION, body["id"])]


def test_the_qualified_type_alone_identifies_the_event() -> None:
    app, fake, _ = trigger_app()
    body = notification()
    del body["data"]["event_type"]

    with TestClient(app) as client:
        response = post(client, body)

    assert response.status_code == 202
    assert len(fake.calls) == 1


def test_a_later_redelivery_is_submitted_under_the_same_name() -> None:
    app, fake, submitter = trigger_app()

    with structlog.testing.capture_logs() as logs, TestClient(app) as client:
        post(client, notification())
        # Later: once the first submission is done (while it is queued, a redelivery is skipped).
        assert client.portal is not None  # set inside `with TestClient(...)`
        client.portal.call(submitter.drain, 10)
        post(client, notification())

    [(first, _), (second, _)] = fake.calls
    assert first == second  # Code Engine answers 409 to the second: already submitted
    events = [e["event"] for e in logs if e["event"].startswith("job_run")]
    assert events == ["job_run_submitted", "job_run_exists"]


def test_a_cloudevents_json_content_type_is_accepted() -> None:
    app, _, _ = trigger_app()

    with TestClient(app) as client:
        response = post(
            client, notification(), {**AUTH, "Content-Type": "application/json; charset=utf-8"}
        )
        response2 = post(
            client, notification(), {**AUTH, "Content-Type": "application/cloudevents+json"}
        )

    assert response.status_code == response2.status_code == 202


def test_without_a_token_configured_no_header_is_needed() -> None:
    app, fake, _ = trigger_app(CERTSYNC_WEBHOOK_TOKEN=None, CERTSYNC_ALLOW_UNAUTHENTICATED="true")

    with TestClient(app) as client:
        response = post(client, notification(), {"Content-Type": "application/json"})

    assert response.status_code == 202
    assert len(fake.calls) == 1


def test_an_allowed_source_is_accepted() -> None:
    app, fake, _ = trigger_app(CERTSYNC_ALLOWED_SOURCES=SM_CRN.removesuffix("::"))

    with TestClient(app) as client:
        response = post(client, notification())

    assert response.status_code == 202
    assert len(fake.calls) == 1


# -- acknowledged without a run --------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "status"),
    [("test_event", "ok"), ("secret_created", "ignored"), ("secret_deleted", "ignored")],
)
def test_other_events_are_acknowledged_without_a_run(event: str, status: str) -> None:
    app, fake, _ = trigger_app()
    body = notification(event)

    with TestClient(app) as client:
        response = post(client, body)

    assert response.status_code == 200
    assert response.json() == {"status": status, "event_type": event}
    assert fake.calls == []


@pytest.mark.parametrize(
    "event", ["secret_about_to_expire", "secret_expired", "secret_rotation_failed"]
)
def test_events_a_person_must_act_on_are_logged_as_warnings(event: str) -> None:
    app, fake, _ = trigger_app()

    with structlog.testing.capture_logs() as logs, TestClient(app) as client:
        response = post(client, notification(event))

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


EN_CRN = "crn:v1:bluemix:public:event-notifications:us-south:a/0123abcd:5e6f7a8b-0000-1111::"


def destination_test(**changes: Any) -> dict[str, Any]:
    """What Event Notifications' `test_destination` sends (as the local emulator does)."""
    body = {
        "id": "0d9c8b7a-6f5e-4d3c-2b1a-098765432100",
        "source": EN_CRN,
        "specversion": "1.0",
        "type": "com.ibm.eventnotifications.test",
        "time": "2026-11-28T12:00:00.000Z",
        "datacontenttype": "application/json",
        "data": {"message": "test notification"},
    }
    return {**body, **changes}


@pytest.mark.parametrize(
    "body",
    [
        destination_test(),
        destination_test(data=None),
        # Event Notifications' test payload is undocumented: any object, whatever its shape.
        {"notification_id": "n-1", "source": EN_CRN, "message": "Test notification"},
        {"type": "com.example.other", "data": {"secrets": "not a list"}},
        {},
    ],
)
def test_an_object_that_is_not_secrets_managers_is_ignored_and_starts_nothing(
    body: dict[str, Any],
) -> None:
    app, fake, _ = trigger_app(CERTSYNC_ALLOWED_SOURCES=SM_CRN)  # not Event Notifications' CRN

    with structlog.testing.capture_logs() as logs, TestClient(app) as client:
        response = post(client, {k: v for k, v in body.items() if v is not None})

    assert response.status_code == 200
    assert response.json() == {
        "status": "ignored",
        "reason": "not a Secrets Manager notification",
    }
    assert fake.calls == []
    [line] = [e for e in logs if e["event"] == "request_finished"]
    assert (line["status"], line["outcome"], line["log_level"]) == (200, "ignored", "info")
    assert not [e for e in logs if e["event"] == "notification_refused"]


def test_an_unauthenticated_destination_test_is_401() -> None:
    app, fake, _ = trigger_app()

    with TestClient(app) as client:
        response = post(client, destination_test(), {"Content-Type": "application/json"})

    assert response.status_code == 401
    assert fake.calls == []


def test_healthz() -> None:
    app, _, _ = trigger_app()

    with TestClient(app) as client:
        response = client.get("/healthz")

    assert response.status_code == 200


# -- rejected --------------------------------------------------------------------------------


def rejected(
    client: TestClient, body: Any, headers: dict[str, str] | None = None
) -> httpx2.Response:
    response = post(client, body, headers)
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
    app, fake, _ = trigger_app()

    with TestClient(app) as client:
        response = rejected(client, notification(), headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert fake.calls == []


def test_the_token_is_checked_before_anything_else() -> None:
    app, _, _ = trigger_app()

    with TestClient(app) as client:
        wrong_type = rejected(client, b"x" * 300_000, {"Content-Type": "text/plain"})

    assert wrong_type.status_code == 401


def test_the_bearer_scheme_is_case_insensitive() -> None:
    app, _, _ = trigger_app()

    with TestClient(app) as client:
        response = post(client, notification(), {**AUTH, "Authorization": f"bearer {TOKEN}"})

    assert response.status_code == 202


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_content_type_other_than_json_is_415(content_type: str | None) -> None:
    app, fake, _ = trigger_app()
    headers = {"Authorization": AUTH["Authorization"]}
    if content_type is not None:
        headers["Content-Type"] = content_type

    with TestClient(app) as client:
        response = rejected(client, notification(), headers)

    assert response.status_code == 415
    assert fake.calls == []


def test_a_streamed_body_over_the_limit_is_413_whatever_its_length_header_says() -> None:
    app, fake, _ = trigger_app()

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to trust
        yield b'{"id": "1", "data": {"event_type": "secret_rotated", "pad": "'
        for _ in range(300):
            yield b"x" * 1024
        yield b'"}}'

    with TestClient(app) as client:
        response = client.post("/events", content=chunks(), headers=AUTH)

    assert response.status_code == 413
    assert fake.calls == []


def test_a_body_of_exactly_256_kib_is_read() -> None:
    app, _, _ = trigger_app()
    body = notification()
    size = len(json.dumps(body | {"padding": ""}).encode())
    body["padding"] = "x" * (256 * 1024 - size)

    with TestClient(app) as client:
        response = post(client, body)

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
    app, fake, _ = trigger_app()

    with TestClient(app) as client:
        response = rejected(client, body)

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
    app, fake, _ = trigger_app(CERTSYNC_ALLOWED_SOURCES=SM_CRN)
    body = unchanged_but(("data", "source_instance_crn"), source_crn)

    with TestClient(app) as client:
        response = rejected(client, body)

    assert response.status_code == 403
    assert fake.calls == []


def test_an_unexpected_error_is_logged_and_answered_without_a_5xx() -> None:
    # A collaborator with a bug: a job name that is not a string breaks naming.
    fake = RecordingJobRuns()
    submitter = Submitter(InThread(fake))
    broken = Settings(**{**vars(Settings.from_env(trigger_environ())), "job_name": None})
    app = create_app(broken, submitter)

    with structlog.testing.capture_logs() as logs, TestClient(app) as client:
        response = rejected(client, notification())

    assert response.status_code == 400
    assert fake.calls == []
    [failure] = [e for e in logs if e["event"] == "request_failed"]
    assert failure["log_level"] == "error"
    assert failure["exc_info"] is True


# -- logs ------------------------------------------------------------------------------------


def request_lines(logs: list[EventDict]) -> list[EventDict]:
    return [e for e in logs if e["event"] == "request_finished"]


def test_one_request_line_per_request_with_the_correlation_keys() -> None:
    app, _, _ = trigger_app()
    merge = structlog.contextvars.merge_contextvars

    with structlog.testing.capture_logs(processors=[merge]) as logs, TestClient(app) as client:
        post(client, notification())
        post(client, b"{", AUTH)

    accepted, malformed = request_lines(logs)
    assert accepted["notification_id"] == notification()["notification_id"]
    assert accepted["event_type"] == "secret_rotated"
    assert accepted["secret_ids"] == [SECRET_ID]
    assert accepted["outcome"] == "accepted"
    assert accepted["status"] == 202
    assert accepted["ce_jobruns"] == [run_name(JOB, ROTATION, notification()["notification_id"])]
    assert accepted["latency_ms"] >= 0
    assert malformed["status"] == 400
    assert malformed["outcome"] == "malformed"
    assert "notification_id" not in malformed  # cleared: nothing leaks from the previous request
    [submitted] = [e for e in logs if e["event"] == "job_run_submitted"]
    assert submitted["notification_id"] == notification()["notification_id"]


def test_the_token_never_appears_in_the_logs() -> None:
    app, _, _ = trigger_app()
    merge = structlog.contextvars.merge_contextvars
    wrong = {**AUTH, "Authorization": f"Bearer {TOKEN[:-1]}"}

    with structlog.testing.capture_logs(processors=[merge]) as logs, TestClient(app) as client:
        post(client, notification())
        post(client, notification(), wrong)
        post(client, b"{", AUTH)

    assert len(request_lines(logs)) == 3
    assert TOKEN not in repr(logs)
    assert TOKEN[:-1] not in repr(logs)
