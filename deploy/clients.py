"""The SDK clients `deploy` acts through, built once from the config and the administrator's key.

`deploy` runs as a person or a pipeline with an API key (`IBMCLOUD_API_KEY`, as the `ibmcloud` CLI
and Terraform read it); what it installs runs with no API key at all (the trusted profile).

Two steps, because where Secrets Manager and Event Notifications answer depends on the regions of
their instances: `account` gives the clients that look the account up (IAM, Code Engine, the
Resource Controller), `build` adds the two instances' clients once their URLs are known (`Facts`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from deploy.config import Config
from deploy.model import Facts
from shared.clients import (
    build_authenticator,
    code_engine_client,
    event_notifications_client,
    secrets_manager_client,
)
from shared.errors import ConfigError
from shared.retry import RetryPolicy, Waits, poll
from shared.sdk import Pager, call_api, call_pages
from shared.settings import SecretValue, ServiceAuth

if TYPE_CHECKING:
    from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2
    from ibm_eventnotifications.event_notifications_v1 import EventNotificationsV1
    from ibm_platform_services import IamIdentityV1, IamPolicyManagementV1, ResourceControllerV2
    from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsManagerV2

APIKEY_VARIABLE = "IBMCLOUD_API_KEY"
TIMEOUT = 30.0


@dataclass
class AccountClients:
    """What looks the account up: who the key is, the project, where the instances are."""

    identity: IamIdentityV1
    policies: IamPolicyManagementV1
    code_engine: CodeEngineV2
    resource_controller: ResourceControllerV2
    apikey: SecretValue
    policy: RetryPolicy

    def call(self, request: Any, what: str) -> dict[str, Any]:
        """One SDK call under the one retry layer, errors translated (shared/sdk.py)."""
        return call_api(request, what=what, policy=self.policy)

    def pages(self, pager: Pager, what: str) -> list[dict[str, Any]]:
        """Every item of an SDK pager, each page under the one retry layer (shared/sdk.py)."""
        return call_pages(pager, what=what, policy=self.policy)


@dataclass
class Clients(AccountClients):
    """Every client `deploy` acts through, the instances' at their own regions' URLs."""

    secrets_manager: SecretsManagerV2
    event_notifications: EventNotificationsV1


def read_apikey(environ: Mapping[str, str]) -> SecretValue:
    value = (environ.get(APIKEY_VARIABLE) or "").strip()
    if not value:
        raise ConfigError(
            [
                f"{APIKEY_VARIABLE} is not set: deploy acts as you, with an API key that may "
                "manage IAM, Code Engine, Secrets Manager and Event Notifications "
                "(ibmcloud iam api-key-create ...)."
            ]
        )
    return SecretValue(value)


def _auth(config: Config, apikey: SecretValue) -> ServiceAuth:
    return ServiceAuth("IBMCLOUD", "iam", apikey=apikey, auth_url=config.iam_url)


def account(
    config: Config, apikey: SecretValue, policy: RetryPolicy | None = None
) -> AccountClients:
    from ibm_platform_services import IamIdentityV1, IamPolicyManagementV1, ResourceControllerV2

    # One authenticator for every client: one IAM token, fetched once (tokens are not per
    # service), instead of one token request in turn before each client's first call.
    auth = build_authenticator(_auth(config, apikey))
    identity = IamIdentityV1(authenticator=auth)
    policies = IamPolicyManagementV1(authenticator=auth)
    resource_controller = ResourceControllerV2(authenticator=auth)
    for client, url in (
        (identity, config.iam_url),
        (policies, config.iam_url),
        (resource_controller, config.resource_controller_url),
    ):
        client.set_service_url(url)
        client.set_http_config({"timeout": TIMEOUT})
    return AccountClients(
        identity=identity,
        policies=policies,
        code_engine=code_engine_client(config.ce_url, auth, timeout=TIMEOUT),
        resource_controller=resource_controller,
        apikey=apikey,
        policy=policy or RetryPolicy(attempts=4, total_seconds=60.0),
    )


def build(config: Config, looked_up: AccountClients, facts: Facts) -> Clients:
    """`looked_up`'s clients, and Secrets Manager's and Event Notifications' at `facts`' URLs."""
    auth = _auth(config, looked_up.apikey)
    token = looked_up.code_engine.get_authenticator()  # the same IAM token (`account`)
    return Clients(
        **{f.name: getattr(looked_up, f.name) for f in fields(looked_up)},
        secrets_manager=secrets_manager_client(facts.sm_url, token, timeout=TIMEOUT),
        event_notifications=event_notifications_client(facts.en_url, auth, timeout=TIMEOUT),
    )


@dataclass(frozen=True)
class Wait:
    """Reading a resource until its status is final: `label` names it in progress lines."""

    label: str
    final: frozenset[str]  # the statuses that end the wait
    timeout: float


def wait_for_status(
    get: Callable[[], dict[str, Any]],
    wait: Wait,
    progress: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[dict[str, Any], bool]:
    """Read a resource until its status is one of `wait.final`, under the one polling helper
    (`shared.retry.poll`), reporting each new status; the last body read, and whether it was
    final before `wait.timeout` seconds passed."""
    start, seen, last = time.monotonic(), [None], [dict[str, Any]()]

    def check() -> dict[str, Any] | None:
        body = last[0] = get()
        status = body.get("status")
        if status != seen[0]:
            progress(f"{wait.label}: {status} ({time.monotonic() - start:.0f} s)")
            seen[0] = status
        return body if status in wait.final else None

    final = poll(check, timeout=wait.timeout, waits=Waits(0.2, 5.0), sleep=sleep)
    return last[0], final is not None
