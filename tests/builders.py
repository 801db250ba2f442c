"""Test data, valid by default; a test changes the one thing it is about.

Notifications as Event Notifications delivers them for Secrets Manager, certificates as the job's
adapter reads them, the trigger's settings and app with a recording `JobRuns`, and the unmodified
SDK clients pointed at a `LocalCloud`. (The job's and the trigger's environments for a local cloud,
and the processes themselves, are in `tests/support.py`.)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2
from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsManagerV2
from starlette.applications import Starlette

from deploy.model import Facts
from job.certs import SourceCertificate
from shared.clients import CODE_ENGINE_API_VERSION
from tests.pki import Chain, make_chain
from trigger.app import create_app
from trigger.jobruns import AlreadyExists, Submitted
from trigger.settings import Settings
from trigger.submitter import Submitter

if TYPE_CHECKING:
    from localcloud import LocalCloud

V = TypeVar("V")


def with_changes(values: Mapping[str, V], changes: Mapping[str, V | None]) -> dict[str, V]:
    """`values` with each change applied; a None value removes the key."""
    changed = dict(values)
    for key, value in changes.items():
        if value is None:
            changed.pop(key, None)
        else:
            changed[key] = value
    return changed


# -- notifications ---------------------------------------------------------------------------

SM_CRN = "crn:v1:bluemix:public:secrets-manager:us-south:a/0123abcd:9f8e7d6c-1111-2222-3333::"
SECRET_ID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
EVENT_ID = "6f1c8a52-0d3e-4b7a-9c21-3e5f7a9b0c1d"
NOTIFICATION_ID = "2d4f6a8c-1b3d-4e5f-8a7b-9c0d1e2f3a4b"
TYPE_PREFIX = "com.ibm.cloud.secrets-manager."


def secret_crn(secret_id: str = SECRET_ID, instance_crn: str = SM_CRN) -> str:
    return f"{instance_crn.removesuffix('::')}:secret:{secret_id}"


def secret_entry(ref: str | None = None, **changes: Any) -> dict[str, Any]:
    """One `data.secrets[]` entry for a certificate. `ref` names the secret: its CRN (the default,
    as in the docs' example) or a bare id. A change of None removes the property."""
    entry: dict[str, Any] = {
        "secret_id": secret_crn() if ref is None else ref,
        "secret_name": "web-cert",
        "secret_group_id": "default",
        "serial_number": "3a:9f:01",
        "domains": "example.com, www.example.com",
        "secret_expiration": "2027-02-26T01:00:00Z",
        "event_time": "2026-11-28T01:00:00Z",
        "event_triggered_by": "iam-ServiceId-secrets-manager",
    }
    return with_changes(entry, changes)


def secret_entry_of(cloud: LocalCloud, secret_id: str) -> dict[str, Any]:
    """The entry Secrets Manager would send for a secret seeded in `cloud` (CRN form)."""
    secret = cloud.secrets_manager.secret(secret_id)
    return secret_entry(
        cloud.identity.secret_crn(secret_id),
        secret_name=secret["name"],
        secret_group_id=secret["secret_group_id"],
        serial_number=secret["serial_number"],
        domains=secret.get("common_name", "example.com"),
        secret_expiration=secret["expiration_date"],
        event_time=secret["updated_at"],
    )


def notification(
    event: str = "secret_rotated",
    *,
    secret_type: str = "public_cert",
    secrets: list[dict[str, Any]] | None = None,
    source: str = SM_CRN,
    **changes: Any,
) -> dict[str, Any]:
    """A notification as Event Notifications delivers it for a Secrets Manager event.

    `event` may carry a sub-type (`secret_about_to_expire:in_10_days`); a test event's `data` has
    no secrets. `secrets` defaults to one `secret_entry()`. `changes` replace top-level keys (None
    removes one).
    """
    name, _, sub_type = event.partition(":")
    data: dict[str, Any] = {"event_type": name}
    if sub_type:
        data["event_sub_type"] = sub_type
    if name != "test_event":
        data["secret_type"] = secret_type
        data["secrets"] = [secret_entry()] if secrets is None else secrets
    data |= {"source_instance_crn": source, "source_service": "SecretsManager"}
    count = len(data.get("secrets", []))
    body: dict[str, Any] = {
        "id": EVENT_ID,
        "notification_id": NOTIFICATION_ID,
        "source": source,
        "specversion": "1.0",
        "type": TYPE_PREFIX + event,
        "time": "2026-11-28T01:00:00.000000Z",
        "datacontenttype": "application/json",
        "ibmensourceid": source,
        "ibmenseverity": "low",
        "ibmendefaultshort": f"Your {count} secret(s): {name}",
        "ibmendefaultlong": f"You have {count} secret(s) with the event {name}.",
        "data": data,
    }
    return with_changes(body, changes)


# -- certificates ----------------------------------------------------------------------------


def source_certificate(chain: Chain | None = None, **changes: Any) -> SourceCertificate:
    """An imported certificate as the job's Secrets Manager adapter reads it, from `chain`."""
    chain = chain or make_chain()
    fields: dict[str, Any] = {
        "secret_id": SECRET_ID,
        "name": "web-cert",
        "secret_type": "imported_cert",
        "certificate": chain.leaf_pem,
        "private_key": chain.key_pem,
        "intermediate": chain.intermediate_pem,
    }
    return SourceCertificate(**{**fields, **changes})


# -- the trigger -----------------------------------------------------------------------------

WEBHOOK_TOKEN = "s3cret-webhook-token-0123"
WEBHOOK_HEADERS = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


def trigger_environ(**changes: str | None) -> dict[str, str]:
    """The trigger's environment on Code Engine (a trusted profile, no cloud behind it)."""
    env = {
        "CE_PROJECT_ID": "15aa7b1e-0000-4000-8000-000000000001",
        "CE_REGION": "us-south",
        "CODE_ENGINE_AUTH_TYPE": "container",
        "CODE_ENGINE_IAM_PROFILE_NAME": "certsync",
        "CERTSYNC_JOB_NAME": "certsync",
        "CERTSYNC_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
    }
    return with_changes(env, changes)


class RecordingJobRuns:
    """A fake `JobRuns`: records each call; `gate` (if given) holds calls until it is set."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.gate = gate
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        with self._lock:
            seen = any(n == name for n, _ in self.calls)
            self.calls.append((name, notification_json))
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        return AlreadyExists(name) if seen else Submitted(name)


class InThread:
    """The asynchronous `JobRuns` over a blocking fake: each call in a worker thread, so a gated
    call holds its submission, not the event loop."""

    def __init__(self, blocking: RecordingJobRuns) -> None:
        self.blocking = blocking

    async def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        return await anyio.to_thread.run_sync(self.blocking.submit, name, notification_json)


def trigger_app(
    job_runs: RecordingJobRuns | None = None, **env: str | None
) -> tuple[Starlette, RecordingJobRuns, Submitter]:
    """The webhook app over a recording fake, with `trigger_environ(**env)`."""
    fake = job_runs or RecordingJobRuns()
    submitter = Submitter(InThread(fake))
    return create_app(Settings.from_env(trigger_environ(**env)), submitter), fake, submitter


# -- SDK clients -----------------------------------------------------------------------------


def code_engine_sdk(
    cloud: LocalCloud, apikey: str, version: str | None = CODE_ENGINE_API_VERSION
) -> CodeEngineV2:
    """The unmodified Code Engine SDK as a user sets it up, pointed at `cloud` (which learns
    `apikey`). Close it with `client.http_client.close()`."""
    cloud.iam.add_apikey(apikey)
    client = CodeEngineV2(
        authenticator=IAMAuthenticator(apikey, url=cloud.iam_url), version=version
    )
    client.set_service_url(cloud.code_engine_url)
    return client


def secrets_manager_sdk(cloud: LocalCloud, apikey: str) -> SecretsManagerV2:
    """The unmodified Secrets Manager SDK pointed at `cloud` (which learns `apikey`)."""
    cloud.iam.add_apikey(apikey)
    client = SecretsManagerV2(authenticator=IAMAuthenticator(apikey, url=cloud.iam_url))
    client.set_service_url(cloud.secrets_manager_url)
    return client


class FakeClock:
    """Monotonic time that moves only when something sleeps: waits are asserted, never slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


# -- python -m deploy ------------------------------------------------------------------------

DEPLOY_SM = "00000000-0000-4000-8000-000000000001"
DEPLOY_EN = "00000000-0000-4000-8000-000000000002"
# What `deploy` learns of an account before planning: the project in us-south, Secrets Manager
# in us-south and Event Notifications in eu-de, each at its own regional endpoint.
DEPLOY_FACTS = Facts(
    account_id="acct",
    project_id="proj-id",
    project_name="my-project",
    project_crn="crn:v1:bluemix:public:codeengine:us-south:a/acct:proj-id::",
    sm_crn=f"crn:v1:bluemix:public:secrets-manager:us-south:a/acct:{DEPLOY_SM}::",
    en_crn=f"crn:v1:bluemix:public:event-notifications:eu-de:a/acct:{DEPLOY_EN}::",
    sm_url=f"https://{DEPLOY_SM}.us-south.secrets-manager.appdomain.cloud",
    en_url="https://eu-de.event-notifications.cloud.ibm.com/event-notifications",
)


def deploy_config(**changes: Any) -> dict[str, Any]:
    """A valid certsync.yaml as parsed YAML; a None change removes the key."""
    base: dict[str, Any] = {
        "region": "us-south",
        "code_engine": {"project": "my-project"},
        "secrets_manager": {"instance_id": DEPLOY_SM},
        "event_notifications": {"instance_id": DEPLOY_EN},
        "mappings": [{"secret": "11111111-2222-4333-8444-555555555555", "target": "tls-www"}],
        "images": {
            "job": "icr.io/ns/certsync-job:1",
            "trigger": "icr.io/ns/certsync-trigger:1",
            "registry_secret": "certsync-registry",
        },
    }
    return with_changes(base, changes)
