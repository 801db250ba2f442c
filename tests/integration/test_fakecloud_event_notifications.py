"""The Event Notifications emulator against a real webhook receiver on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from localcloud.cloud import LocalCloud
from localcloud.code_engine import CodeEngine
from localcloud.event_notifications import EventNotifications

pytestmark = pytest.mark.integration

PREFIX = "com.ibm.cloud.secrets-manager."
ENVELOPE_KEYS = {
    "id",
    "notification_id",
    "source",
    "specversion",
    "type",
    "time",
    "datacontenttype",
    "ibmensourceid",
    "ibmenseverity",
    "ibmendefaultshort",
    "ibmendefaultlong",
    "data",
}


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: dict[str, Any]


class Receiver:
    """A webhook endpoint answering from a script (then 200s) and recording every request."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.received.append(
                        Received(time.monotonic(), dict(self.headers.items()), json.loads(raw))
                    )
                    reply = receiver.script.pop(0) if receiver.script else Reply()
                time.sleep(reply.sleep)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.body for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    r.thread.join(5)


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    cloud = LocalCloud()
    en = cloud.event_notifications
    en.timeout, en.backoff_min, en.backoff_max = 2.0, 0.01, 0.05
    yield cloud
    assert en.wait_idle(10), "deliveries still running at teardown"
    cloud.stop()


@pytest.fixture
def en(cloud: LocalCloud) -> EventNotifications:
    return cloud.event_notifications


def cert_secret(cloud: LocalCloud, name: str = "web-cert", **over: Any) -> dict[str, Any]:
    secret = {
        "secret_id": cloud.identity.secret_crn("0f6e3c8a-6d2e-4f0e-9d7e-2b1f4b7f9a11"),
        "secret_name": name,
        "secret_group_id": "default",
        "serial_number": "1a:2b:3c",
        "domains": ["example.com", "www.example.com"],
        "secret_expiration": "2030-01-14T00:00:00Z",
        "event_time": "2030-01-04T00:00:00Z",
        "event_triggered_by": "SecretsManager",
    }
    return secret | over


def rotate(en: EventNotifications, cloud: LocalCloud, name: str = "web-cert") -> list[str]:
    return en.publish_secret_event(
        event_sub_type="secret_rotated",
        secret_type="imported_cert",
        secrets=[cert_secret(cloud, name)],
    )


def subscribed_webhook(en: EventNotifications, url: str, **kwargs: Any) -> str:
    destination = en.add_webhook_destination(url, **kwargs)
    en.subscribe(destination)
    return destination


def test_rotation_envelope_and_data_have_the_documented_shape(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    subscribed_webhook(en, receiver.url)
    [notification_id] = rotate(en, cloud)
    assert en.wait_idle(10)

    [got] = receiver.received
    assert got.headers["Content-Type"] == "application/json"
    body = got.body
    assert set(body) == ENVELOPE_KEYS
    assert body["notification_id"] == notification_id
    assert body["id"] != notification_id
    crn = cloud.identity.sm_instance_crn
    assert body["source"] == body["ibmensourceid"] == crn
    assert (body["specversion"], body["datacontenttype"]) == ("1.0", "application/json")
    assert body["type"] == PREFIX + "secret_rotated"
    assert body["ibmenseverity"] == "low"
    assert body["time"].endswith("Z")
    assert "web-cert" in body["ibmendefaultlong"]
    assert body["ibmendefaultshort"] == "Your 1 imported certificate secret was rotated"
    data = body["data"]
    assert data["event_type"] == "secret_rotated"
    assert "event_sub_type" not in data
    assert data["secret_type"] == "imported_cert"
    assert data["source_instance_crn"] == crn
    assert data["source_service"] == "SecretsManager"
    assert data["source_instance_api_public_url"].endswith(".secrets-manager.appdomain.cloud/api")
    [secret] = data["secrets"]
    assert secret["domains"] == "example.com, www.example.com"
    assert secret["secret_id"] == cloud.identity.secret_crn("0f6e3c8a-6d2e-4f0e-9d7e-2b1f4b7f9a11")
    assert en.notifications() == [body]


def test_about_to_expire_carries_its_subtype_in_type_and_data(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    subscribed_webhook(en, receiver.url)
    en.publish_secret_event(
        event_sub_type="secret_about_to_expire:in_10_days",
        secret_type="public_cert",
        secrets=[cert_secret(cloud, "a"), cert_secret(cloud, "b")],
    )
    assert en.wait_idle(10)
    [body] = receiver.bodies()
    assert body["type"] == PREFIX + "secret_about_to_expire:in_10_days"
    assert body["ibmenseverity"] == "high"
    assert body["data"]["event_type"] == "secret_about_to_expire"
    assert body["data"]["event_sub_type"] == "in_10_days"
    assert body["ibmendefaultshort"] == "Your 2 public certificate secrets expire in 10 days"


def test_more_than_100_secrets_are_split_100_per_notification(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    subscribed_webhook(en, receiver.url)
    secrets = [cert_secret(cloud, f"cert-{i}") for i in range(150)]
    ids = en.publish_secret_event(
        event_sub_type="secret_rotated", secret_type="imported_cert", secrets=secrets
    )
    assert en.wait_idle(10)
    assert len(ids) == 2
    sizes = sorted(len(b["data"]["secrets"]) for b in receiver.bodies())
    assert sizes == [50, 100]


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


def test_test_event_reaches_subscriptions_for_all_events(
    en: EventNotifications, receiver: Receiver
) -> None:
    subscribed_webhook(en, receiver.url)
    [nid] = en.publish_test_event()
    assert en.wait_idle(10)
    [body] = receiver.bodies()
    assert body["notification_id"] == nid
    assert body["type"] == PREFIX + "test_event"
    assert body["data"]["event_type"] == "test_event"
    assert "secrets" not in body["data"]


class RecordingCodeEngine(CodeEngine):
    """A test double for the one call the job destination makes."""

    def __init__(self, cloud: LocalCloud) -> None:
        super().__init__(cloud)
        self.runs: list[tuple[str, list[dict[str, str]] | None]] = []

    def submit_job_run(
        self,
        job_name: str,
        *,
        run_env_variables: list[dict[str, str]] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        self.runs.append((job_name, run_env_variables))
        return {"name": name or f"{job_name}-run-1", "job_name": job_name}


def test_code_engine_job_destination_passes_ibmendata(
    cloud: LocalCloud, en: EventNotifications
) -> None:
    code_engine = RecordingCodeEngine(cloud)
    cloud.code_engine = code_engine
    en.subscribe(en.add_code_engine_job_destination("certsync-job"))
    rotate(en, cloud)
    assert en.wait_idle(10)
    [(job_name, env)] = code_engine.runs
    assert job_name == "certsync-job"
    assert env is not None
    [variable] = env
    assert (variable["type"], variable["name"]) == ("literal", "ibmendata")
    assert json.loads(variable["value"]) == en.notifications()[0]
    assert [d.outcome for d in en.deliveries()] == ["delivered"]


def test_invalid_input_is_rejected(cloud: LocalCloud, en: EventNotifications) -> None:
    with pytest.raises(ValueError, match="unknown Secrets Manager event"):
        en.publish_secret_event(
            event_sub_type="secret_renamed", secret_type="arbitrary", secrets=[]
        )
    with pytest.raises(ValueError, match="subtypes"):
        en.publish_secret_event(
            event_sub_type="secret_about_to_expire", secret_type="public_cert", secrets=[]
        )
    with pytest.raises(ValueError, match="lacks"):
        en.publish_secret_event(
            event_sub_type="secret_rotated",
            secret_type="public_cert",
            secrets=[{"secret_name": "x"}],
        )
    with pytest.raises(ValueError, match="https"):
        en.add_webhook_destination("http://trigger.example.com/events")
    with pytest.raises(ValueError, match="sensitive"):
        en.add_webhook_destination("https://x.example.com", sensitive_headers={"Authorization"})
    with pytest.raises(KeyError):
        en.subscribe("no-such-destination")


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


def test_control_plane_routes(receiver: Receiver) -> None:
    with LocalCloud() as cloud:
        base = f"{cloud.url}/_fakecloud/event_notifications"
        with Client(base) as client:
            timing = {"timeout": 2, "retries": 1, "backoff_min": 0.01, "backoff_max": 0.05}
            assert client.put("/timing", json=timing).json() == {**timing, "retries": 1}
            created = client.post(
                "/destinations",
                json={
                    "type": "code_engine_app",
                    "url": receiver.url,
                    "headers": {"X-Api-Key": "k3y-value"},
                    "sensitive_headers": ["X-Api-Key"],
                    "name": "trigger",
                },
            )
            assert created.status_code == 201
            destination_id = created.json()["id"]
            sub = client.post("/subscriptions", json={"destination_id": destination_id})
            assert sub.status_code == 201
            assert client.post("/subscriptions", json={"destination_id": "nope"}).status_code == 404
            assert client.post("/destinations", json={"type": "pager"}).status_code == 400
            receiver.script = [Reply(503)]
            sent = client.post("/test_event")
            assert sent.status_code == 202
            [nid] = sent.json()["notification_ids"]
            event = {
                "event_sub_type": "secret_rotated",
                "secret_type": "imported_cert",
                "secrets": [cert_secret(cloud)],
            }
            assert client.post("/secret_events", json=event).status_code == 202
            assert cloud.event_notifications.wait_idle(10)
            deliveries = client.get("/deliveries").json()["deliveries"]
            listed = client.get("/destinations").text
            notifications = client.get("/notifications").json()["notifications"]
        assert [
            (d["attempt"], d["outcome"]) for d in deliveries if d["notification_id"] == nid
        ] == [
            (1, "retrying"),
            (2, "delivered"),
        ]
        assert len(notifications) == 2
        assert "k3y-value" not in listed + json.dumps(deliveries)
        assert receiver.received[0].headers["X-Api-Key"] == "k3y-value"


class Client(requests.Session):
    """requests with a base URL and a timeout on every call."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return super().request(method, f"{self.base}{url!s}", *args, **kwargs)
