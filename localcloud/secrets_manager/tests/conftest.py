"""Fixtures of the Secrets Manager contract tests: a running cloud, an SDK client, a chain, and
the events Secrets Manager publishes (recorded instead of delivered)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsManagerV2

from localcloud import LocalCloud, pki
from localcloud.secrets_manager.tests.support import APIKEY, Events


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as fake:
        fake.iam.add_apikey(APIKEY, "iam-ServiceId-sm-tests")
        yield fake


@pytest.fixture
def sm(cloud: LocalCloud) -> SecretsManagerV2:
    client = SecretsManagerV2(authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url))
    client.set_service_url(cloud.secrets_manager_url)
    return client


@pytest.fixture
def events(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> Events:
    seen: Events = []

    def record(*, event_sub_type: str, secret_type: str, secrets: list[dict[str, Any]]) -> None:
        seen.append({"event": event_sub_type, "secret_type": secret_type, "secrets": secrets})

    monkeypatch.setattr(cloud.event_notifications, "publish_secret_event", record)
    return seen


@pytest.fixture(scope="module")
def chain() -> pki.Chain:
    return pki.make_chain("www.example.com")
