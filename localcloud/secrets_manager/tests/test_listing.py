"""Secrets Manager v2 lookups by name and the secrets list: paging, filters, sort."""

from __future__ import annotations

from typing import Any

import pytest
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ArbitrarySecretPrototype,
    ImportedCertificate,
    SecretMetadata,
    SecretMetadataPaginatedCollection,
    SecretsManagerV2,
)

from localcloud import pki
from localcloud.secrets_manager.tests.support import (
    api_error,
    import_cert,
)
from tests.support import assert_same_material

pytestmark = pytest.mark.integration


def test_get_by_name_type(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    created = import_cert(sm, chain, name="by-name")
    got = sm.get_secret_by_name_type("imported_cert", "by-name", "default").get_result()
    ImportedCertificate.from_dict(got)
    assert got["id"] == created["id"]
    assert_same_material(got["certificate"], chain.leaf_pem)
    missing = api_error(lambda: sm.get_secret_by_name_type("imported_cert", "nope", "default"))
    assert missing.status_code == 404
    wrong_type = api_error(lambda: sm.get_secret_by_name_type("arbitrary", "by-name", "default"))
    assert wrong_type.status_code == 404
    no_group = api_error(lambda: sm.get_secret_by_name_type("imported_cert", "by-name", "zz"))
    assert no_group.status_code == 404
    bad_type = api_error(lambda: sm.get_secret_by_name_type("bogus", "by-name", "default"))
    assert bad_type.status_code == 400


def test_list_paging_and_contract(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    for i in range(5):
        import_cert(sm, chain, name=f"cert-{i}")
    first = sm.list_secrets(limit=2).get_result()
    SecretMetadataPaginatedCollection.from_dict(first)
    assert (first["total_count"], first["limit"], first["offset"]) == (5, 2, 0)
    assert [s["name"] for s in first["secrets"]] == ["cert-0", "cert-1"]
    assert first["first"]["href"].endswith("/api/v2/secrets?limit=2")
    assert first["next"]["href"].endswith("/api/v2/secrets?offset=2&limit=2")
    assert first["last"]["href"].endswith("/api/v2/secrets?offset=4&limit=2")
    assert "previous" not in first
    last = sm.list_secrets(offset=4, limit=2).get_result()
    assert [s["name"] for s in last["secrets"]] == ["cert-4"]
    assert "next" not in last
    assert last["previous"]["href"].endswith("offset=2&limit=2")
    for item in last["secrets"]:
        assert "certificate" not in item
        SecretMetadata.from_dict(item)
    default = sm.list_secrets().get_result()
    assert default["limit"] == 200


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 1001},
        {"offset": -1},
        {"sort": "size"},
        {"secret_types": ["bogus"]},
        {"groups": ["not-a-group-id"]},
    ],
)
def test_list_rejects_bad_params(sm: SecretsManagerV2, params: dict[str, Any]) -> None:
    assert api_error(lambda: sm.list_secrets(**params)).status_code == 400


def test_list_accepts_limit_bounds(sm: SecretsManagerV2) -> None:
    assert sm.list_secrets(limit=1).get_result()["limit"] == 1
    assert sm.list_secrets(limit=1000).get_result()["limit"] == 1000


def test_list_filters_and_sort(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    group = sm.create_secret_group("grp").get_result()
    import_cert(sm, chain, name="b-cert", labels=["env-prod", "app-x"])
    import_cert(sm, chain, name="a-cert", labels=["env-dev"], secret_group_id=group["id"])
    sm.create_secret(ArbitrarySecretPrototype(secret_type="arbitrary", name="c-blob", payload="p"))

    def names(**params: Any) -> list[str]:
        return [s["name"] for s in sm.list_secrets(**params).get_result()["secrets"]]

    assert names(sort="name") == ["a-cert", "b-cert", "c-blob"]
    assert names(sort="-name") == ["c-blob", "b-cert", "a-cert"]
    assert names(secret_types=["arbitrary"]) == ["c-blob"]
    assert names(groups=[group["id"]]) == ["a-cert"]
    assert names(groups=["default"], sort="name") == ["b-cert", "c-blob"]
    assert names(match_all_labels=["env-prod", "app-x"]) == ["b-cert"]
    assert names(match_all_labels=["env-prod", "env-dev"]) == []
    assert names(search="a-ce") == ["a-cert"]
    assert names(search="env-dev") == ["a-cert"]
    assert names(search="arbitrary") == ["c-blob"]
    paged = sm.list_secrets(limit=1, search="cert", sort="name").get_result()
    assert paged["next"]["href"].endswith("offset=1&limit=1&sort=name&search=cert")
