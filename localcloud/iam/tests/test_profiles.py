"""IAM Identity's trusted profiles, links and API-key details through the SDK's `IamIdentityV1`."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from ibm_platform_services import IamIdentityV1
from ibm_platform_services.iam_identity_v1 import (
    ApiKey,
    CreateProfileLinkRequestLink,
    ExceptionResponse,
    ProfileLink,
    ProfileLinkList,
    TrustedProfile,
    TrustedProfilesList,
)

from localcloud import LocalCloud
from localcloud.iam.tests.support import APIKEY, api_error

pytestmark = pytest.mark.integration


def ce_link(
    cloud: LocalCloud, component_type: str = "job", name: str = "certsync"
) -> dict[str, Any]:
    return {
        "cr_type": "CE",
        "link": CreateProfileLinkRequestLink(
            crn=cloud.code_engine.project().crn,
            component_type=component_type,
            component_name=name,
        ),
    }


def test_a_profile_is_created_read_updated_and_deleted(
    identity: IamIdentityV1, account: str
) -> None:
    created = identity.create_profile("certsync", account, description="syncs certificates")
    assert created.get_status_code() == 201
    profile = created.get_result()
    TrustedProfile.from_dict(profile)
    assert re.fullmatch(r"Profile-[0-9a-f-]{36}", profile["id"])
    assert profile["iam_id"] == f"iam-{profile['id']}"
    assert profile["crn"] == (
        f"crn:v1:bluemix:public:iam-identity::a/{account}::profile:{profile['id']}"
    )
    assert (profile["name"], profile["account_id"], profile["description"]) == (
        "certsync",
        account,
        "syncs certificates",
    )
    assert identity.get_profile(profile["id"]).get_result() == profile

    updated = identity.update_profile(
        profile["id"], profile["entity_tag"], description="new words"
    ).get_result()
    assert updated["description"] == "new words"
    assert updated["entity_tag"] != profile["entity_tag"]

    assert identity.delete_profile(profile["id"]).get_status_code() == 204
    missing = api_error(lambda: identity.get_profile(profile["id"]))
    assert missing.status_code == 404
    assert missing.http_response is not None
    body = missing.http_response.json()
    ExceptionResponse.from_dict(body)
    assert (body["status_code"], body["errors"][0]["code"]) == ("404", "not_found")


def test_a_stale_if_match_is_a_conflict_and_star_matches_any(
    identity: IamIdentityV1, account: str
) -> None:
    profile = identity.create_profile("certsync", account).get_result()
    identity.update_profile(profile["id"], profile["entity_tag"], description="one")
    stale = api_error(
        lambda: identity.update_profile(profile["id"], profile["entity_tag"], description="two")
    )
    assert stale.status_code == 409
    assert identity.update_profile(profile["id"], "*", name="renamed").get_result()["name"] == (
        "renamed"
    )


def test_names_are_unique_in_the_account(identity: IamIdentityV1, account: str) -> None:
    identity.create_profile("certsync", account)
    duplicate = api_error(lambda: identity.create_profile("certsync", account))
    assert duplicate.status_code == 409
    other = identity.create_profile("other", account).get_result()
    rename = api_error(lambda: identity.update_profile(other["id"], "*", name="certsync"))
    assert rename.status_code == 409


def test_profiles_are_listed_by_name_and_in_pages(identity: IamIdentityV1, account: str) -> None:
    for name in ("a", "b", "c"):
        identity.create_profile(name, account)
    named = identity.list_profiles(account, name="b").get_result()
    assert [p["name"] for p in named["profiles"]] == ["b"]

    first = identity.list_profiles(account, pagesize=2).get_result()
    TrustedProfilesList.from_dict(first)
    assert [p["name"] for p in first["profiles"]] == ["a", "b"]
    token = parse_qs(urlparse(first["next"]).query)["pagetoken"][0]
    second = identity.list_profiles(account, pagesize=2, pagetoken=token).get_result()
    assert [p["name"] for p in second["profiles"]] == ["c"]
    assert "next" not in second
    assert api_error(lambda: identity.list_profiles(account, pagesize=101)).status_code == 400


def test_a_code_engine_link_is_created_listed_read_and_deleted(
    cloud: LocalCloud, identity: IamIdentityV1, account: str
) -> None:
    profile = identity.create_profile("certsync", account).get_result()
    created = identity.create_link(profile["id"], name="ce-job", **ce_link(cloud))
    assert created.get_status_code() == 201
    link = created.get_result()
    ProfileLink.from_dict(link)
    assert (link["cr_type"], link["name"], link["link"]) == (
        "CE",
        "ce-job",
        {
            "crn": cloud.code_engine.project().crn,
            "component_type": "job",
            "component_name": "certsync",
        },
    )
    listed = identity.list_links(profile["id"]).get_result()
    ProfileLinkList.from_dict(listed)
    assert listed["links"] == [link]
    assert identity.get_link(profile["id"], link["id"]).get_result() == link
    assert api_error(lambda: identity.create_link(profile["id"], **ce_link(cloud))).status_code == (
        409
    )
    assert identity.delete_link(profile["id"], link["id"]).get_status_code() == 204
    assert api_error(lambda: identity.get_link(profile["id"], link["id"])).status_code == 404


@pytest.mark.parametrize(
    "case",
    [
        ("K8S", None, "job"),  # not a compute-resource type
        ("CE", "crn:v1:bluemix:public:secrets-manager:us-south:a/x:y::", "job"),  # not a project
        ("CE", None, "build"),  # not a component type links name
    ],
)
def test_a_code_engine_link_must_name_a_project_and_a_component(
    cloud: LocalCloud,
    identity: IamIdentityV1,
    account: str,
    case: tuple[str, str | None, str],
) -> None:
    cr_type, crn, component_type = case
    profile = identity.create_profile("certsync", account).get_result()
    link = CreateProfileLinkRequestLink(
        crn=crn or cloud.code_engine.project().crn,
        component_type=component_type,
        component_name="certsync",
    )
    error = api_error(lambda: identity.create_link(profile["id"], cr_type, link))
    assert error.status_code == 400


def test_the_details_of_an_api_key_name_its_account_and_identity(
    identity: IamIdentityV1, account: str
) -> None:
    details = identity.get_api_keys_details(iam_api_key=APIKEY).get_result()
    ApiKey.from_dict(details)
    assert (details["account_id"], details["iam_id"]) == (account, "iam-ServiceId-iam-tests")
    assert APIKEY not in str(details)
    unknown = api_error(lambda: identity.get_api_keys_details(iam_api_key="not-a-key"))
    assert unknown.status_code == 404
