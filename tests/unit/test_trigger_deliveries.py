"""`GET /deliveries`: what the trigger acknowledged and refused, for `deploy doctor --canary`."""

from __future__ import annotations

import datetime as dt
import json

from starlette.testclient import TestClient

from tests.builders import SECRET_ID, notification, trigger_app
from tests.builders import WEBHOOK_HEADERS as AUTH
from trigger.deliveries import Deliveries


def test_an_accepted_rotation_is_listed_with_its_runs() -> None:
    app, _, _ = trigger_app()
    with TestClient(app) as client:
        accepted = client.post("/events", content=json.dumps(notification()), headers=AUTH)
        listed = client.get("/deliveries", headers=AUTH)
    assert accepted.status_code == 202
    assert listed.status_code == 200
    (entry,) = listed.json()["accepted"]
    assert any(SECRET_ID in s for s in entry["secret_ids"])
    assert entry["job_runs"] == accepted.json()["job_runs"]
    assert listed.json()["refused"] == {"unauthorized": 0, "forbidden": 0}


def test_refusals_are_counted_by_outcome() -> None:
    app, _, _ = trigger_app()
    wrong = {**AUTH, "Authorization": "Bearer not-the-token"}
    with TestClient(app) as client:
        client.post("/events", content=json.dumps(notification()), headers=wrong)
        client.post("/events", content=b"{", headers=AUTH)  # malformed: not a refusal counted
        listed = client.get("/deliveries", headers=AUTH).json()
    assert listed["refused"] == {"unauthorized": 1, "forbidden": 0}
    assert listed["accepted"] == []
    assert listed["last_refused_at"]


def test_the_record_needs_the_token() -> None:
    app, _, _ = trigger_app()
    with TestClient(app) as client:
        response = client.get("/deliveries")
    assert response.status_code == 401
    assert "accepted" not in response.text


def test_only_the_most_recent_are_kept() -> None:
    record = Deliveries(keep=2, now=lambda: dt.datetime(2026, 12, 8, tzinfo=dt.UTC))
    for n in range(3):
        record.accepted(f"n{n}", [f"s{n}"], [f"run-{n}"])
    listed = record.to_dict()["accepted"]
    assert [d["notification_id"] for d in listed] == ["n1", "n2"]
    assert listed[0]["received_at"] == "2026-12-08T00:00:00.000+00:00"
