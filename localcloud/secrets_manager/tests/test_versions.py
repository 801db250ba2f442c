"""Secrets Manager v2 versions and rotation through the API; what a rotation publishes."""

from __future__ import annotations

import pytest
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ImportedCertificateVersion,
    ImportedCertificateVersionMetadata,
    ImportedCertificateVersionPrototype,
    SecretsManagerV2,
    SecretVersion,
    SecretVersionMetadata,
    SecretVersionMetadataCollection,
)

from localcloud import pki
from localcloud.secrets_manager.tests.support import (
    MISSING_UUID,
    TS_RE,
    Events,
    api_error,
    colon_serial,
    import_cert,
)
from tests.support import assert_same_material

pytestmark = pytest.mark.integration


def test_rotate_imported_cert_via_api(
    sm: SecretsManagerV2, chain: pki.Chain, events: Events
) -> None:
    secret = import_cert(sm, chain)
    renewed = pki.renew(chain)
    proto = ImportedCertificateVersionPrototype(
        certificate=renewed.leaf_pem,
        intermediate=renewed.intermediate_pem,
        private_key=renewed.key_pem,
    )
    version = sm.create_secret_version(secret["id"], proto).get_result()
    ImportedCertificateVersion.from_dict(version)
    SecretVersion.from_dict(version)
    assert version["serial_number"] == colon_serial(renewed)
    assert version["alias"] == "current"
    assert_same_material(version["certificate"], renewed.leaf_pem)
    after = sm.get_secret(secret["id"]).get_result()
    assert after["versions_total"] == 2
    assert after["serial_number"] == colon_serial(renewed)
    assert_same_material(after["certificate"], renewed.leaf_pem)
    assert len(events) == 1
    assert (events[0]["event"], events[0]["secret_type"]) == ("secret_rotated", "imported_cert")
    item = events[0]["secrets"][0]
    assert item["secret_id"] == secret["crn"]
    assert item["secret_name"] == secret["name"]
    assert item["secret_group_id"] == "default"
    assert item["serial_number"] == colon_serial(renewed)
    assert item["domains"] == ["www.example.com"]
    assert item["secret_expiration"] == after["expiration_date"]
    assert TS_RE.match(item["event_time"])
    assert item["event_triggered_by"] == "iam-ServiceId-sm-tests"


def test_version_listing_and_aliases(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    secret_id = import_cert(sm, chain)["id"]
    second = pki.renew(chain)
    proto = ImportedCertificateVersionPrototype(
        certificate=second.leaf_pem, private_key=second.key_pem
    )
    sm.create_secret_version(secret_id, proto)
    listed = sm.list_secret_versions(secret_id).get_result()
    SecretVersionMetadataCollection.from_dict(listed)
    assert listed["total_count"] == 2
    assert [v["alias"] for v in listed["versions"]] == ["current", "previous"]
    for item in listed["versions"]:
        ImportedCertificateVersionMetadata.from_dict(item)
        assert item["payload_available"] is True
    current = sm.get_secret_version(secret_id, "current").get_result()
    previous = sm.get_secret_version(secret_id, "previous").get_result()
    assert_same_material(current["certificate"], second.leaf_pem)
    assert_same_material(previous["certificate"], chain.leaf_pem)
    by_id = sm.get_secret_version(secret_id, previous["id"]).get_result()
    assert by_id["serial_number"] == colon_serial(chain)
    meta = sm.get_secret_version_metadata(secret_id, "previous").get_result()
    assert SecretVersionMetadata.from_dict(meta).__class__ is ImportedCertificateVersionMetadata
    assert "certificate" not in meta
    assert sm.get_secret_metadata(secret_id).get_result()["private_key_included"] is True
    assert api_error(lambda: sm.get_secret_version(secret_id, MISSING_UUID)).status_code == 404
    assert api_error(lambda: sm.get_secret_version(secret_id, "oldest")).status_code == 400


def test_old_version_data_is_gone(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    secret_id = import_cert(sm, chain)["id"]
    first_version = sm.get_secret_version(secret_id, "current").get_result()["id"]
    for _ in range(2):
        renewed = pki.renew(chain)
        proto = ImportedCertificateVersionPrototype(
            certificate=renewed.leaf_pem, private_key=renewed.key_pem
        )
        sm.create_secret_version(secret_id, proto)
    listed = sm.list_secret_versions(secret_id).get_result()["versions"]
    assert [v["payload_available"] for v in listed] == [True, True, False]
    assert "alias" not in listed[2]
    assert api_error(lambda: sm.get_secret_version(secret_id, first_version)).status_code == 404
    meta = sm.get_secret_version_metadata(secret_id, first_version).get_result()
    assert meta["payload_available"] is False


def test_rotation_rejects_mismatched_key(sm: SecretsManagerV2, chain: pki.Chain) -> None:
    secret_id = import_cert(sm, chain)["id"]
    renewed = pki.renew(chain)
    proto = ImportedCertificateVersionPrototype(
        certificate=renewed.leaf_pem, private_key=chain.key_pem
    )
    assert api_error(lambda: sm.create_secret_version(secret_id, proto)).status_code == 400
    assert sm.get_secret_metadata(secret_id).get_result()["versions_total"] == 1
