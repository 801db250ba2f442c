"""The Secrets Manager v2 emulator driven by the unmodified official SDK over loopback HTTP.

Every response body also goes through the SDK's own `from_dict` models (contract tests), so a
missing required field fails here. PEM material is never printed: comparisons are `==` on
booleans or digests.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ArbitrarySecret,
    ArbitrarySecretPrototype,
    ImportedCertificate,
    ImportedCertificateMetadata,
    ImportedCertificatePrototype,
    ImportedCertificateVersion,
    ImportedCertificateVersionMetadata,
    ImportedCertificateVersionPrototype,
    PrivateCertificate,
    PrivateCertificateMetadata,
    PrivateCertificateVersion,
    PublicCertificate,
    PublicCertificateMetadata,
    PublicCertificateRotationObject,
    PublicCertificateVersion,
    PublicCertificateVersionPrototype,
    Secret,
    SecretGroup,
    SecretGroupCollection,
    SecretMetadata,
    SecretMetadataPaginatedCollection,
    SecretsManagerV2,
    SecretVersion,
    SecretVersionMetadata,
    SecretVersionMetadataCollection,
)

from localcloud import LocalCloud
from tests import pki
from tests.support import assert_same_material

pytestmark = pytest.mark.integration

APIKEY = "sm-test-apikey"
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SERIAL_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2})*$")
MISSING_UUID = "00000000-0000-4000-8000-000000000000"

Events = list[dict[str, Any]]


def colon_serial(chain: pki.Chain) -> str:
    n = chain.leaf.cert.serial_number
    return ":".join(f"{b:02x}" for b in n.to_bytes((n.bit_length() + 7) // 8, "big"))


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as fake:
        fake.iam.add_apikey(APIKEY, "iam-ServiceId-sm-tests")
        yield fake


@pytest.fixture
def sm(cloud: LocalCloud) -> SecretsManagerV2:
    client = SecretsManagerV2(authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url))
    client.set_service_url(cloud.secrets_manager_url)
    return client


@pytest.fixture
def events(cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch) -> Events:
    seen: Events = []

    def record(*, event_sub_type: str, secret_type: str, secrets: list[dict[str, Any]]) -> None:
        seen.append({"event": event_sub_type, "secret_type": secret_type, "secrets": secrets})

    monkeypatch.setattr(cloud.event_notifications, "publish_secret_event", record)
    return seen


@pytest.fixture(scope="module")
def chain() -> pki.Chain:
    return pki.make_chain("www.example.com")


def import_cert(
    sm: SecretsManagerV2, chain: pki.Chain, name: str = "web-cert", **extra: Any
) -> dict[str, Any]:
    proto = ImportedCertificatePrototype(
        secret_type="imported_cert",
        name=name,
        certificate=chain.leaf_pem,
        intermediate=chain.intermediate_pem,
        private_key=chain.key_pem,
        **extra,
    )
    result: dict[str, Any] = sm.create_secret(proto).get_result()
    return result


def api_error(call: Callable[[], Any]) -> ApiException:
    with pytest.raises(ApiException) as info:
        call()
    return info.value


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


# -- lookups and listing -----------------------------------------------------------------
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


# -- versions and rotation ---------------------------------------------------------------
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


# -- public and private certificates (seeded) -------------------------------------------
def test_seed_public_cert_and_rotate(
    cloud: LocalCloud, sm: SecretsManagerV2, chain: pki.Chain, events: Events
) -> None:
    seeded = cloud.secrets_manager.seed_certificate(
        "public_cert", "public-web", chain.leaf_pem, chain.key_pem, chain.intermediate_pem
    )
    got = sm.get_secret(seeded["id"]).get_result()
    assert Secret.from_dict(got).__class__ is PublicCertificate
    assert_same_material(got["intermediate"], chain.intermediate_pem)
    meta = sm.get_secret_metadata(seeded["id"]).get_result()
    assert SecretMetadata.from_dict(meta).__class__ is PublicCertificateMetadata
    proto = PublicCertificateVersionPrototype(rotation=PublicCertificateRotationObject())
    err = api_error(lambda: sm.create_secret_version(seeded["id"], proto))
    assert err.status_code == 400
    renewed = pki.renew(chain)
    cloud.secrets_manager.rotate(
        seeded["id"], renewed.leaf_pem, renewed.key_pem, renewed.intermediate_pem
    )
    current = sm.get_secret_version(seeded["id"], "current").get_result()
    PublicCertificateVersion.from_dict(current)
    assert current["auto_rotated"] is True
    assert current["serial_number"] == colon_serial(renewed)
    assert len(events) == 1
    assert events[0]["secret_type"] == "public_cert"
    assert events[0]["secrets"][0]["event_triggered_by"] == "SecretsManager"


def test_seed_private_cert_via_control_plane(
    cloud: LocalCloud, sm: SecretsManagerV2, chain: pki.Chain, events: Events
) -> None:
    body = {
        "secret_type": "private_cert",
        "name": "internal",
        "certificate": chain.leaf_pem,
        "private_key": chain.key_pem,
        "issuing_ca": chain.intermediate_pem,
        "ca_chain": [chain.intermediate_pem, chain.root_pem],
        "labels": ["internal"],
    }
    url = f"{cloud.url}/_fakecloud/secrets_manager/secrets"
    response = requests.post(url, json=body, timeout=10)
    assert response.status_code == 201
    secret_id = response.json()["id"]
    got = sm.get_secret(secret_id).get_result()
    assert Secret.from_dict(got).__class__ is PrivateCertificate
    assert_same_material(got["issuing_ca"], chain.intermediate_pem)
    assert_same_material(
        got["ca_chain"],
        [chain.intermediate_pem, chain.root_pem],
    )
    meta = sm.get_secret_metadata(secret_id).get_result()
    assert SecretMetadata.from_dict(meta).__class__ is PrivateCertificateMetadata
    renewed = pki.renew(chain)
    rotate = {
        "certificate": renewed.leaf_pem,
        "private_key": renewed.key_pem,
        "issuing_ca": renewed.intermediate_pem,
    }
    rotated = requests.post(f"{url}/{secret_id}/rotate", json=rotate, timeout=10)
    assert rotated.status_code == 201
    assert rotated.json()["serial_number"] == colon_serial(renewed)
    version = sm.get_secret_version(secret_id, "current").get_result()
    PrivateCertificateVersion.from_dict(version)
    assert len(events) == 1
    assert events[0]["secret_type"] == "private_cert"
    bad = requests.post(f"{url}/{secret_id}/rotate", json={"certificate": "x"}, timeout=10)
    assert bad.status_code == 400
    assert bad.json()["status_code"] == 400


def test_seed_requires_matching_key(cloud: LocalCloud, chain: pki.Chain) -> None:
    other = pki.make_chain("other.example.com")
    url = f"{cloud.url}/_fakecloud/secrets_manager/secrets"
    body: dict[str, Any] = {
        "secret_type": "public_cert",
        "name": "mismatch",
        "certificate": chain.leaf_pem,
        "private_key": other.key_pem,
    }
    assert requests.post(url, json=body, timeout=10).status_code == 400
    body["private_key"] = None
    assert requests.post(url, json=body, timeout=10).status_code == 400


def test_python_helpers(cloud: LocalCloud, chain: pki.Chain) -> None:
    group = cloud.secrets_manager.create_group("helpers")
    seeded = cloud.secrets_manager.seed_certificate(
        "imported_cert", "helper-cert", chain.leaf_pem, None, group="helpers"
    )
    assert seeded["secret_group_id"] == group["id"]
    assert cloud.secrets_manager.secret(seeded["id"])["name"] == "helper-cert"
    by_name = cloud.secrets_manager.get_by_name("helper-cert", group="helpers")
    assert by_name["id"] == seeded["id"]
    assert cloud.secrets_manager.secret_ids() == [seeded["id"]]
    cloud.secrets_manager.delete_secret(seeded["id"])
    assert cloud.secrets_manager.secret_ids() == []


def test_expired_certificate_is_deactivated(sm: SecretsManagerV2) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    expired = pki.make_chain(
        "old.example.com", not_before=start, not_after=start + dt.timedelta(days=1)
    )
    created = import_cert(sm, expired, name="expired")
    assert (created["state"], created["state_description"]) == (3, "deactivated")


# -- arbitrary secrets -------------------------------------------------------------------
def test_arbitrary_secret(sm: SecretsManagerV2, events: Events) -> None:
    proto = ArbitrarySecretPrototype(
        secret_type="arbitrary", name="blob", payload="s3cret", labels=["x1"]
    )
    created = sm.create_secret(proto).get_result()
    ArbitrarySecret.from_dict(created)
    got = sm.get_secret(created["id"]).get_result()
    assert got["payload"] == "s3cret"
    version = sm.create_secret_version(created["id"], {"payload": "n3w"}).get_result()
    SecretVersion.from_dict(version)
    assert sm.get_secret(created["id"]).get_result()["payload"] == "n3w"
    assert events == []


def test_rotation_reaches_event_notifications(cloud: LocalCloud, chain: pki.Chain) -> None:
    seeded = cloud.secrets_manager.seed_certificate(
        "imported_cert", "wired", chain.leaf_pem, chain.key_pem
    )
    renewed = pki.renew(chain)
    cloud.secrets_manager.rotate(seeded["id"], renewed.leaf_pem, renewed.key_pem)
    notifications = cloud.event_notifications.notifications()
    assert len(notifications) == 1
    data = notifications[0]["data"]
    assert (data["event_type"], data["secret_type"]) == ("secret_rotated", "imported_cert")
    assert data["secrets"][0]["secret_id"] == seeded["crn"]
