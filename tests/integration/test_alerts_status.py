"""Alerts through Event Notifications, the expiry watchdog, the status record and the dry run, with
the real job process against the local IBM Cloud and a local webhook receiving what is routed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from localcloud import Fault, LocalCloud, zygote
from localcloud.event_notifications import Rule
from localcloud.pki import make_chain
from tests.support import APIKEY, ROOT, job_env, run_job, seed_certificate, wait_until

pytestmark = pytest.mark.integration

MISSING = "6a3d0f3e-1111-4222-8333-944455556666"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class Webhook:
    """A local HTTP endpoint that records every JSON body posted to it."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(cloud: LocalCloud) -> Iterator[Webhook]:
    """certsync registered as a custom source whose events reach the webhook."""
    hook = Webhook()
    en = cloud.event_notifications
    source_id = en.add_custom_source("certsync")
    topic = en.add_topic("certsync-alerts", Rule(source_id, "$.*"))
    en.subscribe(en.add_webhook_destination(hook.url, name="ops-webhook"), topic_id=topic)
    cloud.alert_source_id = source_id  # type: ignore[attr-defined]
    try:
        yield hook
    finally:
        hook.close()


def alerting_env(cloud: LocalCloud, mappings: list[dict[str, str]], **extra: str) -> dict[str, str]:
    return job_env(
        cloud,
        mappings,
        EVENT_NOTIFICATIONS_URL=cloud.event_notifications_url,
        EVENT_NOTIFICATIONS_AUTH_TYPE="iam",
        EVENT_NOTIFICATIONS_APIKEY=APIKEY,
        EVENT_NOTIFICATIONS_AUTH_URL=cloud.iam_url,
        CERTSYNC_EN_INSTANCE_ID=cloud.identity.en_instance_id,
        CERTSYNC_EN_SOURCE_ID=cloud.alert_source_id,  # type: ignore[attr-defined]
        **extra,
    )


def status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return zygote.run(
        [sys.executable, "-m", "job", "status", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_failing_mapping_alerts_once_a_day(cloud, webhook):
    env = alerting_env(cloud, [{"secret": MISSING, "target": "tls-gone"}])

    first = run_job(env)
    assert first.returncode == 1
    assert wait_until(lambda: len(webhook.received) == 1, 20)
    [alert] = webhook.received
    assert alert["type"] == "com.ibm.certsync.mapping.failed"
    assert alert["data"]["target"] == "tls-gone"
    assert "HTTP 404" in alert["ibmendefaultlong"]
    assert first.events("alert_published")

    second = run_job(env)
    assert second.returncode == 1
    assert second.events("alert_published") == []
    assert cloud.event_notifications.wait_idle(10)
    assert len(webhook.received) == 1


def test_an_expiring_certificate_is_a_warning_and_an_alert(cloud, webhook):
    secret_id = seed_certificate(cloud, make_chain(days=10), "web-cert")
    env = alerting_env(cloud, [{"secret": secret_id, "target": "tls-web"}])

    result = run_job(env)

    assert result.returncode == 0, result.stderr
    [warning] = result.events("certificate_expiring")
    assert warning["level"] == "warning"
    assert warning["days_left"] <= 10
    assert "cannot renew by itself" in warning["detail"]  # an imported certificate
    assert wait_until(lambda: len(webhook.received) == 1, 20)
    assert webhook.received[0]["type"] == "com.ibm.certsync.certificate.expiring"
    assert webhook.received[0]["data"]["days_left"] <= 10


def test_event_notifications_down_changes_nothing_about_the_sync(cloud, webhook):
    secret_id = seed_certificate(cloud, make_chain(days=10), "web-cert")
    env = alerting_env(cloud, [{"secret": secret_id, "target": "tls-web"}])
    cloud.faults.add(Fault(path="/notifications$", status=503, times=None))

    result = run_job({**env, "CERTSYNC_RETRY_ATTEMPTS": "2"})

    assert result.returncode == 0, result.stderr
    assert result.outcomes() == {"tls-web": "created"}
    assert result.events("alert_failed")
    assert webhook.received == []
    assert cloud.code_engine.secrets.find("tls-web") is not None


def test_status_shows_the_state_after_runs(cloud, webhook, tmp_path):
    good = seed_certificate(cloud, make_chain(), "good-cert")
    env = alerting_env(
        cloud, [{"secret": good, "target": "tls-good"}, {"secret": MISSING, "target": "tls-gone"}]
    )
    run_job(env)

    table = status(env)
    as_json = status(env, "--json")

    assert table.returncode == 0, table.stderr
    assert "TARGET" in table.stdout
    assert "tls-good" in table.stdout
    assert "created" in table.stdout
    assert "tls-gone" in table.stdout
    assert "Not in sync" in table.stdout
    record = json.loads(as_json.stdout)
    assert record["tls-good"]["outcome"] == "created"
    assert record["tls-gone"]["outcome"] == "failed"
    assert record["tls-gone"]["alerted"]  # the alert it raised is remembered for the day


def test_a_dry_run_writes_nothing_and_prints_the_plan(cloud):
    secret_id = seed_certificate(cloud, make_chain(), "web-cert")
    env = job_env(cloud, [{"secret": secret_id, "target": "tls-web"}], CE_JOB="certsync")
    cloud.requests.clear()

    result = run_job(env, "--dry-run")

    assert result.returncode == 0, result.stderr
    [plan] = result.events("mapping_planned")
    assert (plan["target"], plan["outcome"]) == ("tls-web", "created")
    assert plan["reason"].startswith("would create")
    assert [
        r for r in cloud.requests.entries() if r.method in WRITES and "/identity/" not in r.path
    ] == []
    assert cloud.code_engine.secrets.find("tls-web") is None


def test_two_concurrent_runs_both_end_up_in_the_status_record(cloud):
    first = seed_certificate(cloud, make_chain("a.example.com"), "a-cert")
    second = seed_certificate(cloud, make_chain("b.example.com"), "b-cert")
    mappings = [{"secret": first, "target": "tls-a"}, {"secret": second, "target": "tls-b"}]
    env = job_env(cloud, mappings)
    results: dict[str, int] = {}

    def sync(secret_id: str) -> None:
        results[secret_id] = run_job(env, "--secret", secret_id).returncode

    threads = [threading.Thread(target=sync, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {first: 0, second: 0}
    record = json.loads(status(env, "--json").stdout)
    assert sorted(record) == ["tls-a", "tls-b"]


def test_watch_unmanaged_alerts_for_a_secret_no_mapping_manages(cloud, webhook):
    chain = make_chain(days=60)
    secret_id = seed_certificate(cloud, chain, "web-cert")
    by_hand = make_chain("shop.example.com", days=5)
    data = {"tls_cert": by_hand.leaf_pem + by_hand.intermediate_pem, "tls_key": by_hand.key_pem}
    cloud.code_engine.secrets.put("tls-by-hand", "tls", data)
    env = alerting_env(cloud, [{"secret": secret_id, "target": "tls-web"}])

    off = run_job(env)  # off by default
    assert off.returncode == 0, off.stderr
    assert off.events("certificate_expiring") == []

    watching = {**env, "CERTSYNC_WATCH_UNMANAGED": "true"}
    first = run_job(watching)
    assert first.returncode == 0, first.stderr
    [warning] = first.events("certificate_expiring")
    assert (warning["target"], warning["unmanaged"]) == ("tls-by-hand", True)
    assert wait_until(lambda: len(webhook.received) == 1, 20)
    [alert] = webhook.received
    assert alert["type"] == "com.ibm.certsync.certificate.expiring"
    assert alert["data"]["target"] == "tls-by-hand"
    assert alert["data"]["unmanaged"] is True
    assert "unmanaged TLS secret 'tls-by-hand'" in alert["ibmendefaultshort"]

    second = run_job(watching)  # once a day
    assert second.returncode == 0, second.stderr
    assert second.events("alert_published") == []
    assert cloud.event_notifications.wait_idle(10)
    assert len(webhook.received) == 1
