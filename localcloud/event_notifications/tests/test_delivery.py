"""Delivery to a real webhook receiver on loopback: headers, retries, timeouts, filters, Code
Engine job destinations, shutdown."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from localcloud import LocalCloud
from localcloud.event_notifications import EventNotifications
from localcloud.event_notifications.tests.support import (
    PREFIX,
    Receiver,
    Reply,
    cert_secret,
    rotate,
    subscribed_webhook,
)

pytestmark = pytest.mark.integration


def test_custom_headers_arrive_and_sensitive_values_are_never_recorded(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    headers = {"Authorization": "Bearer s3cr3t-token", "X-Team": "certs"}
    destination = subscribed_webhook(
        en, receiver.url, headers=headers, sensitive_headers={"Authorization"}
    )
    receiver.script = [Reply(503)]
    rotate(en, cloud)
    assert en.wait_idle(10)

    assert [r.headers["Authorization"] for r in receiver.received] == ["Bearer s3cr3t-token"] * 2
    assert receiver.received[0].headers["X-Team"] == "certs"
    recorded = repr(en.deliveries()) + repr(en.destinations())
    recorded += json.dumps([d.to_dict() for d in en.deliveries()])
    recorded += json.dumps([d.to_dict() for d in en.destinations()])
    assert "s3cr3t" not in recorded
    assert "certs" in recorded  # non-sensitive values stay visible
    assert en.destinations()[0].id == destination


def test_503_is_retried_until_delivered(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    subscribed_webhook(en, receiver.url)
    receiver.script = [Reply(503), Reply(502)]
    [nid] = rotate(en, cloud)
    assert en.wait_idle(10)
    attempts = [(d.attempt, d.status, d.outcome) for d in en.deliveries()]
    assert attempts == [(1, 503, "retrying"), (2, 502, "retrying"), (3, 200, "delivered")]
    assert {d.notification_id for d in en.deliveries()} == {nid}
    assert len({b["notification_id"] for b in receiver.bodies()}) == 1


def test_429_retry_after_is_honoured(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    en.backoff_max = 5.0
    subscribed_webhook(en, receiver.url)
    receiver.script = [Reply(429, {"Retry-After": "1"})]
    rotate(en, cloud)
    assert en.wait_idle(10)
    first, second = receiver.received
    assert 0.9 <= second.at - first.at < 4.0
    assert en.deliveries()[0].retry_after == 1.0


def test_retry_after_is_capped_at_backoff_max(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    en.backoff_max = 0.2
    subscribed_webhook(en, receiver.url)
    receiver.script = [Reply(503, {"Retry-After": "120"})]
    rotate(en, cloud)
    assert en.wait_idle(10)
    first, second = receiver.received
    assert second.at - first.at < 3.0


def test_four_failures_lose_the_notification_after_exactly_four_attempts(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    subscribed_webhook(en, receiver.url)
    receiver.script = [Reply(500)] * 5
    rotate(en, cloud)
    assert en.wait_idle(10)
    assert len(receiver.received) == 4
    outcomes = [d.outcome for d in en.deliveries()]
    assert outcomes == ["retrying", "retrying", "retrying", "lost"]


def test_400_is_final(cloud: LocalCloud, en: EventNotifications, receiver: Receiver) -> None:
    subscribed_webhook(en, receiver.url)
    receiver.script = [Reply(400)]
    rotate(en, cloud)
    assert en.wait_idle(10)
    assert len(receiver.received) == 1
    [delivery] = en.deliveries()
    assert (delivery.status, delivery.outcome) == (400, "lost")


def test_a_slow_receiver_times_out_and_is_retried(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    en.timeout = 0.2
    subscribed_webhook(en, receiver.url)
    receiver.script = [Reply(200, sleep=0.6)]
    started = time.monotonic()
    rotate(en, cloud)
    assert time.monotonic() - started < 0.2  # delivery happens off the caller's thread
    assert en.wait_idle(10)
    first, second = en.deliveries()
    assert first.status is None
    assert first.error is not None
    assert "timeout" in first.error
    assert first.outcome == "retrying"
    assert 0.15 < first.latency < 0.55
    assert (second.status, second.outcome) == (200, "delivered")


def test_connection_refused_is_retried_then_lost(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    url = receiver.url
    receiver.server.shutdown()
    receiver.server.server_close()
    subscribed_webhook(en, url)
    rotate(en, cloud)
    assert en.wait_idle(10)
    deliveries = en.deliveries()
    assert len(deliveries) == 4
    assert all(d.status is None and d.error for d in deliveries)
    assert deliveries[-1].outcome == "lost"


def test_subscriptions_filter_by_event(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    other = Receiver()
    other.thread.start()
    try:
        en.subscribe(en.add_webhook_destination(receiver.url), {"secret_rotated"})
        en.subscribe(
            en.add_webhook_destination(other.url), {f"{PREFIX}secret_about_to_expire:in_1_day"}
        )
        rotate(en, cloud)
        for sub_type in ("in_10_days", "in_1_day"):
            en.publish_secret_event(
                event_sub_type=f"secret_about_to_expire:{sub_type}",
                secret_type="imported_cert",
                secrets=[cert_secret(cloud)],
            )
        en.publish_test_event()
        assert en.wait_idle(10)
        assert [b["type"] for b in receiver.bodies()] == [PREFIX + "secret_rotated"]
        assert [b["type"] for b in other.bodies()] == [PREFIX + "secret_about_to_expire:in_1_day"]
    finally:
        other.server.shutdown()
        other.server.server_close()
        other.thread.join(5)


class RecordingJobRuns:
    """A test double for the one call the job destination makes (`JobRuns.submit`)."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, list[dict[str, str]] | None]] = []

    def submit(
        self,
        job_name: str,
        *,
        run_env_variables: list[dict[str, str]] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        self.runs.append((job_name, run_env_variables))
        return {"name": name or f"{job_name}-run-1", "job_name": job_name}


def test_code_engine_job_destination_passes_ibmendata(cloud: LocalCloud) -> None:
    job_runs = RecordingJobRuns()
    en = EventNotifications(cloud, job_runs=lambda: job_runs, authorized=cloud.iam.authorized)
    en.subscribe(en.add_code_engine_job_destination("certsync-job"))
    rotate(en, cloud)
    assert en.wait_idle(10)
    en.shutdown()
    [(job_name, env)] = job_runs.runs
    assert job_name == "certsync-job"
    assert env is not None
    [variable] = env
    assert (variable["type"], variable["name"]) == ("literal", "ibmendata")
    assert json.loads(variable["value"]) == en.notifications()[0]
    assert [d.outcome for d in en.deliveries()] == ["delivered"]


def test_shutdown_does_not_wait_for_a_backoff(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    en.backoff_min = en.backoff_max = 30.0
    subscribed_webhook(en, receiver.url)
    receiver.script = [Reply(503)]
    rotate(en, cloud)
    deadline = time.monotonic() + 5
    while not en.deliveries() and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    en.shutdown()
    assert time.monotonic() - started < 1.0
    assert en.wait_idle(1)
    assert len(receiver.received) == 1
