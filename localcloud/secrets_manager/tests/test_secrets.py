"""Secrets Manager v2 groups and imported certificates through the unmodified SDK.

Every response body also goes through the SDK's own `from_dict` models (contract tests), so a
missing required field fails here. PEM material is never printed: comparisons are `==` on
booleans or digests.
"""

from __future__ import annotations

from typing import Any

import pytest
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ArbitrarySecretPrototype,
    ImportedCertificate,
    ImportedCertificateMetadata,
    ImportedCertificatePrototype,
    Secret,
    SecretGroup,
    SecretGroupCollection,
    SecretMetadata,
    SecretsManagerV2,
)

from localcloud import pki
from localcloud.secrets_manager.tests.support import (
    MISSING_UUID,
    SERIAL_RE,
    TS_RE,
    api_error,
    colon_serial,
    import_cert,
)
from tests.support import assert_same_material

pytestmark = pytest.mark.integration


# -- secret groups -----------------------------------------------------------------------
def test_default_group_and_group_lifecycle(sm: SecretsManagerV2) -> None:
    groups = sm.list_secret_groups().get_result()
    SecretGroupCollection.from_dict(groups)
    assert [g["id"] for g in groups["secret_groups"]] == ["default"]
    created = sm.create_secret_group("team-a", description="team A").get_result()
    SecretGroup.from_dict(created)
    assert created["name"] == "team-a"
    assert TS_RE.match(created["created_at"])
    fetched = sm.get_secret_group(created["id"]).get_result()
    assert fetched == created
    assert sm.get_secret_group("default").get_result()["name"] == "default"
    assert sm.list_secret_groups().get_result()["total_count"] == 2
    assert api_error(lambda: sm.create_secret_group("team-a")).status_code == 409
    assert api_error(lambda: sm.get_secret_group(MISSING_UUID)).status_code == 404
    assert api_error(lambda: sm.get_secret_group("not-a-uuid")).status_code == 400


# -- imported certificates ---------------------------------------------------------------
def test_create_imported_cert_derives_metadata(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    created = import_cert(sm, chain, labels=["prod"], custom_metadata={"team": "a"})
    model = ImportedCertificate.from_dict(created)
    assert model.secret_type == "imported_cert"
    assert created["serial_number"] == colon_serial(chain)
    assert SERIAL_RE.match(created["serial_number"])
    assert created["common_name"] == "www.example.com"
    assert created["alt_names"] == ["www.example.com"]
    assert created["issuer"] == "certsync test intermediate CA"
    assert created["key_algorithm"] == "EC256"
    assert created["signing_algorithm"] == "ECDSA-SHA256"
    assert created["intermediate_included"] is True
    assert created["private_key_included"] is True
    assert (created["state"], created["state_description"]) == (1, "active")
    assert created["created_by"] == "iam-ServiceId-sm-tests"
    assert created["versions_total"] == 1
    assert created["labels"] == ["prod"]
    assert created["custom_metadata"] == {"team": "a"}
    assert created["secret_group_id"] == "default"
    assert created["crn"].endswith(f":secret:{created['id']}")
    for stamp in (created["created_at"], created["expiration_date"]):
        assert TS_RE.match(stamp)
    not_after = chain.leaf.cert.not_valid_after_utc
    assert created["validity"]["not_after"] == not_after.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert created["expiration_date"] == created["validity"]["not_after"]


def test_get_secret_returns_payload_and_marks_downloaded(
    sm: SecretsManagerV2, chain: pki.Chain
) -> None:
    secret_id = import_cert(sm, chain)["id"]
    assert sm.get_secret_metadata(secret_id).get_result()["downloaded"] is False
    got = sm.get_secret(secret_id).get_result()
    ImportedCertificate.from_dict(got)
    assert Secret.from_dict(got).__class__ is ImportedCertificate
    assert_same_material(got["certificate"], chain.leaf_pem)
    assert_same_material(got["intermediate"], chain.intermediate_pem)
    assert_same_material(got["private_key"], chain.key_pem)
    meta = sm.get_secret_metadata(secret_id).get_result()
    ImportedCertificateMetadata.from_dict(meta)
    assert SecretMetadata.from_dict(meta).__class__ is ImportedCertificateMetadata
    assert meta["downloaded"] is True
    assert TS_RE.match(meta["retrieved_at"])
    assert not {"certificate", "intermediate", "private_key"} & set(meta)


def test_import_without_key_or_intermediate(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    proto = ImportedCertificatePrototype(
        secret_type="imported_cert", name="bare", certificate=chain.leaf_pem
    )
    created = sm.create_secret(proto).get_result()
    assert created["private_key_included"] is False
    assert created["intermediate_included"] is False
    assert "private_key" not in sm.get_secret(created["id"]).get_result()


@pytest.mark.parametrize(
    "fields",
    [
        {"certificate": "not a pem"},
        {"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
        {"private_key": "garbage"},
        {"private_key": "other-key"},
        {"intermediate": "garbage"},
        {"intermediate": "root"},
        {"certificate": None},
    ],
    ids=["garbage-cert", "bad-der", "garbage-key", "wrong-key", "bad-inter", "wrong-inter", "none"],
)
def test_import_rejects_invalid_pem(
    sm: SecretsManagerV2, chain: pki.Chain, fields: dict[str, Any]
) -> None:
    body: dict[str, Any] = {
        "certificate": chain.leaf_pem,
        "intermediate": chain.intermediate_pem,
        "private_key": chain.key_pem,
    }
    body.update(fields)
    if body["private_key"] == "other-key":
        body["private_key"] = pki.key_pem(pki.new_key())
    if body["intermediate"] == "root":
        body["intermediate"] = chain.root_pem
    proto = ImportedCertificatePrototype(secret_type="imported_cert", name="bad", **body)
    err = api_error(lambda: sm.create_secret(proto))
    assert err.status_code == 400
    assert err.message
    assert sm.list_secrets().get_result()["total_count"] == 0


def test_duplicate_names(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    import_cert(sm, chain, name="dup")
    assert api_error(lambda: import_cert(sm, chain, name="dup")).status_code == 409
    group = sm.create_secret_group("other").get_result()
    import_cert(sm, chain, name="dup", secret_group_id=group["id"])
    arbitrary = ArbitrarySecretPrototype(secret_type="arbitrary", name="dup", payload="x")
    assert sm.create_secret(arbitrary).get_status_code() == 201


def test_create_rejects_bad_requests(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    bad_name = ImportedCertificatePrototype(
        secret_type="imported_cert", name="bad name!", certificate=chain.leaf_pem
    )
    assert api_error(lambda: sm.create_secret(bad_name)).status_code == 400
    unknown_group = ImportedCertificatePrototype(
        secret_type="imported_cert",
        name="x1",
        certificate=chain.leaf_pem,
        secret_group_id=MISSING_UUID,
    )
    assert api_error(lambda: sm.create_secret(unknown_group)).status_code == 404
    for secret_type in ("public_cert", "private_cert", "nonsense"):
        proto = {"secret_type": secret_type, "name": "x2"}
        err = api_error(lambda p=proto: sm.create_secret(p))  # type: ignore[misc]
        assert err.status_code == 400


def test_get_errors(sm: SecretsManagerV2) -> None:
    err = api_error(lambda: sm.get_secret(MISSING_UUID))
    assert (err.status_code, err.http_response.json()["errors"][0]["code"]) == (404, "not_found")
    assert err.http_response.headers["Content-Type"] == "application/json"
    assert api_error(lambda: sm.get_secret("not-a-uuid")).status_code == 400
    assert api_error(lambda: sm.get_secret_metadata(MISSING_UUID)).status_code == 404
    assert api_error(lambda: sm.delete_secret(MISSING_UUID)).status_code == 404


def test_delete(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    secret_id = import_cert(sm, chain)["id"]
    assert sm.delete_secret(secret_id).get_status_code() == 204
    assert api_error(lambda: sm.get_secret(secret_id)).status_code == 404
