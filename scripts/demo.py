"""`make demo`: certsync end to end on the local IBM Cloud, with real processes and the real SDKs.

Starts the emulator (`python -m localcloud`) and the trigger (`python -m trigger`) as their own
processes, imports a certificate chain into Secrets Manager, creates the Code Engine job with its
mapping, runs it once, wires Event Notifications to the trigger, then rotates the certificate and
follows it: notification delivered -> ack -> job run submitted -> completed -> Code Engine secret
updated. `--keep` leaves everything running so that a person can rotate again and watch.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from cryptography import x509
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2, EnvVarPrototype
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ImportedCertificatePrototype,
    ImportedCertificateVersionPrototype,
    SecretsManagerV2,
)

from shared.clients import CODE_ENGINE_API_VERSION
from tests.pki import Chain, make_chain, renew
from tests.support import Endpoints, Trigger, trigger_env

ROOT = Path(__file__).resolve().parent.parent
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


@dataclass
class Processes:
    cloud: subprocess.Popen[str]
    trigger: Trigger | None = None

    def stop(self) -> None:
        if self.trigger is not None:
            self.trigger.stop()
        if self.cloud.poll() is None:
            self.cloud.terminate()
            try:
                self.cloud.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.cloud.kill()
                self.cloud.wait()


@contextmanager
def local_cloud(apikey: str, logs: Path) -> Iterator[tuple[Processes, dict[str, Any]]]:
    command = f"{shlex.quote(sys.executable)} -m job"
    cloud = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localcloud",
            "--apikey",
            apikey,
            "--cwd",
            str(ROOT),
            "--image",
            f"{IMAGE}={command}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=(logs / "fakecloud.log").open("w"),
        text=True,
    )
    processes = Processes(cloud)
    try:
        assert cloud.stdout is not None
        ready = json.loads(cloud.stdout.readline() or "null")
        if not ready:
            raise SystemExit(f"demo: the local IBM Cloud did not start; see {logs}/fakecloud.log")
        yield processes, ready
    finally:
        processes.stop()


def start_trigger(
    processes: Processes, info: dict[str, Any], apikey: str, token: str, logs: Path
) -> str:
    env = trigger_env(
        Endpoints.from_ready_line(info),
        apikey=apikey,
        job=JOB,
        token=token,
        CERTSYNC_ALLOWED_SOURCES=info["sm_instance_crn"],
    )
    processes.trigger = Trigger(env, logs, token=token)
    processes.trigger.wait_ready()
    return processes.trigger.url


def clients(info: dict[str, Any], apikey: str) -> tuple[SecretsManagerV2, CodeEngineV2]:
    sm = SecretsManagerV2(authenticator=IAMAuthenticator(apikey, url=info["url"]))
    sm.set_service_url(info["url"])
    ce = CodeEngineV2(
        authenticator=IAMAuthenticator(apikey, url=info["url"]), version=CODE_ENGINE_API_VERSION
    )
    ce.set_service_url(info["code_engine_url"])
    return sm, ce


def create_job(ce: CodeEngineV2, info: dict[str, Any], secret_id: str, apikey: str) -> None:
    ce.create_secret(info["project_id"], "generic", "certsync-credentials", data={"apikey": apikey})

    def literal(name: str, value: str) -> EnvVarPrototype:
        return EnvVarPrototype(type="literal", name=name, value=value)

    def from_secret(name: str) -> EnvVarPrototype:
        return EnvVarPrototype(
            type="secret_key_reference", name=name, reference="certsync-credentials", key="apikey"
        )

    env = [
        literal("SECRETS_MANAGER_URL", info["url"]),
        literal("SECRETS_MANAGER_AUTH_TYPE", "iam"),
        literal("SECRETS_MANAGER_AUTH_URL", info["url"]),
        from_secret("SECRETS_MANAGER_APIKEY"),
        literal("CODE_ENGINE_AUTH_TYPE", "iam"),
        literal("CODE_ENGINE_AUTH_URL", info["url"]),
        from_secret("CODE_ENGINE_APIKEY"),
        literal("CERTSYNC_MAPPINGS", json.dumps([{"secret": secret_id, "target": TARGET}])),
    ]
    ce.create_job(
        info["project_id"],
        IMAGE,
        JOB,
        run_env_variables=env,
        scale_retry_limit=1,
        scale_max_execution_time=300,
    )


def run_names(ce: CodeEngineV2, project_id: str) -> set[str]:
    result = ce.list_job_runs(project_id, job_name=JOB, limit=100).get_result()
    return {run["name"] for run in result.get("job_runs", [])}


def wait_run(ce: CodeEngineV2, project_id: str, name: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        run: dict[str, Any] = ce.get_job_run(project_id, name).get_result()
        return run if run.get("status") in ("completed", "failed") else None

    return wait_for(f"job run {name}", finished, timeout=120)


def served(ce: CodeEngineV2, project_id: str) -> str:
    return str(ce.get_secret(project_id, TARGET).get_result()["data"]["tls_cert"])


def rotate_and_follow(
    sm: SecretsManagerV2, ce: CodeEngineV2, info: dict[str, Any], secret_id: str, chain: Chain
) -> Chain:
    project = info["project_id"]
    before = served(ce, project)
    known = run_names(ce, project)
    already = len(delivered_so_far(info))
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

    def delivered() -> dict[str, Any] | None:
        done = delivered_so_far(info)
        return done[-1] if len(done) > already else None

    delivery = wait_for("the notification to reach the trigger", delivered)
    say(
        f"{stamp()}  Event Notifications delivered the notification: HTTP {delivery['status']}, "
        f"acknowledged in {delivery['latency'] * 1000:.0f} ms"
    )
    name = wait_for("a job run", lambda: next(iter(run_names(ce, project) - known), None))
    say(f"{stamp()}  the trigger submitted job run {name}")
    run = wait_run(ce, project, name)
    say(f"{stamp()}  job run {name} {run['status']}")
    after = served(ce, project)
    say(f"{stamp()}  Code Engine secret '{TARGET}' now holds the new certificate")
    say(f"     before: {describe(before)}")
    say(f"     after:  {describe(after)}")
    say(f"     end to end: {time.monotonic() - started:.2f} s (rotation to new certificate served)")
    if run["status"] != "completed" or describe(after) != describe(new.leaf_pem):
        raise SystemExit("demo: the Code Engine secret was not updated")
    return new


def delivered_so_far(info: dict[str, Any]) -> list[dict[str, Any]]:
    got = requests.get(f"{info['url']}/_fakecloud/event_notifications/deliveries", timeout=5)
    return [d for d in got.json()["deliveries"] if d["outcome"] == "delivered"]


def main() -> int:
    parser = argparse.ArgumentParser(prog="make demo")
    parser.add_argument(
        "--keep", action="store_true", help="keep everything running; press Enter to rotate again"
    )
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the emulator and the trigger are always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    apikey, token = f"demo-{secrets.token_hex(16)}", secrets.token_urlsafe(32)
    logs_dir = Path(tempfile.mkdtemp(prefix="certsync-demo-"))
    total = time.monotonic()
    with local_cloud(apikey, logs_dir) as (processes, info):
        project = info["project_id"]
        say(
            f"Local IBM Cloud at {info['url']} (IAM, Secrets Manager, Code Engine, Event "
            "Notifications)"
        )
        trigger_url = start_trigger(processes, info, apikey, token, logs_dir)
        say(f"Trigger (python -m trigger) at {trigger_url}/events; logs in {logs_dir}")
        sm, ce = clients(info, apikey)
        chain = make_chain("www.example.com", days=30)
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
        create_job(ce, info, secret["id"], apikey)
        say(f"2. Code Engine: job '{JOB}' with mapping {SECRET_NAME} -> {TARGET}")
        began = time.monotonic()
        run = ce.create_job_run(project, job_name=JOB).get_result()
        finished = wait_run(ce, project, run["name"])
        say(
            f"3. First sync: job run {run['name']} {finished['status']} in "
            f"{time.monotonic() - began:.2f} s; '{TARGET}' holds {describe(served(ce, project))}"
        )
        destination = requests.post(
            f"{info['url']}/_fakecloud/event_notifications/destinations",
            json={
                "type": "code_engine_app",
                "url": f"{trigger_url}/events",
                "name": "trigger",
                "headers": {"Authorization": f"Bearer {token}"},
                "sensitive_headers": ["Authorization"],
            },
            timeout=5,
        ).json()["id"]
        requests.post(
            f"{info['url']}/_fakecloud/event_notifications/subscriptions",
            json={"destination_id": destination},
            timeout=5,
        ).raise_for_status()
        say(
            "4. Event Notifications: Secrets Manager events -> the trigger "
            "(Authorization header marked sensitive)"
        )
        say()
        chain = rotate_and_follow(sm, ce, info, secret["id"], chain)
        say(f"\nDemo finished in {time.monotonic() - total:.1f} s.")
        if args.keep:
            say(
                f"Still running: local IBM Cloud {info['url']}, trigger {trigger_url}. "
                "Press Enter to rotate again, Ctrl-C to stop."
            )
            try:
                while sys.stdin.readline():
                    chain = rotate_and_follow(sm, ce, info, secret["id"], chain)
                while True:  # stdin closed: keep serving until interrupted
                    time.sleep(3600)
            except KeyboardInterrupt:
                say("\nStopping.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
