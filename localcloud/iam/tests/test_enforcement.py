"""Access policies enforced on a trusted profile's calls, through the services' own SDKs: what the
policy grants passes, the rest is a 403 in the service's error shape; API keys stay unrestricted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ibm_cloud_sdk_core.authenticators import ContainerAuthenticator, IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2
from ibm_eventnotifications.event_notifications_v1 import (
    EventNotificationsV1,
    NotificationCreate,
)
from ibm_platform_services import IamIdentityV1, IamPolicyManagementV1
from ibm_platform_services.iam_identity_v1 import CreateProfileLinkRequestLink
from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsManagerV2

from localcloud import LocalCloud, pki
from localcloud.iam.tests.support import (
    APIKEY,
    READER,
    SECRETS_READER,
    WRITER,
    access_policy,
    api_error,
    first_error,
    resource,
)
from localcloud.secrets_manager.model import CertificateParts

pytestmark = pytest.mark.integration
CE_VERSION = "2025-06-20"
SM, CE = "secrets-manager", "codeengine"


@pytest.fixture
def profile(cloud: LocalCloud, identity: IamIdentityV1, account: str) -> dict[str, Any]:
    created: dict[str, Any] = identity.create_profile("certsync", account).get_result()
    link = CreateProfileLinkRequestLink(
        crn=cloud.code_engine.project().crn, component_type="job", component_name="certsync"
    )
    identity.create_link(created["id"], "CE", link)
    return created


@pytest.fixture
def as_job(cloud: LocalCloud, profile: dict[str, Any], tmp_path: Path) -> ContainerAuthenticator:
    """What the certsync job authenticates with: its compute-resource token, the profile."""
    path = tmp_path / "cr-token"
    path.write_text(
        cloud.iam.compute_resource_token(cloud.code_engine.project().crn, "job", "certsync")
    )
    return ContainerAuthenticator(
        cr_token_filename=str(path), iam_profile_name="certsync", url=cloud.iam_url
    )


Grant = Callable[..., None]


@pytest.fixture
def grant(policies: IamPolicyManagementV1, account: str, profile: dict[str, Any]) -> Grant:
    """Grant the profile `role` on `service` (`instance`, or all of them)."""

    def create(role: str, service: str, instance: str | None = None) -> None:
        access_policy(policies, profile["iam_id"], role, resource(account, service, instance))

    return create


@pytest.fixture
def secret_id(cloud: LocalCloud) -> str:
    chain = pki.make_chain("www.example.com")
    parts = CertificateParts(chain.leaf_pem, chain.key_pem, chain.intermediate_pem)
    seeded = cloud.secrets_manager.seed_certificate("imported_cert", "web-cert", parts)
    return str(seeded["id"])


def sm_client(cloud: LocalCloud, authenticator: Any) -> SecretsManagerV2:
    client = SecretsManagerV2(authenticator=authenticator)
    client.set_service_url(cloud.secrets_manager_url)
    return client


def ce_client(cloud: LocalCloud, authenticator: Any) -> CodeEngineV2:
    client = CodeEngineV2(authenticator=authenticator, version=CE_VERSION)
    client.set_service_url(cloud.code_engine_url)
    return client


def test_reading_a_secret_needs_secrets_reader(
    cloud: LocalCloud, grant: Grant, as_job: ContainerAuthenticator, secret_id: str
) -> None:
    sm = sm_client(cloud, as_job)
    denied = api_error(lambda: sm.get_secret(secret_id))
    assert (denied.status_code, first_error(denied)["code"]) == (403, "forbidden")
    assert first_error(denied)["status_code"] == 403

    instance = cloud.identity.sm_instance_id
    grant(READER, SM, instance)
    # Reader sees metadata, not the payload.
    assert sm.get_secret_metadata(secret_id).get_status_code() == 200
    assert api_error(lambda: sm.get_secret(secret_id)).status_code == 403

    grant(SECRETS_READER, SM)
    # An account-wide policy (no serviceInstance) covers the instance.
    assert sm.get_secret(secret_id).get_result()["private_key"]


def test_writing_to_code_engine_needs_writer(
    cloud: LocalCloud,
    policies: IamPolicyManagementV1,
    account: str,
    profile: dict[str, Any],
    as_job: ContainerAuthenticator,
) -> None:
    ce, project = ce_client(cloud, as_job), cloud.identity.project_id
    access_policy(policies, profile["iam_id"], READER, resource(account, CE, project))
    assert ce.list_config_maps(project_id=project).get_status_code() == 200
    denied = api_error(
        lambda: ce.create_config_map(project_id=project, name="status", data={"a": "b"})
    )
    assert (denied.status_code, first_error(denied)["code"]) == (403, "forbidden")

    other = "11111111-2222-4333-8444-555555555555"
    access_policy(policies, profile["iam_id"], WRITER, resource(account, CE, other))
    assert (
        api_error(
            lambda: ce.create_config_map(project_id=project, name="status", data={"a": "b"})
        ).status_code
        == 403
    )  # Writer on another project does not count

    access_policy(policies, "iam-Profile-someone-else", WRITER, resource(account, CE, project))
    assert (
        api_error(
            lambda: ce.create_config_map(project_id=project, name="status", data={"a": "b"})
        ).status_code
        == 403
    )  # nor does someone else's Writer


def test_sending_a_notification_needs_a_sending_role_in_its_own_error_shape(
    cloud: LocalCloud, as_job: ContainerAuthenticator
) -> None:
    en = EventNotificationsV1(authenticator=as_job)
    en.set_service_url(cloud.event_notifications_url)
    body = NotificationCreate.from_dict(
        {
            "specversion": "1.0",
            "id": "1",
            "source": "certsync",
            "type": "com.ibm.certsync.mapping.failed",
            "ibmensourceid": "source:api",
            "ibmendefaultshort": "short",
            "ibmendefaultlong": "long",
        }
    )
    denied = api_error(lambda: en.send_notifications(cloud.identity.en_instance_id, body=body))
    error = first_error(denied)
    assert (denied.status_code, error["code"]) == (403, "authorization_error")
    assert error["more_info"].startswith("https://cloud.ibm.com/apidocs/event-notifications")


def test_api_keys_and_seeded_profiles_are_not_restricted(
    cloud: LocalCloud, secret_id: str, tmp_path: Path
) -> None:
    by_key = sm_client(cloud, IAMAuthenticator(APIKEY, url=cloud.iam_url))
    assert by_key.get_secret(secret_id).get_status_code() == 200
    cloud.iam.add_trusted_profile("seeded-cr-token", "legacy")
    path = tmp_path / "cr-token"
    path.write_text("seeded-cr-token")
    seeded = ContainerAuthenticator(
        cr_token_filename=str(path), iam_profile_name="legacy", url=cloud.iam_url
    )
    assert sm_client(cloud, seeded).get_secret(secret_id).get_status_code() == 200


def test_writer_on_one_project_is_denied_in_another_region_s_project(
    cloud: LocalCloud,
    policies: IamPolicyManagementV1,
    account: str,
    profile: dict[str, Any],
    as_job: ContainerAuthenticator,
) -> None:
    allowed = cloud.code_engine.add_project("sites-eu", region="eu-de")
    other = cloud.code_engine.add_project("sites-jp", region="jp-tok")
    access_policy(policies, profile["iam_id"], WRITER, resource(account, CE, allowed))
    eu, jp = (ce_client(cloud, as_job) for _ in range(2))
    eu.set_service_url(cloud.code_engine_url_for("eu-de"))
    jp.set_service_url(cloud.code_engine_url_for("jp-tok"))
    created = eu.create_config_map(project_id=allowed, name="status", data={"a": "b"})
    assert created.get_status_code() == 201
    denied = api_error(lambda: jp.create_config_map(project_id=other, name="status", data={}))
    assert (denied.status_code, first_error(denied)["code"]) == (403, "forbidden")
    assert other in first_error(denied)["message"]
