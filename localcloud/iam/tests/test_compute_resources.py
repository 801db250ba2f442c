"""Compute-resource tokens traded for a trusted profile's token through the SDK core's
`ContainerAuthenticator`, as a Code Engine job run or app instance does: only with a link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import ContainerAuthenticator
from ibm_platform_services import IamIdentityV1
from ibm_platform_services.iam_identity_v1 import CreateProfileLinkRequestLink

from localcloud import LocalCloud
from localcloud.iam.tests.support import api_error

pytestmark = pytest.mark.integration


@pytest.fixture
def profile(identity: IamIdentityV1, account: str) -> dict[str, Any]:
    created: dict[str, Any] = identity.create_profile("certsync", account).get_result()
    return created


def link(
    cloud: LocalCloud, identity: IamIdentityV1, profile: dict[str, Any], component_type: str
) -> None:
    identity.create_link(
        profile["id"],
        "CE",
        CreateProfileLinkRequestLink(
            crn=cloud.code_engine.project().crn,
            component_type=component_type,
            component_name="certsync",
        ),
    )


def token_file(tmp_path: Path, cloud: LocalCloud, component_type: str, name: str) -> str:
    path = tmp_path / "token"
    crn = cloud.code_engine.project().crn
    path.write_text(cloud.iam.compute_resource_token(crn, component_type, name))
    return str(path)


def claims(authenticator: ContainerAuthenticator) -> dict[str, Any]:
    token = authenticator.token_manager.get_token()
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def test_a_linked_job_gets_the_profiles_token_by_name_or_id(
    cloud: LocalCloud, identity: IamIdentityV1, profile: dict[str, Any], tmp_path: Path
) -> None:
    link(cloud, identity, profile, "job")
    filename = token_file(tmp_path, cloud, "job", "certsync")
    by_name = ContainerAuthenticator(
        cr_token_filename=filename, iam_profile_name="certsync", url=cloud.iam_url
    )
    assert (claims(by_name)["sub"], claims(by_name)["iam_id"]) == (
        profile["iam_id"],
        profile["iam_id"],
    )
    by_id = ContainerAuthenticator(
        cr_token_filename=filename, iam_profile_id=profile["id"], url=cloud.iam_url
    )
    assert claims(by_id)["sub"] == profile["iam_id"]


@pytest.mark.parametrize(
    "case",
    [
        (None, "job", "certsync"),  # no link at all
        ("application", "job", "certsync"),  # the app is linked, not the job
        ("job", "job", "another-job"),  # another job of the project
    ],
)
def test_without_a_matching_link_the_exchange_is_refused(
    cloud: LocalCloud,
    identity: IamIdentityV1,
    profile: dict[str, Any],
    tmp_path: Path,
    case: tuple[str | None, str, str],
) -> None:
    linked, component_type, name = case
    if linked is not None:
        link(cloud, identity, profile, linked)
    authenticator = ContainerAuthenticator(
        cr_token_filename=token_file(tmp_path, cloud, component_type, name),
        iam_profile_name="certsync",
        url=cloud.iam_url,
    )
    error = api_error(authenticator.token_manager.get_token)
    assert isinstance(error, ApiException)
    assert error.status_code == 400
    assert error.http_response is not None
    assert error.http_response.json()["errorCode"] == "BXNIM0500E"


def test_a_deleted_link_no_longer_lets_the_job_in(
    cloud: LocalCloud, identity: IamIdentityV1, profile: dict[str, Any], tmp_path: Path
) -> None:
    link(cloud, identity, profile, "job")
    (created,) = identity.list_links(profile["id"]).get_result()["links"]
    identity.delete_link(profile["id"], created["id"])
    authenticator = ContainerAuthenticator(
        cr_token_filename=token_file(tmp_path, cloud, "job", "certsync"),
        iam_profile_name="certsync",
        url=cloud.iam_url,
    )
    assert api_error(authenticator.token_manager.get_token).status_code == 400


def test_an_unknown_compute_resource_token_is_refused(cloud: LocalCloud, tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("crtoken-made-up")
    authenticator = ContainerAuthenticator(
        cr_token_filename=str(path), iam_profile_name="certsync", url=cloud.iam_url
    )
    error = api_error(authenticator.token_manager.get_token)
    assert error.http_response is not None
    assert error.http_response.json()["errorCode"] == "BXNIM0438E"
