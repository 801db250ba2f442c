"""What the Event Notifications contract tests share: a scripted webhook receiver, a secret entry,
a custom source's alert, an SDK client, and small helpers."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_eventnotifications.event_notifications_v1 import EventNotificationsV1
from ibm_platform_services.iam_policy_management_v1 import IamPolicyManagementV1

from localcloud import LocalCloud
from localcloud.event_notifications import EventNotifications

PREFIX = "com.ibm.cloud.secrets-manager."
APIKEY = "en-test-apikey"
FAILED = "com.ibm.certsync.mapping.failed"
EXPIRING = "com.ibm.certsync.certificate.expiring"
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


def alert(source_id: str, type: str = FAILED, **over: Any) -> dict[str, Any]:
    """A custom source's `NotificationCreate` body, valid as it is; `over` replaces attributes."""
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "certsync",
        "type": type,
        "time": "2030-01-04T00:00:00Z",
        "ibmensourceid": source_id,
        "ibmenseverity": "HIGH",
        "ibmendefaultshort": "certsync: www.example.com not updated",
        "ibmendefaultlong": "Mapping 'www.example.com' failed: secret 'web-cert' has no key.",
        "datacontenttype": "application/json",
        "data": {"target": "www.example.com", "secret": "web-cert"},
    }
    return body | over


def without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in keys}


def sdk_client(cloud: LocalCloud) -> EventNotificationsV1:
    service = EventNotificationsV1(authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url))
    service.set_service_url(cloud.event_notifications_url)
    return service


def api_error(call: Callable[[], Any]) -> ApiException:
    with pytest.raises(ApiException) as info:
        call()
    return info.value


def subscribed_webhook(en: EventNotifications, url: str, **kwargs: Any) -> str:
    destination = en.add_webhook_destination(url, **kwargs)
    en.subscribe(destination)
    return destination


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


EVENT_SOURCE_MANAGER = "crn:v1:bluemix:public:event-notifications::::serviceRole:EventSourceManager"
VIEWER = "crn:v1:bluemix:public:iam::::role:Viewer"
WRITER = "crn:v1:bluemix:public:iam::::serviceRole:Writer"


def authorize(
    cloud: LocalCloud, source: tuple[str, str], target: tuple[str, str], *roles: str
) -> str:
    """Create an IAM authorization policy through the SDK; returns its id (for `revoke`)."""
    account = cloud.identity.account_id
    policies = IamPolicyManagementV1(authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url))
    policies.set_service_url(cloud.iam_policy_url)

    def attributes(pair: tuple[str, str]) -> list[dict[str, str]]:
        return [
            {"name": "accountId", "value": account},
            {"name": "serviceName", "value": pair[0]},
            {"name": "serviceInstance", "value": pair[1]},
        ]

    created = policies.create_policy(
        type="authorization",
        subjects=[{"attributes": attributes(source)}],
        roles=[{"role_id": role} for role in roles],
        resources=[{"attributes": attributes(target)}],
    ).get_result()
    policies.http_client.close()
    return str(created["id"])


def revoke(cloud: LocalCloud, policy_id: str) -> None:
    policies = IamPolicyManagementV1(authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url))
    policies.set_service_url(cloud.iam_policy_url)
    policies.delete_policy(policy_id)
    policies.http_client.close()


def authorize_source(cloud: LocalCloud) -> str:
    """Secrets Manager may act as a source of the Event Notifications instance."""
    identity = cloud.identity
    return authorize(
        cloud,
        ("secrets-manager", identity.sm_instance_id),
        ("event-notifications", identity.en_instance_id),
        EVENT_SOURCE_MANAGER,
    )
