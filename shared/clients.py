"""Authentication settings and SDK client factories, following ibm-cloud-sdk-core's conventions.

For a service prefix such as `SECRETS_MANAGER`: `<PREFIX>_AUTH_TYPE` is `iam` (with
`<PREFIX>_APIKEY`) or `container` (a trusted profile: `<PREFIX>_IAM_PROFILE_NAME` or
`<PREFIX>_IAM_PROFILE_ID`, optionally `<PREFIX>_CR_TOKEN_FILENAME`); `<PREFIX>_AUTH_URL`
overrides the IAM endpoint. With no auth type but an API key, `iam` is assumed (as the SDK
core does).
Settings are read here from the injected mapping (not by the SDK from `os.environ`) so that a
missing value is reported, with its name, before any API call.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests
from ibm_cloud_sdk_core import BaseService
from ibm_cloud_sdk_core.authenticators import (
    Authenticator,
    ContainerAuthenticator,
    IAMAuthenticator,
)
from ibm_cloud_sdk_core.token_managers.container_token_manager import ContainerTokenManager
from ibm_cloud_sdk_core.token_managers.iam_token_manager import IAMTokenManager
from ibm_cloud_sdk_core.token_managers.token_manager import TokenManager
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2
from requests.adapters import HTTPAdapter

from shared.settings import ServiceAuth

if TYPE_CHECKING:  # imported where used: each SDK costs ~0.1 s, and not every process needs it
    from ibm_eventnotifications.event_notifications_v1 import EventNotificationsV1
    from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsManagerV2


# The Code Engine API version certsync is written against (the SDK accepts 2021-03-31..2026-09-04).
CODE_ENGINE_API_VERSION = "2026-09-04"


class RetryablePacing(TokenManager):  # type: ignore[misc]  # the SDK core has no type hints
    """Token pacing in which waiting callers are woken, and a failed request stalls no one.

    The SDK core's `TokenManager.paced_request_token` (token_managers/token_manager.py) lets one
    caller request a token while every other thread needing one polls every 0.5 s; and it sets
    `request_time` before the request but clears it only on success, so one IAM 5xx, 429 or
    dropped connection stalled every worker for a minute. Here the waiting callers sleep on a
    condition that the requesting caller signals when its request ends: a run's first burst of
    calls waits for one token round trip, not 0.5 s. A failure reaches its own caller as an
    ApiException or a `requests` error, which shared/sdk.py hands to the one retry layer like any
    failed call, and the next waiter requests at once.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_ended = threading.Condition(self.lock)

    def paced_request_token(self) -> None:
        while self._is_token_expired():
            with self._request_ended:
                now = self._get_current_time()
                asked = int(getattr(self, "request_time", 0))  # the SDK core's: 0, or when
                if asked > now - 60:  # another caller's request is in flight
                    # As in the SDK core, a request older than 60 s no longer holds the others.
                    self._request_ended.wait(timeout=asked + 60 - now)
                    continue
                self.request_time = now
            try:
                self._save_token_info(self.request_token())
            finally:
                with self._request_ended:
                    self.request_time = 0
                    self._request_ended.notify_all()
            return


class RetryableIAMTokenManager(RetryablePacing, IAMTokenManager):  # type: ignore[misc]
    pass


class RetryableContainerTokenManager(RetryablePacing, ContainerTokenManager):  # type: ignore[misc]
    pass


def build_authenticator(auth: ServiceAuth) -> Authenticator:
    """The SDK's authenticator (which validates the credentials) with a `RetryablePacing` token
    manager built from the same arguments."""
    if auth.auth_type == "container":
        options = {
            "cr_token_filename": auth.cr_token_filename,
            "iam_profile_name": auth.profile_name,
            "iam_profile_id": auth.profile_id,
            "url": auth.auth_url,
        }
        container = ContainerAuthenticator(**options)
        container.token_manager = RetryableContainerTokenManager(**options)
        return container
    assert auth.apikey is not None  # guaranteed by read_service_auth
    apikey = auth.apikey.reveal()
    iam = IAMAuthenticator(apikey, url=auth.auth_url)
    iam.token_manager = RetryableIAMTokenManager(apikey, url=auth.auth_url)
    return iam


def same_identity(a: ServiceAuth, b: ServiceAuth) -> bool:
    """Whether two services authenticate as the same identity at the same IAM endpoint: then
    one authenticator (one token) serves both, as an IAM token is valid for every service."""
    return dataclasses.replace(a, prefix="") == dataclasses.replace(b, prefix="")


def secrets_manager_client(
    url: str, auth: ServiceAuth | Authenticator, *, timeout: float, pool_size: int = 10
) -> SecretsManagerV2:
    from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsManagerV2

    client = SecretsManagerV2(authenticator=_authenticator(auth))
    _configure(client, url, timeout, pool_size)
    return client


def code_engine_client(
    url: str, auth: ServiceAuth | Authenticator, *, timeout: float, pool_size: int = 10
) -> CodeEngineV2:
    """`auth` may be an authenticator already built, so clients of several regions share one
    token (IAM tokens are not regional)."""
    client = CodeEngineV2(authenticator=_authenticator(auth), version=CODE_ENGINE_API_VERSION)
    _configure(client, url, timeout, pool_size)
    return client


def event_notifications_client(
    url: str, auth: ServiceAuth, *, timeout: float
) -> EventNotificationsV1:
    from ibm_eventnotifications.event_notifications_v1 import EventNotificationsV1

    client = EventNotificationsV1(authenticator=build_authenticator(auth))
    _configure(client, url, timeout, pool_size=2)
    return client


class Lazy:
    """A client built on first use (thread-safe), for one a run may need only later or never:
    importing the Secrets Manager SDK alone costs ~0.1 s of CPU, which need not delay the
    first API call."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
                client = self._client
        return getattr(client, name)


def _authenticator(auth: ServiceAuth | Authenticator) -> Authenticator:
    return auth if isinstance(auth, Authenticator) else build_authenticator(auth)


def _configure(client: BaseService, url: str, timeout: float, pool_size: int) -> None:
    """Service URL, per-request timeout, and a session whose connection pool is as large as the
    concurrency: with requests' default of 10, urllib3 discards connections (and warns) when
    more threads share one client. All through the SDK core's public setters (base_service.py);
    certificates are verified as the SDK core's `send` asks (`verify`), by requests' defaults
    (certifi's bundle, or `REQUESTS_CA_BUNDLE`; urllib3 2 refuses TLS below 1.2)."""
    client.set_service_url(url)
    client.set_http_config({"timeout": timeout})
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size)
    for scheme in ("https://", "http://"):
        session.mount(scheme, adapter)
    client.set_http_client(session)
