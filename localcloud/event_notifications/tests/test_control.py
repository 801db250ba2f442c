"""Event Notifications' control plane under `/_localcloud/event_notifications/`."""

from __future__ import annotations

import json

import pytest

from localcloud import LocalCloud
from localcloud.event_notifications.tests.support import (
    EXPIRING,
    FAILED,
    Client,
    Receiver,
    Reply,
    alert,
    cert_secret,
)

pytestmark = pytest.mark.integration


def test_control_plane_routes(receiver: Receiver) -> None:
    with LocalCloud() as cloud:
        base = f"{cloud.url}/_localcloud/event_notifications"
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
            assert cloud.event_notifications.wait_idle(10)  # the 503 goes to the test event
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


def test_control_plane_sources_topics_and_topic_subscriptions(receiver: Receiver) -> None:
    with LocalCloud() as cloud, Client(f"{cloud.url}/_localcloud/event_notifications") as client:
        source_id = client.post("/sources", json={"name": "certsync"}).json()["id"]
        rules = [{"event_type_filter": f"$.notification_event_info.event_type == '{FAILED}'"}]
        topic = {"name": "alerts", "sources": [{"id": source_id, "rules": rules}]}
        created = client.post("/topics", json=topic)
        assert created.status_code == 201
        destination = client.post("/destinations", json={"url": receiver.url}).json()["id"]
        body = {"destination_id": destination, "topic_id": created.json()["id"]}
        assert client.post("/subscriptions", json=body).status_code == 201

        unknown = {"name": "t", "sources": [{"id": "nope:api", "rules": rules}]}
        assert client.post("/topics", json=unknown).status_code == 404
        no_rules = {"name": "t", "sources": [{"id": source_id}]}
        assert client.post("/topics", json=no_rules).status_code == 400
        regex = [{"event_type_filter": "$.type =~ '(?!x)com'"}]
        bad_filter = {"name": "t", "sources": [{"id": source_id, "rules": regex}]}
        assert client.post("/topics", json=bad_filter).status_code == 400
        assert client.post("/sources", json={}).status_code == 400
        both = body | {"event_sub_types": ["secret_rotated"]}
        assert client.post("/subscriptions", json=both).status_code == 400

        cloud.event_notifications.publish_notification(alert(source_id))
        cloud.event_notifications.publish_notification(alert(source_id, EXPIRING))
        assert cloud.event_notifications.wait_idle(10)
        assert [b["type"] for b in receiver.bodies()] == [FAILED]
        assert len(client.get("/notifications").json()["notifications"]) == 2
