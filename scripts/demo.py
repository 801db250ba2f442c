"""`make demo`: certsync end to end on the local IBM Cloud, with real processes and the real SDKs.

Starts the local IBM Cloud (in this process, as the tests do), imports a certificate chain into
Secrets Manager (the user's), then installs certsync the way a user does: `python -m deploy plan`
and `python -m deploy apply` with a certsync.yaml (trusted profile, policies, authorizations,
Event Notifications wiring, the job and the trigger app, which the emulated Code Engine runs as
processes). A first sync fills the TLS secret, the custom domain serves it, then a rotation is
followed: notification delivered -> ack -> job run submitted -> completed -> Code Engine secret
updated -> served over TLS. `python -m deploy doctor --canary` checks the installation and
follows a canary rotation hop by hop. Then a certificate uploaded by hand, expiring in days, is
found by `python -m deploy inventory`, taken over by `deploy adopt --write` and `apply`, and its
next renewal in Secrets Manager reaches Code Engine like the first one's. `python -m job status`
shows the record. The steps are numbered as they are shown. `--keep` leaves everything running,
prints the config file and the environment that run `python -m deploy` against it by hand, and
rotates again on Enter.
"""

from __future__ import annotations

import argparse
import json
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
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2, ComponentRef
from ibm_eventnotifications.event_notifications_v1 import EventNotificationsV1
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ImportedCertificatePrototype,
    ImportedCertificateVersionPrototype,
    SecretsManagerV2,
)

from job.served import ServedCertificates
from job.variables import parse_connect_to
from localcloud import LocalCloud
from localcloud.account import Identity
from localcloud.pki import Chain, make_chain, renew
from scripts.deploy_local import admin_key, local_config, register_images, run_deploy, write_config
from scripts.processes import ROOT, base_env
from shared.clients import CODE_ENGINE_API_VERSION
from shared.errors import CertsyncError

DOMAIN = "www.example.com"
JOB, TARGET, SECRET_NAME = "certsync", "tls-www", "www-example-com"
SHOP, SHOP_TARGET, SHOP_NAME = "shop.example.com", "tls-shop", "shop-example-com"
T = TypeVar("T")


def say(text: str = "") -> None:
    print(text, flush=True)


class Steps:
    """The demo's numbered steps, numbered as they are shown: none skipped, none repeated."""

    def __init__(self) -> None:
        self.number = 0

    def __call__(self, text: str) -> None:
        self.number += 1
        say(f"{self.number}. {text}")


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


def certsync_yaml(cloud: LocalCloud, secret_id: str, anchors: Path, folder: Path) -> Path:
    """The user's certsync.yaml, every endpoint pointing at the local IBM Cloud."""
    config = local_config(cloud, [{"secret": secret_id, "target": TARGET}])
    # Event Notifications is named by its CRN here (a GUID does as well): its region is checked
    # against the instance's, which deploy looks up in the Resource Controller.
    config["event_notifications"]["instance_id"] = cloud.identity.en_instance_crn
    config["env"] = {
        "job": {
            # The domain is reached through the local Code Engine router; its CA is the demo's.
            "CERTSYNC_CONNECT_TO": ",".join(
                f"{d}:443:127.0.0.1:{cloud.router_port}" for d in (DOMAIN, SHOP)
            ),
            "CERTSYNC_TRUST_ANCHORS_FILE": str(anchors),
            "CERTSYNC_VERIFY_TIMEOUT": "30",
            "CERTSYNC_ALERT_ON_UPDATE": "true",
        }
    }
    return write_config(folder / "certsync.yaml", config)


def install(cloud: LocalCloud, config: Path, apikey: str, step: Steps) -> None:
    """What `python -m deploy plan` shows, then `apply`."""
    step("Install: python -m deploy plan shows what apply will do, then apply does it\n")
    for verb in ("plan", "apply"):
        say(f"$ python -m deploy {verb} --config certsync.yaml")
        done = run_deploy(verb, config, apikey)
        if done.returncode != 0:
            raise SystemExit(f"demo: deploy {verb} failed: {done.stderr.strip()}")
        if verb == "plan":
            say(indent(done.stdout.rstrip()))
        else:  # apply shows the same plan first; here, only what it did
            say(indent("(the plan above, then:)\n" + done.stderr.rstrip()))
            say(indent(done.stdout[done.stdout.index("Applied") :].rstrip()))
        say()


def first_sync(cloud: LocalCloud, ce: CodeEngineV2, step: Steps) -> None:
    """A first run of every mapping, as `ibmcloud ce jobrun submit --job certsync`."""
    began = time.monotonic()
    run = ce.create_job_run(cloud.identity.project_id, job_name=JOB).get_result()
    finished = cloud.code_engine.job_runs.wait(run["name"], timeout=120)
    step(
        f"First sync (ibmcloud ce jobrun submit --job {JOB}): job run {run['name']} "
        f"{finished['status']} in {time.monotonic() - began:.2f} s, as trusted profile "
        f"'certsync' (no API key); '{TARGET}' holds {describe(served(cloud))}"
    )


def map_domain(cloud: LocalCloud, ce: CodeEngineV2, step: Steps) -> None:
    """The user's app serves the certificate on its custom domain."""
    cloud.code_engine.apps.seed("web")
    ce.create_domain_mapping(
        cloud.identity.project_id,
        ComponentRef(name="web", resource_type="app_v2"),
        DOMAIN,
        TARGET,
    )
    wait_for(f"{DOMAIN} to be ready", lambda: on_the_wire(cloud))
    step(f"Code Engine: https://{DOMAIN} -> app 'web' with TLS secret '{TARGET}'")
    say(f"   served over TLS by the router: {on_the_wire(cloud)}")


def subscribe_to_alerts(cloud: LocalCloud, apikey: str, inbox: AlertInbox) -> None:
    """What `apply` leaves to the user: who hears the alerts (here, a local webhook)."""
    en = EventNotificationsV1(authenticator=IAMAuthenticator(apikey, url=cloud.iam_url))
    en.set_service_url(cloud.event_notifications_url)
    instance = cloud.identity.en_instance_id
    topics = en.list_topics(instance_id=instance, search="certsync-alerts").get_result()
    topic = next(t for t in topics["topics"] if t["name"] == "certsync-alerts")
    destination = en.create_destination(
        instance_id=instance,
        name="ops-webhook",
        type="webhook",
        config={"params": {"url": inbox.url, "verb": "post"}},
    ).get_result()
    en.create_subscription(
        instance_id=instance,
        name="ops",
        topic_id=topic["id"],
        destination_id=destination["id"],
        attributes={"signing_enabled": False},
    )
    say("   (by hand, as apply asked) topic 'certsync-alerts' -> webhook 'ops-webhook'")


def doctor(config: Path, apikey: str, step: Steps) -> None:
    """Every check, then a canary rotation followed through the real path, hop by hop."""
    step("Check the installation, and follow a canary rotation hop by hop")
    say("$ python -m deploy doctor --canary --config certsync.yaml")
    done = run_deploy("doctor", config, apikey, "--canary")
    say(indent(done.stdout.rstrip()))
    if done.returncode != 0:
        raise SystemExit("demo: doctor found a problem")


def uploaded_by_hand(cloud: LocalCloud, sm: SecretsManagerV2, ce: CodeEngineV2, ca: Chain) -> Chain:
    """What certsync finds on many accounts: a TLS secret someone uploaded by hand, serving a
    domain, expiring in days; its certificate was imported into Secrets Manager too."""
    shop = make_chain(SHOP, days=6, ca=(ca.root, ca.intermediate))
    data = {"tls_cert": shop.leaf_pem + shop.intermediate_pem, "tls_key": shop.key_pem}
    ce.create_secret(cloud.identity.project_id, format="tls", name=SHOP_TARGET, data=data)
    sm.create_secret(
        ImportedCertificatePrototype(
            secret_type="imported_cert",
            name=SHOP_NAME,
            certificate=shop.leaf_pem,
            intermediate=shop.intermediate_pem,
            private_key=shop.key_pem,
        )
    )
    ce.create_domain_mapping(
        cloud.identity.project_id,
        ComponentRef(name="web", resource_type="app_v2"),
        SHOP,
        SHOP_TARGET,
    )
    say(f"By hand, long ago: Code Engine secret '{SHOP_TARGET}' for https://{SHOP} "
        f"({describe(shop.leaf_pem)}), the same certificate imported as '{SHOP_NAME}'")  # fmt: skip
    return shop


def take_over(config: Path, apikey: str) -> None:
    """inventory finds it, adopt writes its mapping, apply installs it."""
    for verb, args in (("inventory", ()), ("adopt", ("--write",)), ("apply", ())):
        shown = " ".join(("python -m deploy", verb, *args, "--config certsync.yaml"))
        say(f"$ {shown}")
        done = run_deploy(verb, config, apikey, *args)
        if done.returncode not in ((0, 1) if verb == "inventory" else (0,)):
            raise SystemExit(f"demo: deploy {verb} failed: {done.stderr.strip()}")
        text = done.stdout.rstrip()
        if verb == "inventory":
            text += f"\n(exit status {done.returncode}: a served certificate expires unrenewed)"
        elif verb == "apply":
            text = text[text.index("Applied") :]
        say(indent(text))


def renewal_reaches_it(sm: SecretsManagerV2, cloud: LocalCloud, shop: Chain) -> None:
    """The adopted secret's next renewal in Secrets Manager is synced like any other."""
    listed = sm.list_secrets(search=SHOP_NAME).get_result()["secrets"]
    secret_id = next(s["id"] for s in listed if s["name"] == SHOP_NAME)
    new = renew(shop, days=90)
    started = time.monotonic()
    sm.create_secret_version(
        secret_id,
        ImportedCertificateVersionPrototype(
            certificate=new.leaf_pem, intermediate=new.intermediate_pem, private_key=new.key_pem
        ),
    )
    expected = describe(new.leaf_pem)

    def synced() -> bool | None:
        secret = cloud.code_engine.secrets.find(SHOP_TARGET)
        return True if secret and describe(secret["data"]["tls_cert"]) == expected else None

    wait_for(f"'{SHOP_TARGET}' to hold the renewed certificate", synced)
    say(f"Renewed '{SHOP_NAME}' in Secrets Manager: the next run wrote it to '{SHOP_TARGET}' in "
        f"{time.monotonic() - started:.2f} s ({expected})")  # fmt: skip


def indent(text: str, prefix: str = "   ") -> str:
    return "\n".join(f"{prefix}{line}" if line else line for line in text.splitlines())


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


def show_status(cloud: LocalCloud, apikey: str, step: Steps) -> None:
    """`python -m job status`, as a person runs it from anywhere with credentials."""
    step("The status record")
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
    secret = cloud.code_engine.secrets.find(TARGET)
    assert secret is not None
    return str(secret["data"]["tls_cert"])


def job_said(cloud: LocalCloud, run: str, event: str) -> str | None:
    """The job's own JSON log line for `event`, as the run printed it."""
    for line in cloud.code_engine.job_runs.logs(run).splitlines():
        if line.startswith("{") and json.loads(line).get("event") == event:
            return line
    return None


def readable(line: str | None) -> str:
    """A job's JSON log line as one short line: the event, what it is about, the key facts."""
    if line is None:
        return "(no such line in the run's log)"
    record = json.loads(line)
    about = record.get("domain") or record.get("target") or ""
    facts = [f"outcome {record['outcome']}"] if "outcome" in record else []
    if record.get("serial"):
        facts.append(f"serial {str(record['serial'])[:16]}…")
    if "days_left" in record:
        facts.append(f"{record['days_left']} days left")
    if "seconds" in record:
        facts.append(f"{record['seconds']} s")
    reason = f": {record['reason']}" if record.get("reason") else ""
    return f"{record.get('event')} '{about}' ({', '.join(facts)}){reason}"


def rotate_and_follow(
    sm: SecretsManagerV2, cloud: LocalCloud, secret_id: str, chain: Chain, *, full_json: bool
) -> Chain:
    before, before_wire = served(cloud), on_the_wire(cloud)
    known = {run["name"] for run in cloud.code_engine.job_runs.list()}
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

    say(f"A new version of '{SECRET_NAME}' in Secrets Manager ({describe(new.leaf_pem)})")

    def delivered() -> Any:
        done = delivered_so_far(cloud)
        return done[-1] if len(done) > already else None

    delivery = wait_for("the notification to reach the trigger", delivered)
    say(
        f"{stamp()}  Event Notifications delivered the notification: HTTP {delivery.status}, "
        f"acknowledged in {delivery.latency * 1000:.0f} ms"
    )
    name = wait_for(
        "a job run",
        lambda: next(
            iter({run["name"] for run in cloud.code_engine.job_runs.list()} - known), None
        ),
    )
    say(f"{stamp()}  the trigger submitted job run {name}")
    run = cloud.code_engine.job_runs.wait(name, timeout=120)
    say(f"{stamp()}  job run {name} {run['status']}")
    after, after_wire = served(cloud), on_the_wire(cloud)
    say(f"{stamp()}  Code Engine secret '{TARGET}' holds the new certificate; {DOMAIN} serves it")
    say(f"     secret before: {describe(before)}")
    say(f"     secret after:  {describe(after)}")
    say(f"     https://{DOMAIN} before (over TLS): {before_wire}")
    say(f"     https://{DOMAIN} after  (over TLS): {after_wire}")
    say(f"     end to end: {time.monotonic() - started:.2f} s (rotation to new certificate served)")
    updated = job_said(cloud, name, "target_updated")
    say(f"     the job's log: {readable(updated)}")
    say(f"                    {readable(job_said(cloud, name, 'domain_verified'))}")
    if full_json and updated is not None:
        say(
            f"     (one JSON line per event, as in `ibmcloud ce jobrun logs`; the first in full:)\n"
            f"     {updated}"
        )
    expected = describe(new.leaf_pem)
    if run["status"] != "completed" or describe(after) != expected or after_wire != expected:
        raise SystemExit("demo: the new certificate is not served")
    return new


def delivered_so_far(cloud: LocalCloud) -> list[Any]:
    """Deliveries to the trigger (the destination `deploy` created), not to the alerts webhook."""
    return [
        d
        for d in cloud.event_notifications.deliveries()
        if d.outcome == "delivered" and d.destination_name == "certsync-trigger"
    ]


def demo(folder: Path, *, keep: bool) -> None:
    total = time.monotonic()
    # As on many real accounts, Event Notifications is not in the Code Engine project's region.
    with LocalCloud(Identity(region="us-south", en_region="eu-de")) as cloud:
        register_images(cloud)
        apikey = admin_key(cloud)
        identity = cloud.identity
        say(
            f"Local IBM Cloud at {cloud.url} (IAM, Resource Controller, Secrets Manager, Code "
            f"Engine, Event Notifications): Code Engine project in {identity.region}, Secrets "
            f"Manager in {identity.sm_region}, Event Notifications in {identity.en_region}"
        )
        sm, ce = clients(cloud, apikey)
        chain = make_chain(DOMAIN, days=30)
        anchors = folder / "demo-root-ca.pem"
        anchors.write_text(chain.root_pem)
        cloud.code_engine.domain_mappings.trust_root(chain.root.cert)  # the demo's "public" CA
        secret = sm.create_secret(
            ImportedCertificatePrototype(
                secret_type="imported_cert",
                name=SECRET_NAME,
                certificate=chain.leaf_pem,
                intermediate=chain.intermediate_pem,
                private_key=chain.key_pem,
            )
        ).get_result()
        secret_id = str(secret["id"])
        step = Steps()
        step(f"Secrets Manager: imported '{SECRET_NAME}' ({describe(chain.leaf_pem)})")
        config = certsync_yaml(cloud, secret_id, anchors, folder)
        step(f"certsync.yaml: mapping {SECRET_NAME} -> {TARGET}, delivery webhook\n")
        install(cloud, config, apikey, step)
        inbox = AlertInbox()
        try:
            subscribe_to_alerts(cloud, apikey, inbox)
            first_sync(cloud, ce, step)
            alert = wait_for(
                "certsync's alert", lambda: inbox.received[0] if inbox.received else None
            )
            say(f"   an alert delivered by Event Notifications to a webhook: {alert['type']}")
            say(f'     "{alert["ibmendefaultshort"]}"')
            map_domain(cloud, ce, step)
            say()
            step("Rotation, followed from Secrets Manager to the custom domain")
            chain = rotate_and_follow(sm, cloud, secret_id, chain, full_json=True)
            say()
            doctor(config, apikey, step)
            say()
            step("A certificate uploaded by hand, found by inventory and taken over by adopt")
            shop = uploaded_by_hand(cloud, sm, ce, chain)
            take_over(config, apikey)
            renewal_reaches_it(sm, cloud, shop)
            say()
            show_status(cloud, apikey, step)
            say(f"\nDemo finished in {time.monotonic() - total:.1f} s.")
            if keep:
                by_hand(cloud, config, apikey, folder)
                keep_rotating(sm, cloud, secret_id, chain)
        finally:
            inbox.close()


def by_hand(cloud: LocalCloud, config: Path, apikey: str, folder: Path) -> None:
    """`--keep`: what a person needs to run `deploy` against the running local cloud. The key is
    written to a file (readable only by its owner), never printed."""
    key_file = folder / "apikey"
    key_file.touch(mode=0o600)
    key_file.write_text(apikey)
    python = Path(sys.executable)
    say(
        "\nRun deploy against this local IBM Cloud by hand, from another terminal in "
        f"{ROOT}:\n"
        f"   config file: {config}\n"
        f'   export IBMCLOUD_API_KEY="$(cat {key_file})"   # the local administrator\'s key\n'
        f"   {python} -m deploy status --config {config}\n"
        f"   {python} -m deploy plan   --config {config}\n"
        f"   {python} -m deploy doctor --config {config} --canary\n"
        "   (every endpoint is in the config file; the key works only on this local cloud, "
        f"whose IAM is {cloud.iam_url})\n"
    )


def keep_rotating(sm: SecretsManagerV2, cloud: LocalCloud, secret_id: str, chain: Chain) -> None:
    say(
        f"Still running: local IBM Cloud {cloud.url}, the trigger app in its Code Engine. "
        "Press Enter to rotate again, Ctrl-C to stop."
    )
    try:
        while sys.stdin.readline():
            chain = rotate_and_follow(sm, cloud, secret_id, chain, full_json=False)
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
    # SIGTERM unwinds like Ctrl-C, so the emulator and the processes it runs are always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder = Path(tempfile.mkdtemp(prefix="certsync-demo-"))
    try:
        demo(folder, keep=args.keep)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
