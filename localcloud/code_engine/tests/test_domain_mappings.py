"""Code Engine v2 domain mappings through the unmodified SDK: ETags, If-Match, merge patches,
validation, paging, and what mappings do to secrets and apps."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import (
    CodeEngineV2,
    DomainMapping,
    DomainMappingList,
    DomainMappingPatch,
    DomainMappingsPager,
)

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import (
    APP,
    DOMAIN,
    VERSION,
    api_error,
    create_mapping,
    error_code,
    patch_mapping,
    settled_mapping,
    tls_secret_data,
)
from localcloud.pki import Chain, make_chain

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("web_tls")]


def test_domain_mapping_lifecycle_with_etags(ce: CodeEngineV2, pid: str, cloud: LocalCloud) -> None:
    created = create_mapping(ce, pid)
    assert created.get_status_code() == 201
    mapping = DomainMapping.from_dict(created.get_result())
    assert created.get_headers()["ETag"] == mapping.entity_tag
    assert (mapping.name, mapping.tls_secret, mapping.component) == (DOMAIN, "web-tls", APP)
    assert (mapping.status, mapping.status_details.reason) == ("deploying", "deploying")
    assert (mapping.resource_type, mapping.visibility) == ("domain_mapping_v2", "custom")
    assert mapping.user_managed is True
    assert (mapping.project_id, mapping.region) == (pid, cloud.identity.region)
    assert mapping.href == f"{cloud.code_engine_url}/projects/{pid}/domain_mappings/{DOMAIN}"
    assert mapping.cname_target is not None
    custom, subdomain, region, rest = mapping.cname_target.split(".", 3)
    assert (custom, len(subdomain), region) == ("custom", 11, "us-south")
    assert rest == "codeengine.appdomain.cloud"
    assert api_error(create_mapping, ce, pid).status_code == 409

    ready = settled_mapping(ce, pid)
    assert (ready.status, ready.status_details.reason) == ("ready", "ready")
    assert ready.entity_tag != mapping.entity_tag  # the status write is a new version
    got = ce.get_domain_mapping(project_id=pid, name=DOMAIN)
    assert got.get_headers()["ETag"] == ready.entity_tag

    patch = DomainMappingPatch(tls_secret="web-tls").to_dict()
    stale = api_error(patch_mapping, ce, pid, patch, if_match=mapping.entity_tag)
    assert (stale.status_code, error_code(stale)) == (412, "precondition_failed")
    updated = patch_mapping(ce, pid, patch, if_match=ready.entity_tag)
    assert updated.get_status_code() == 200
    again = DomainMapping.from_dict(updated.get_result())
    assert updated.get_headers()["ETag"] == again.entity_tag != ready.entity_tag
    assert again.status == "deploying"
    assert (again.created_at, again.id) == (mapping.created_at, mapping.id)

    assert ce.delete_domain_mapping(project_id=pid, name=DOMAIN).get_status_code() == 202
    assert api_error(ce.get_domain_mapping, project_id=pid, name=DOMAIN).status_code == 404
    assert api_error(ce.delete_domain_mapping, project_id=pid, name=DOMAIN).status_code == 404
    assert api_error(patch_mapping, ce, pid, {}).status_code == 404


def test_update_needs_if_match_and_a_merge_patch(
    ce: CodeEngineV2, pid: str, cloud: LocalCloud
) -> None:
    create_mapping(ce, pid)
    authenticator = ce.authenticator
    assert isinstance(authenticator, IAMAuthenticator)
    headers = {"Authorization": f"Bearer {authenticator.token_manager.get_token()}"}
    url = f"{cloud.code_engine_url}/projects/{pid}/domain_mappings/{DOMAIN}"
    cases = [
        ({"Content-Type": "application/merge-patch+json"}, 400, "missing_if_match"),
        ({"Content-Type": "application/json", "If-Match": "*"}, 415, "unsupported_media_type"),
    ]
    for extra, status, code in cases:
        response = requests.patch(
            url,
            params={"version": VERSION},
            data='{"tls_secret": "web-tls"}',
            headers={**headers, **extra},
            timeout=10,
        )
        assert (response.status_code, response.json()["errors"][0]["code"]) == (status, code)


def test_merge_patch_semantics(ce: CodeEngineV2, pid: str, cloud: LocalCloud) -> None:
    create_mapping(ce, pid)
    cloud.code_engine.apps.seed("other-app")
    moved = patch_mapping(ce, pid, {"component": {"name": "other-app"}})
    assert moved.get_result()["component"] == {"name": "other-app", "resource_type": "app_v2"}
    for patch in (
        {"tls_secret": None},
        {"component": None},
        {"component": {"resource_type": "job_v2"}},
        {"name": "www.example.org"},
        {"tls_secret": "absent"},
    ):
        assert api_error(patch_mapping, ce, pid, patch).status_code == 400, patch


@pytest.mark.parametrize(
    "name",
    [
        "Www.example.com",
        "localhost",
        "-a.example.com",
        "a..example.com",
        "*.example.com",
        "1.2.3.4",
        f"{'a' * 64}.example.com",
        ".".join(["a" * 63] * 4) + ".com",
        "a_b.example.com",
    ],
)
def test_invalid_domain_names(ce: CodeEngineV2, pid: str, name: str) -> None:
    assert api_error(create_mapping, ce, pid, name=name).status_code == 400


@pytest.mark.parametrize(
    ("component", "secret"),
    [
        ({"name": "web-app", "resource_type": "function_v2"}, "web-tls"),
        ({"name": "web-app", "resource_type": "job_v2"}, "web-tls"),
        ({"name": "web-app"}, "web-tls"),
        ({"name": "no-such-app", "resource_type": "app_v2"}, "web-tls"),
        ({"name": "web-app", "resource_type": "app_v2", "extra": 1}, "web-tls"),
        ({"name": "web-app", "resource_type": "app_v2"}, "no-such-secret"),
        ({"name": "web-app", "resource_type": "app_v2"}, "generic"),
        ({"name": "web-app", "resource_type": "app_v2"}, "Bad_Name"),
    ],
)
def test_invalid_references(
    ce: CodeEngineV2, pid: str, component: dict[str, Any], secret: str
) -> None:
    ce.create_secret(project_id=pid, format="generic", name="generic", data={"k": "v"})
    error = api_error(
        ce.create_domain_mapping,
        project_id=pid,
        component=component,
        name=DOMAIN,
        tls_secret=secret,
    )
    assert error.status_code == 400


def test_list_pages_through_sdk_models(ce: CodeEngineV2, pid: str, web_tls: Chain) -> None:
    wildcard = make_chain("*.example.com", ca=(web_tls.root, web_tls.intermediate))
    ce.create_secret(project_id=pid, format="tls", name="wild", data=tls_secret_data(wildcard))
    names = [f"d{i}.example.com" for i in range(5)]
    for name in names:
        create_mapping(ce, pid, name=name, secret="wild")
    pages: list[DomainMappingList] = []
    start: str | None = None
    while not pages or pages[-1].next is not None:
        result = ce.list_domain_mappings(project_id=pid, limit=2, start=start).get_result()
        pages.append(DomainMappingList.from_dict(result))
        start = result.get("next", {}).get("start")
    assert [len(p.domain_mappings) for p in pages] == [2, 2, 1]
    assert [m.name for p in pages for m in p.domain_mappings] == sorted(names)
    pager = DomainMappingsPager(client=ce, project_id=pid, limit=3)
    assert sorted(m["name"] for m in pager.get_all()) == sorted(names)
    whole = DomainMappingList.from_dict(ce.list_domain_mappings(project_id=pid).get_result())
    assert (whole.limit, whole.next) == (50, None)
    for bad in ({"limit": 0}, {"limit": 101}, {"start": "garbage!"}):
        assert api_error(ce.list_domain_mappings, project_id=pid, **bad).status_code == 400


def test_a_secret_in_use_cannot_be_deleted(ce: CodeEngineV2, pid: str) -> None:
    create_mapping(ce, pid)
    refused = api_error(ce.delete_secret, project_id=pid, name="web-tls")
    assert (refused.status_code, error_code(refused)) == (409, "resource_in_use")
    assert DOMAIN in refused.message
    ce.delete_domain_mapping(project_id=pid, name=DOMAIN)
    assert ce.delete_secret(project_id=pid, name="web-tls").get_status_code() == 202


def test_deleting_an_app_deletes_its_domain_mappings(
    ce: CodeEngineV2, pid: str, cloud: LocalCloud
) -> None:
    create_mapping(ce, pid)
    cloud.code_engine.apps.delete("web-app")
    assert api_error(ce.get_domain_mapping, project_id=pid, name=DOMAIN).status_code == 404
    assert api_error(create_mapping, ce, pid).status_code == 400  # the app is gone too


def test_the_project_holds_at_most_80_custom_domain_mappings(
    ce: CodeEngineV2, pid: str, cloud: LocalCloud, web_tls: Chain
) -> None:
    cloud.code_engine.domain_mappings.max_domain_mappings = 2  # 80 by default (limits.md)
    wildcard = make_chain("*.example.com", ca=(web_tls.root, web_tls.intermediate))
    ce.create_secret(project_id=pid, format="tls", name="wild", data=tls_secret_data(wildcard))
    create_mapping(ce, pid, name="a.example.com", secret="wild")
    create_mapping(ce, pid, name="b.example.com", secret="wild")
    full = api_error(create_mapping, ce, pid, name="c.example.com", secret="wild")
    assert (full.status_code, error_code(full)) == (403, "exceeded_quota")
