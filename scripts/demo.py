"""`make demo`: certsync end to end on the local IBM Cloud, with real processes and the real SDKs.

Starts the local IBM Cloud (in this process, as the tests do) and the trigger (`python -m trigger`)
as its own process, imports a certificate chain into Secrets Manager, creates the Code Engine job
(whose image runs `python -m job`) with its mapping, runs it once, wires Event Notifications to the
trigger, then rotates the certificate and follows it: notification delivered -> ack -> job run
submitted -> completed -> Code Engine secret updated, and shows what the job logged. The trigger's
logs go to a temporary folder, removed at the end. `--keep` leaves everything running (and the
folder in place) so that a person can rotate again and watch.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2, ComponentRef, EnvVarPrototype
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ImportedCertificatePrototype,
    ImportedCertificateVersionPrototype,
    SecretsManagerV2,
)

from job.served import ServedCertificates, parse_connect_to
from localcloud import LocalCloud
from localcloud.event_notifications import Rule
from localcloud.pki import Chain, make_chain, renew
from scripts.processes import ROOT, Trigger, base_env, trigger_env
from shared.clients import CODE_ENGINE_API_VERSION
from shared.errors import CertsyncError

DOMAIN = "www.example.com"
JOB, IMAGE, TARGET, SECRET_NAME = (
    "certsync",
    "icr.io/certsync/job:demo",
    "tls-www",
    "www-example-com",
)
T = TypeVar("T")


def say(text: str = "") -> None:
    print(text, flush=True)


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.01)
    raise SystemExit(f"demo: timed out after {timeout:.0f} s waiting for {what}")


def describe(pem: str) -> str:
    leaf = x509.load_pem_x509_certificates(pem.encode())[0]
    serial = format(leaf.serial_number, "x")
    return f"serial {serial[:16]}…, expires {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"


def clients(cloud: LocalCloud, apikey: str) -> tuple[SecretsManagerV2, CodeEngineV2]:
    sm = SecretsManagerV2(authenticator=IAMAuthenticator(apikey, url=cloud.iam_url))
    sm.set_service_url(cloud.secrets_manager_url)
    ce = CodeEngineV2(
        authenticator=IAMAuthenticator(apikey, url=cloud.iam_url), version=CODE_ENGINE_API_VERSION
    )
    ce.set_service_url(cloud.code_engine_url)
    return sm, ce


def create_job(
    ce: CodeEngineV2, cloud: LocalCloud, secret_id: str, apikey: str, *, anchors: Path, source: str
) -> None:
    project = cloud.identity.project_id
    ce.create_secret(project, "generic", "certsync-credentials", data={"apikey": apikey})

    def literal(name: str, value: str) -> EnvVarPrototype:
        return EnvVarPrototype(type="literal", name=name, value=value)

    def from_secret(name: str) -> EnvVarPrototype:
        return EnvVarPrototype(
            type="secret_key_reference", name=name, reference="certsync-credentials", key="apikey"
        )

    env = [
        literal("SECRETS_MANAGER_URL", cloud.secrets_manager_url),
        literal("SECRETS_MANAGER_AUTH_TYPE", "iam"),
        literal("SECRETS_MANAGER_AUTH_URL", cloud.iam_url),
        from_secret("SECRETS_MANAGER_APIKEY"),
        literal("CODE_ENGINE_AUTH_TYPE", "iam"),
        literal("CODE_ENGINE_AUTH_URL", cloud.iam_url),
        from_secret("CODE_ENGINE_APIKEY"),
        literal("CERTSYNC_MAPPINGS", json.dumps([{"secret": secret_id, "target": TARGET}])),
        # The domain is reached through the local Code Engine router; its CA is the demo's own.
        literal("CERTSYNC_CONNECT_TO", f"{DOMAIN}:443:127.0.0.1:{cloud.router_port}"),
        literal("CERTSYNC_TRUST_ANCHORS_FILE", str(anchors)),
        literal("CERTSYNC_VERIFY_TIMEOUT", "30"),
        # Alerts: certsync publishes to Event Notifications as a custom source.
        literal("EVENT_NOTIFICATIONS_URL", cloud.event_notifications_url),
        literal("EVENT_NOTIFICATIONS_AUTH_TYPE", "iam"),
        literal("EVENT_NOTIFICATIONS_AUTH_URL", cloud.iam_url),
        from_secret("EVENT_NOTIFICATIONS_APIKEY"),
        literal("CERTSYNC_EN_INSTANCE_ID", cloud.identity.en_instance_id),
        literal("CERTSYNC_EN_SOURCE_ID", source),
        literal("CERTSYNC_ALERT_ON_UPDATE", "true"),
    ]
    ce.create_job(
        project,
        IMAGE,
        JOB,
        run_env_variables=env,
        scale_retry_limit=1,
        scale_max_execution_time=300,
    )


def deploy(
    cloud: LocalCloud, sm: SecretsManagerV2, ce: CodeEngineV2, apikey: str, logs: Path
) -> tuple[str, Chain]:
    """Steps 1 to 4: the certificate in Secrets Manager, the job in Code Engine, a first sync, and
    the custom domain that serves it."""
    chain = make_chain(DOMAIN, days=30)
    anchors = logs / "demo-root-ca.pem"
    anchors.write_text(chain.root_pem)
    cloud.code_engine.domain_mappings.trust_root(chain.root.cert)  # the demo's "public" CA
    inbox = AlertInbox()
    en = cloud.event_notifications
    source = en.add_custom_source("certsync")
    topic = en.add_topic("certsync-alerts", Rule(source, "$.*"))
    en.subscribe(en.add_webhook_destination(inbox.url, name="ops-webhook"), topic_id=topic)
    secret = sm.create_secret(
        ImportedCertificatePrototype(
            secret_type="imported_cert",
            name=SECRET_NAME,
            certificate=chain.leaf_pem,
            intermediate=chain.intermediate_pem,
            private_key=chain.key_pem,
        )
    ).get_result()
    say(f"1. Secrets Manager: imported '{SECRET_NAME}' ({describe(chain.leaf_pem)})")
    create_job(ce, cloud, secret["id"], apikey, anchors=anchors, source=source)
    say(f"2. Code Engine: job '{JOB}' with mapping {SECRET_NAME} -> {TARGET}")
    began = time.monotonic()
    run = ce.create_job_run(cloud.identity.project_id, job_name=JOB).get_result()
    finished = cloud.code_engine.wait_for_job_run(run["name"], timeout=120)
    say(
        f"3. First sync: job run {run['name']} {finished['status']} in "
        f"{time.monotonic() - began:.2f} s; '{TARGET}' holds {describe(served(cloud))}"
    )
    cloud.code_engine.seed_app("web")
    ce.create_domain_mapping(
        cloud.identity.project_id,
        ComponentRef(name="web", resource_type="app_v2"),
        DOMAIN,
        TARGET,
    )
    wait_for(f"{DOMAIN} to be ready", lambda: on_the_wire(cloud))
    say(f"4. Code Engine: https://{DOMAIN} -> app 'web' with TLS secret '{TARGET}'")
    say(f"   served over TLS by the router: {on_the_wire(cloud)}")
    alert = wait_for("certsync's alert", lambda: inbox.received[0] if inbox.received else None)
    say(f"   an alert delivered by Event Notifications to a webhook: {alert['type']}")
    say(f'     "{alert["ibmendefaultshort"]}"')
    inbox.close()
    return str(secret["id"]), chain


def wire_events(cloud: LocalCloud, trigger: Trigger, token: str) -> None:
    en = cloud.event_notifications
    destination = en.add_code_engine_app_destination(
        f"{trigger.url}/events",
        name="trigger",
        headers={"Authorization": f"Bearer {token}"},
        sensitive_headers={"Authorization"},
    )
    en.subscribe(destination)


class AlertInbox:
    """A local webhook, subscribed to certsync's alerts through Event Notifications."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.received = received
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def show_status(cloud: LocalCloud, apikey: str) -> None:
    """`python -m job status`, as a person runs it from anywhere with credentials."""
    env = {
        **base_env(),
        "CE_PROJECT_ID": cloud.identity.project_id,
        "CODE_ENGINE_URL": cloud.code_engine_url,
        "CODE_ENGINE_AUTH_TYPE": "iam",
        "CODE_ENGINE_AUTH_URL": cloud.iam_url,
        "CODE_ENGINE_APIKEY": apikey,
    }
    done = subprocess.run(
        [sys.executable, "-m", "job", "status"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    say("$ python -m job status")
    say(done.stdout.rstrip() or done.stderr.rstrip())


def on_the_wire(cloud: LocalCloud) -> str | None:
    """What https://www.example.com serves, read over TLS from the local router (SNI)."""
    connect_to = parse_connect_to(f"{DOMAIN}:443:127.0.0.1:{cloud.router_port}")
    try:
        leaf = ServedCertificates(connect_to, timeout=5).leaf(DOMAIN)
    except CertsyncError:
        return None
    return describe(leaf.public_bytes(serialization.Encoding.PEM).decode())


def served(cloud: LocalCloud) -> str:
    secret = cloud.code_engine.secret(TARGET)
    assert secret is not None
    return str(secret["data"]["tls_cert"])


def job_said(cloud: LocalCloud, run: str, event: str = "target_updated") -> str:
    """The job's own log line for `event`, as the run printed it."""
    for line in cloud.code_engine.job_run_logs(run).splitlines():
        if line.startswith("{") and json.loads(line).get("event") == event:
            return line
    return f"(no {event} line)"


def rotate_and_follow(
    sm: SecretsManagerV2, cloud: LocalCloud, secret_id: str, chain: Chain
) -> Chain:
    before, before_wire = served(cloud), on_the_wire(cloud)
    known = set(cloud.code_engine.job_runs)
    already = len(delivered_so_far(cloud))
    new = renew(chain, days=90)
    started = time.monotonic()
    sm.create_secret_version(
        secret_id,
        ImportedCertificateVersionPrototype(
            certificate=new.leaf_pem, intermediate=new.intermediate_pem, private_key=new.key_pem
        ),
    )

    def stamp() -> str:
        return f"  +{(time.monotonic() - started) * 1000:7.0f} ms"

    say(f"Rotation: a new version of '{SECRET_NAME}' in Secrets Manager ({describe(new.leaf_pem)})")

    def delivered() -> Any:
        done = delivered_so_far(cloud)
        return done[-1] if len(done) > already else None

    delivery = wait_for("the notification to reach the trigger", delivered)
    say(
        f"{stamp()}  Event Notifications delivered the notification: HTTP {delivery.status}, "
        f"acknowledged in {delivery.latency * 1000:.0f} ms"
    )
    name = wait_for("a job run", lambda: next(iter(set(cloud.code_engine.job_runs) - known), None))
    say(f"{stamp()}  the trigger submitted job run {name}")
    run = cloud.code_engine.wait_for_job_run(name, timeout=120)
    say(f"{stamp()}  job run {name} {run['status']}")
    after, after_wire = served(cloud), on_the_wire(cloud)
    say(f"{stamp()}  Code Engine secret '{TARGET}' holds the new certificate; {DOMAIN} serves it")
    say(f"     secret before: {describe(before)}")
    say(f"     secret after:  {describe(after)}")
    say(f"     https://{DOMAIN} before (over TLS): {before_wire}")
    say(f"     https://{DOMAIN} after  (over TLS): {after_wire}")
    say(f"     end to end: {time.monotonic() - started:.2f} s (rotation to new certificate served)")
    say(f"     the job's log: {job_said(cloud, name)}")
    say(f"                    {job_said(cloud, name, 'domain_verified')}")
    expected = describe(new.leaf_pem)
    if run["status"] != "completed" or describe(after) != expected or after_wire != expected:
        raise SystemExit("demo: the new certificate is not served")
    return new


def delivered_so_far(cloud: LocalCloud) -> list[Any]:
    return [d for d in cloud.event_notifications.deliveries() if d.outcome == "delivered"]


def demo(logs: Path, *, keep: bool) -> None:
    apikey, token = f"demo-{secrets.token_hex(16)}", secrets.token_urlsafe(32)
    total = time.monotonic()
    with LocalCloud() as cloud:
        cloud.code_engine.register_image(IMAGE, [sys.executable, "-m", "job"], cwd=str(ROOT))
        say(
            f"Local IBM Cloud at {cloud.url} (IAM, Secrets Manager, Code Engine, Event "
            "Notifications)"
        )
        env = trigger_env(
            cloud,
            apikey=apikey,
            job=JOB,
            token=token,
            CERTSYNC_ALLOWED_SOURCES=cloud.identity.sm_instance_crn,
        )
        trigger = Trigger(env, logs, token=token)
        try:
            trigger.wait_ready()
            say(f"Trigger (python -m trigger) at {trigger.url}/events; logs in {logs}")
            sm, ce = clients(cloud, apikey)
            secret_id, chain = deploy(cloud, sm, ce, apikey, logs)
            wire_events(cloud, trigger, token)
            say(
                "5. Event Notifications: Secrets Manager events -> the trigger "
                "(Authorization header marked sensitive)"
            )
            say()
            chain = rotate_and_follow(sm, cloud, secret_id, chain)
            say()
            show_status(cloud, apikey)
            say(f"\nDemo finished in {time.monotonic() - total:.1f} s.")
            if keep:
                keep_rotating(sm, cloud, secret_id, chain, trigger)
        finally:
            trigger.stop()


def keep_rotating(
    sm: SecretsManagerV2, cloud: LocalCloud, secret_id: str, chain: Chain, trigger: Trigger
) -> None:
    say(
        f"Still running: local IBM Cloud {cloud.url}, trigger {trigger.url}. "
        "Press Enter to rotate again, Ctrl-C to stop."
    )
    try:
        while sys.stdin.readline():
            chain = rotate_and_follow(sm, cloud, secret_id, chain)
        while True:  # stdin closed: keep serving until interrupted
            time.sleep(3600)
    except KeyboardInterrupt:
        say("\nStopping.")


def main() -> int:
    parser = argparse.ArgumentParser(prog="make demo")
    parser.add_argument(
        "--keep", action="store_true", help="keep everything running; press Enter to rotate again"
    )
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the emulator and the trigger are always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logs = Path(tempfile.mkdtemp(prefix="certsync-demo-"))
    finished = False
    try:
        demo(logs, keep=args.keep)
        finished = True
    finally:
        if finished and not args.keep:
            shutil.rmtree(logs, ignore_errors=True)
        elif not finished:
            print(f"demo: the trigger's logs are kept in {logs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
