"""The webhook app served by uvicorn in this process, with a recording fake `JobRuns`: what only a
real server shows (requests arriving while a submission is in flight; the connection after a 413).

Submissions are tasks of the submitter, drained by the app's lifespan shutdown, which `serving`
does not run: a test waits for `in_flight` to empty before leaving the block.
"""

from __future__ import annotations

import json
import threading

import pytest
import requests
import structlog

from tests.builders import WEBHOOK_HEADERS as AUTH
from tests.builders import RecordingJobRuns, notification, trigger_app
from tests.support import serving, wait_until

pytestmark = pytest.mark.integration


def post(url: str, body: object) -> requests.Response:
    return requests.post(f"{url}/events", data=json.dumps(body).encode(), headers=AUTH)


def test_a_redelivery_during_the_submission_makes_one_run() -> None:
    gate = threading.Event()
    app, fake, submitter = trigger_app(RecordingJobRuns(gate))

    with structlog.testing.capture_logs() as logs, serving(app) as url:
        first = post(url, notification())
        assert fake.entered.wait(5)
        second = post(url, notification())
        wait_until(lambda: any(e["event"] == "job_run_skipped" for e in list(logs)), timeout=5)
        gate.set()
        assert wait_until(lambda: submitter.in_flight == frozenset(), timeout=10)

    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert len(fake.calls) == 1
    assert submitter.in_flight == frozenset()


def test_a_body_over_256_kib_is_413() -> None:
    app, fake, _ = trigger_app()
    body = json.dumps(notification(padding="x" * (256 * 1024))).encode()

    with serving(app) as url, requests.Session() as session:
        response = session.post(f"{url}/events", data=body, headers=AUTH)
        after = session.post(f"{url}/events", data=b"{}", headers=AUTH)  # the connection is fine

    assert response.status_code == 413
    assert "error" in response.json()
    assert after.status_code == 200  # an object that is not a notification: ignored
    assert fake.calls == []
