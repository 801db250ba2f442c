"""The real trigger (`python -m trigger`, a subprocess) against the local IBM Cloud.

Code Engine job runs are created through the unmodified SDK over loopback HTTP; the job's image
is a local command printing the `ibmendata` it was started with.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from localcloud import Fault, LocalCloud
from shared.events import compact, notification_from_dict
from tests.builders import code_engine_sdk, secret_entry
from tests.support import Trigger, started_trigger, wait_until
from tests.support import trigger_env as support_trigger_env

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
APIKEY = "trigger-test-apikey-0123"
TOKEN = "trigger-webhook-token-4567-89ab"
JOB = "certsync"
IMAGE = "docker.io/certsync/print-ibmendata:1"
PRINT_IBMENDATA = "import os, sys; sys.stdout.write(os.environ['ibmendata'])"
JOB_RUNS = r"/v2/projects/[^/]+/job_runs$"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@pytest.fixture
def job(cloud: LocalCloud) -> str:
    """The certsync job, created as a user would, through the SDK."""
    cloud.code_engine.register_image(IMAGE, [sys.executable, "-c", PRINT_IBMENDATA])
    client = code_engine_sdk(cloud, APIKEY)
    try:
        client.create_job(cloud.identity.project_id, IMAGE, JOB)
    finally:
        client.http_client.close()
    return JOB


def trigger_env(cloud: LocalCloud, **changes: str | None) -> dict[str, str]:
    return support_trigger_env(cloud, apikey=APIKEY, job=JOB, token=TOKEN, **changes)


@pytest.fixture
def trigger(cloud: LocalCloud, job: str, tmp_path: Path) -> Iterator[Trigger]:
    with started_trigger(trigger_env(cloud), tmp_path, token=TOKEN) as running:
        yield running


def rotation(cloud: LocalCloud) -> dict[str, Any]:
    """A secret_rotated notification as Event Notifications builds it."""
    [notification] = _published(cloud, "secret_rotated")
    return notification


def _published(cloud: LocalCloud, event: str) -> list[dict[str, Any]]:
    secret_id = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    cloud.event_notifications.publish_secret_event(
        event_sub_type=event,
        secret_type="public_cert",
        secrets=[secret_entry(cloud.identity.secret_crn(secret_id))],
    )
    return cloud.event_notifications.notifications()[-1:]


def run_posts(cloud: LocalCloud) -> list[int]:
    return [r.status for r in cloud.requests.entries("POST", JOB_RUNS)]


def answered(cloud: LocalCloud, count: int) -> None:
    """Wait until the cloud's request log holds `count` job-run POSTs: it records a request just
    after answering it, so the trigger may log the answer before the log has the request."""
    wait_until(lambda: len(run_posts(cloud)) >= count)


# -- the tests ---------------------------------------------------------------------------------


def test_a_rotation_starts_one_job_run_with_the_notification(
    cloud: LocalCloud, trigger: Trigger
) -> None:
    notification = rotation(cloud)
    sent = json.dumps(notification, indent=2)

    response = trigger.post(sent.encode())

    assert response.status_code == 202
    name = response.json()["job_run"]
    assert wait_until(lambda: name in {run["name"] for run in cloud.code_engine.job_runs.list()})
    assert [run["name"] for run in cloud.code_engine.job_runs.list()] == [name]
    run = cloud.code_engine.job_runs.wait(name)
    assert run["job_name"] == JOB
    passed_on = json.loads(cloud.code_engine.job_runs.logs(name))  # what the job sees: compact
    assert passed_on["notification_id"] == notification["notification_id"]
    assert passed_on["data"]["secrets"] == [{"secret_id": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"}]
    assert passed_on["data"]["event_type"] == "secret_rotated"
    assert trigger.named("job_run_submitted")[0]["ce_jobrun"] == name


def test_event_notifications_delivers_to_the_trigger_end_to_end(
    cloud: LocalCloud, trigger: Trigger
) -> None:
    destination = cloud.event_notifications.add_webhook_destination(
        f"{trigger.url}/events",
        headers={"Authorization": f"Bearer {TOKEN}"},
        sensitive_headers={"Authorization"},
    )
    cloud.event_notifications.subscribe(destination, {"secret_rotated"})

    [notification] = _published(cloud, "secret_rotated")

    assert cloud.event_notifications.wait_idle(15)
    [delivery] = cloud.event_notifications.deliveries()
    assert delivery.status == 202
    assert wait_until(lambda: len(cloud.code_engine.job_runs.list()) == 1)
    [name] = [run["name"] for run in cloud.code_engine.job_runs.list()]
    cloud.code_engine.job_runs.wait(name)
    passed_on = json.loads(cloud.code_engine.job_runs.logs(name))
    parsed = notification_from_dict(notification)
    assert passed_on == compact(parsed, parsed.secret_ids)  # what the job reads, nothing more


def test_a_redelivery_makes_one_run(cloud: LocalCloud, trigger: Trigger) -> None:
    notification = rotation(cloud)

    first = trigger.post(notification)
    assert wait_until(lambda: bool(trigger.named("job_run_submitted")))
    second = trigger.post(notification)

    assert first.json() == second.json()
    assert wait_until(lambda: bool(trigger.named("job_run_exists")))
    answered(cloud, 2)
    assert run_posts(cloud) == [202, 409]
    assert len(cloud.code_engine.job_runs.list()) == 1


def test_a_redelivery_during_a_slow_submission_is_not_submitted_again(
    cloud: LocalCloud, trigger: Trigger
) -> None:
    cloud.faults.add(Fault(path=JOB_RUNS, method="POST", latency=1.0))
    notification = rotation(cloud)

    responses = [trigger.post(notification) for _ in range(3)]

    assert {r.status_code for r in responses} == {202}
    assert wait_until(lambda: bool(trigger.named("job_run_submitted")))
    answered(cloud, 1)
    assert run_posts(cloud) == [202]
    assert len(trigger.named("job_run_skipped")) == 2
    assert len(cloud.code_engine.job_runs.list()) == 1


def test_the_ack_does_not_wait_for_a_slow_code_engine(cloud: LocalCloud, trigger: Trigger) -> None:
    cloud.faults.add(Fault(path=JOB_RUNS, method="POST", latency=2.5))  # > the 2 s asserted

    started = time.monotonic()
    response = trigger.post(rotation(cloud))
    elapsed = time.monotonic() - started

    assert response.status_code == 202
    assert elapsed < 2.0
    assert wait_until(lambda: len(cloud.code_engine.job_runs.list()) == 1)


def test_two_503s_end_in_exactly_one_run(cloud: LocalCloud, trigger: Trigger) -> None:
    cloud.faults.add(Fault(path=JOB_RUNS, method="POST", status=503, times=2))

    response = trigger.post(rotation(cloud))

    assert response.status_code == 202
    assert wait_until(lambda: bool(trigger.named("job_run_submitted")), timeout=20)
    answered(cloud, 3)
    assert run_posts(cloud) == [503, 503, 202]
    assert len(cloud.code_engine.job_runs.list()) == 1
    assert [e["status"] for e in trigger.named("call_retried")] == [503, 503]
    assert trigger.named("job_run_submitted")[0]["attempts"] == 3


def test_rejected_requests_start_nothing_and_the_token_is_never_printed(
    cloud: LocalCloud, trigger: Trigger
) -> None:
    notification = rotation(cloud)
    wrong = {**HEADERS, "Authorization": f"Bearer {TOKEN[:-1]}"}

    statuses = [
        trigger.post(notification, wrong).status_code,
        trigger.post(notification, {"Content-Type": "application/json"}).status_code,
        trigger.post(notification, {**HEADERS, "Content-Type": "text/plain"}).status_code,
        trigger.post(b"{", HEADERS).status_code,
        trigger.post(b"x" * (256 * 1024 + 1), HEADERS).status_code,
        trigger.post(notification).status_code,
    ]

    assert statuses == [401, 401, 415, 400, 413, 202]
    assert wait_until(lambda: bool(trigger.named("job_run_submitted")))
    trigger.stop()
    assert len(cloud.code_engine.job_runs.list()) == 1
    assert [e["status"] for e in trigger.named("request_finished")] == statuses
    output = trigger.output()
    assert TOKEN not in output
    assert TOKEN[:-1] not in output
    assert APIKEY not in output


def test_without_a_token_the_trigger_refuses_to_start(
    cloud: LocalCloud, job: str, tmp_path: Path
) -> None:
    started = Trigger(trigger_env(cloud, CERTSYNC_WEBHOOK_TOKEN=None), tmp_path)

    try:
        code = started.process.wait(timeout=30)
    finally:
        started.stop()

    assert code == 2
    assert "CERTSYNC_WEBHOOK_TOKEN" in started.output()


def test_sigterm_lets_an_in_flight_submission_finish(cloud: LocalCloud, trigger: Trigger) -> None:
    cloud.faults.add(Fault(path=JOB_RUNS, method="POST", latency=1.0))

    response = trigger.post(rotation(cloud))
    assert response.status_code == 202
    code = trigger.stop()

    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a graceful stop
    assert [run["name"] for run in cloud.code_engine.job_runs.list()] == [
        response.json()["job_run"]
    ]
    events = [e["event"] for e in trigger.events()]
    assert events.index("job_run_submitted") < events.index("trigger_stopped")
    assert trigger.named("trigger_stopped")[0]["unfinished_submissions"] == []


def test_a_burst_is_acknowledged_at_once_and_submitted_a_few_at_a_time(
    cloud: LocalCloud, trigger: Trigger
) -> None:
    cloud.faults.add(Fault(path=JOB_RUNS, method="POST", latency=0.4, times=None))
    notifications = [_published(cloud, "secret_rotated")[0] for _ in range(12)]

    with ThreadPoolExecutor(max_workers=12) as pool:
        timed = list(pool.map(_timed_post(trigger), notifications))

    assert {status for status, _ in timed} == {202}
    assert max(seconds for _, seconds in timed) < 3.0  # wide margin: a run takes 0.4 s here
    assert wait_until(lambda: len(cloud.code_engine.job_runs.list()) == 12, timeout=30)
    arrivals = sorted(r.received_at for r in cloud.requests.entries("POST", JOB_RUNS))
    # Each call takes >= 0.4 s: five arrivals within 0.3 s would be five calls at once.
    assert all(later - first >= 0.3 for first, later in zip(arrivals, arrivals[4:], strict=False))
    # The trigger logs a run once Code Engine's answer is back, after the cloud has stored it.
    assert wait_until(lambda: len(trigger.named("job_run_submitted")) == 12, timeout=10)


def _timed_post(trigger: Trigger) -> Callable[[dict[str, Any]], tuple[int, float]]:
    def post(notification: dict[str, Any]) -> tuple[int, float]:
        started = time.monotonic()
        status = trigger.post(notification).status_code
        return status, time.monotonic() - started

    return post


def test_an_event_notifications_destination_test_is_answered_without_a_run(
    cloud: LocalCloud, job: str, tmp_path: Path
) -> None:
    sources = cloud.identity.sm_instance_crn  # restricted: the test comes from elsewhere
    env = trigger_env(cloud, CERTSYNC_ALLOWED_SOURCES=sources)
    test = {
        "id": "0d9c8b7a-6f5e-4d3c-2b1a-098765432100",
        "source": sources.replace("secrets-manager", "event-notifications"),
        "specversion": "1.0",
        "type": "com.ibm.eventnotifications.test",
        "datacontenttype": "application/json",
        "data": {"message": "test"},
    }

    with started_trigger(env, tmp_path, token=TOKEN) as running:
        answered_test = running.post(test)
        anonymous = running.post(test, {"Content-Type": "application/json"})

    assert answered_test.status_code == 200
    assert answered_test.json()["status"] == "ignored"
    assert anonymous.status_code == 401
    assert cloud.code_engine.job_runs.list() == []
    outcomes = [(e["status"], e["outcome"]) for e in running.named("request_finished")]
    assert outcomes == [(200, "ignored"), (401, "unauthorized")]


def test_the_emulators_destination_test_reaches_the_trigger_and_succeeds(  # any unknown shape
    cloud: LocalCloud, job: str, tmp_path: Path
) -> None:
    env = trigger_env(cloud, CERTSYNC_ALLOWED_SOURCES=cloud.identity.sm_instance_crn)
    with started_trigger(env, tmp_path, token=TOKEN) as running:
        destination = cloud.event_notifications.add_webhook_destination(
            f"{running.url}/events",
            headers={"Authorization": f"Bearer {TOKEN}"},
            sensitive_headers={"Authorization"},
        )
        nid, _ = cloud.event_notifications.test_destination(destination)
        assert wait_until(
            lambda: cloud.event_notifications.notification_status(nid).status != "inprogress"
        )

    status = cloud.event_notifications.notification_status(nid)
    assert (status.status, status.status_code) == ("success", 200)
    assert cloud.code_engine.job_runs.list() == []
    [line] = running.named("request_finished")
    assert line["outcome"] == "ignored"
