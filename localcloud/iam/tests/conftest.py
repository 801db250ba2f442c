"""Fixtures of the IAM contract tests: a running cloud with an API key, and the SDK's IAM Identity
and Policy Management clients authenticated with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamIdentityV1, IamPolicyManagementV1

from localcloud import LocalCloud
from localcloud.iam.tests.support import APIKEY


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as running:
        running.iam.add_apikey(APIKEY, "iam-ServiceId-iam-tests")
        yield running


@pytest.fixture
def identity(cloud: LocalCloud) -> Iterator[IamIdentityV1]:
    client = IamIdentityV1(authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url))
    client.set_service_url(cloud.iam_identity_url)
    yield client
    client.http_client.close()


@pytest.fixture
def policies(cloud: LocalCloud) -> Iterator[IamPolicyManagementV1]:
    client = IamPolicyManagementV1(authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url))
    client.set_service_url(cloud.iam_policy_url)
    yield client
    client.http_client.close()


@pytest.fixture
def account(cloud: LocalCloud) -> str:
    return cloud.identity.account_id
