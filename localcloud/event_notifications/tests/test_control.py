"""Event Notifications' control plane under `/_localcloud/event_notifications/`."""

from __future__ import annotations

import json

import pytest

from localcloud import LocalCloud
from localcloud.event_notifications.tests.support import (
    Client,
    Receiver,
    Reply,
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
