"""The Resource Controller as `ResourceControllerV2.get_resource_instance` (unmodified) sees it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import ResourceControllerV2

from localcloud import LocalCloud
from localcloud.account import Identity

pytestmark = pytest.mark.integration

APIKEY = "rc-tests-apikey"


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    # Code Engine in us-south, Event Notifications in eu-de, Secrets Manager in eu-gb
    with LocalCloud(Identity(en_region="eu-de", sm_region="eu-gb")) as running:
        running.iam.add_apikey(APIKEY)
        yield running


@pytest.fixture
def rc(cloud: LocalCloud) -> Iterator[ResourceControllerV2]:
    client = ResourceControllerV2(authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url))
    client.set_service_url(cloud.resource_controller_url)
    yield client
    client.http_client.close()


def test_an_instance_by_guid_carries_its_own_region_in_its_crn(
    cloud: LocalCloud, rc: ResourceControllerV2
) -> None:
    identity = cloud.identity
    got = rc.get_resource_instance(identity.en_instance_id).get_result()
    assert got["guid"] == identity.en_instance_id
    assert got["id"] == got["crn"] == identity.en_instance_crn
    assert got["region_id"] == "eu-de"
    assert got["crn"].split(":")[4:6] == ["event-notifications", "eu-de"]
    assert got["url"] == f"/v2/resource_instances/{identity.en_instance_id}"
    assert (got["state"], got["type"]) == ("active", "service_instance")
    assert got["account_id"] == identity.account_id
    sm = rc.get_resource_instance(identity.sm_instance_id).get_result()
    assert (sm["region_id"], sm["crn"]) == ("eu-gb", identity.sm_instance_crn)
    assert sm["resource_id"] == "ebc0cdb0-af2a-11ea-98c7-29e5db822649"
    assert identity.region == "us-south"


def test_an_instance_by_its_url_encoded_crn(cloud: LocalCloud, rc: ResourceControllerV2) -> None:
    crn = cloud.identity.sm_instance_crn  # the SDK URL-encodes the path segment itself
    assert rc.get_resource_instance(crn).get_result()["guid"] == cloud.identity.sm_instance_id


def test_an_unknown_instance_is_a_404_in_the_resource_controllers_envelope(
    rc: ResourceControllerV2,
) -> None:
    with pytest.raises(ApiException) as caught:
        rc.get_resource_instance("6f5c3a4e-0000-4000-8000-000000000000")
    assert caught.value.status_code == 404
    body = caught.value.http_response.json()
    assert set(body) == {"error_code", "message", "status_code", "transaction_id"}
    assert body["status_code"] == 404
    assert body["error_code"].startswith("RC-")
    assert "6f5c3a4e-0000-4000-8000-000000000000" in caught.value.message


def test_a_removed_instance_answers_with_state_removed(
    cloud: LocalCloud, rc: ResourceControllerV2
) -> None:
    cloud.resource_controller.remove(cloud.identity.sm_instance_id)
    got = rc.get_resource_instance(cloud.identity.sm_instance_id).get_result()
    assert got["state"] == "removed"
    assert "deleted_at" in got


def test_without_a_token_the_lookup_is_refused(cloud: LocalCloud) -> None:
    client = ResourceControllerV2(authenticator=IAMAuthenticator("unknown", url=cloud.iam_url))
    client.set_service_url(cloud.resource_controller_url)
    with pytest.raises(ApiException) as caught:
        client.get_resource_instance(cloud.identity.en_instance_id)
    assert caught.value.status_code in {400, 401}
