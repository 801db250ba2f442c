"""The SDK clients `deploy` acts through, built once from the config and the administrator's key.

`deploy` runs as a person or a pipeline with an API key (`IBMCLOUD_API_KEY`, as the `ibmcloud` CLI
and Terraform read it); what it installs runs with no API key at all (the trusted profile).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deploy.config import Config
from shared.clients import (
    ServiceAuth,
    build_authenticator,
    code_engine_client,
    event_notifications_client,
    secrets_manager_client,
)
from shared.errors import ConfigError
from shared.retry import RetryPolicy
from shared.sdk import Pager, call_api, call_pages
from shared.settings import SecretValue

if TYPE_CHECKING:
    from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2
    from ibm_eventnotifications.event_notifications_v1 import EventNotificationsV1
    from ibm_platform_services import IamIdentityV1, IamPolicyManagementV1
    from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsManagerV2

APIKEY_VARIABLE = "IBMCLOUD_API_KEY"
TIMEOUT = 30.0


@dataclass
class Clients:
    identity: IamIdentityV1
    policies: IamPolicyManagementV1
    code_engine: CodeEngineV2
    secrets_manager: SecretsManagerV2
    event_notifications: EventNotificationsV1
    apikey: SecretValue
    policy: RetryPolicy

    def call(self, request: Any, what: str) -> dict[str, Any]:
        """One SDK call under the one retry layer, errors translated (shared/sdk.py)."""
        return call_api(request, what=what, policy=self.policy)

    def pages(self, pager: Pager, what: str) -> list[dict[str, Any]]:
        """Every item of an SDK pager's listing, each page under the one retry layer."""
        return call_pages(pager, what=what, policy=self.policy)


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


def build(config: Config, apikey: SecretValue, policy: RetryPolicy | None = None) -> Clients:
    from ibm_platform_services import IamIdentityV1, IamPolicyManagementV1

    auth = ServiceAuth("IBMCLOUD", "iam", apikey=apikey, auth_url=config.iam_url)
    identity = IamIdentityV1(authenticator=build_authenticator(auth))
    identity.set_service_url(config.iam_url)
    identity.set_http_config({"timeout": TIMEOUT})
    policies = IamPolicyManagementV1(authenticator=build_authenticator(auth))
    policies.set_service_url(config.iam_url)
    policies.set_http_config({"timeout": TIMEOUT})
    return Clients(
        identity=identity,
        policies=policies,
        code_engine=code_engine_client(config.ce_url, auth, timeout=TIMEOUT),
        secrets_manager=secrets_manager_client(config.sm_url, auth, timeout=TIMEOUT),
        event_notifications=event_notifications_client(config.en_url, auth, timeout=TIMEOUT),
        apikey=apikey,
        policy=policy or RetryPolicy(attempts=4, total_seconds=60.0),
    )
