"""IAM's token endpoint through the SDK core's own token managers (API key and trusted profile)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.token_managers.container_token_manager import ContainerTokenManager
from ibm_cloud_sdk_core.token_managers.iam_token_manager import IAMTokenManager

from localcloud import LocalCloud

pytestmark = pytest.mark.integration


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as running:
        running.iam.add_apikey("iam-test-apikey", "iam-ServiceId-tests")
        running.iam.add_trusted_profile("cr-token-of-this-pod", "certsync")
        yield running


def test_an_api_key_gets_a_bearer_token_the_other_services_accept(cloud: LocalCloud) -> None:
    token = IAMTokenManager("iam-test-apikey", url=cloud.iam_url).get_token()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["iss"]) == (
        "iam-ServiceId-tests",
        "https://iam.cloud.ibm.com/identity",
    )
    assert claims["exp"] - claims["iat"] == 3600
    assert cloud.iam.verify(f"Bearer {token}") is None


def test_an_unknown_api_key_is_refused_in_iams_own_error_shape(cloud: LocalCloud) -> None:
    with pytest.raises(ApiException) as info:
        IAMTokenManager("not-a-known-key", url=cloud.iam_url).get_token()
    assert (info.value.status_code, info.value.message) == (
        400,
        "Provided API key could not be found.",
    )
    assert info.value.http_response is not None
    assert info.value.http_response.json()["errorCode"] == "BXNIM0415E"


def test_a_compute_resource_token_gets_the_trusted_profiles_token(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    cr_token = tmp_path / "cr-token"
    cr_token.write_text("cr-token-of-this-pod")
    manager = ContainerTokenManager(
        cr_token_filename=str(cr_token), iam_profile_name="certsync", url=cloud.iam_url
    )
    claims = jwt.decode(manager.get_token(), options={"verify_signature": False})
    assert claims["sub"] == "iam-Profile-certsync"
    other = ContainerTokenManager(
        cr_token_filename=str(cr_token), iam_profile_name="someone-else", url=cloud.iam_url
    )
    with pytest.raises(ApiException) as info:
        other.get_token()
    assert info.value.status_code == 400


def test_tokens_are_checked(cloud: LocalCloud) -> None:
    assert cloud.iam.verify(None) == "missing Authorization header"
    assert cloud.iam.verify("Basic abc") == "Authorization header is not a bearer token"
    assert cloud.iam.verify("Bearer not.a.jwt") == "access token is not valid"
