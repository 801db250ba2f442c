"""Secrets Manager v2 public and private certificates (seeded, as they cannot be imported), the
in-process helpers, expiry, and arbitrary secrets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ArbitrarySecret,
    ArbitrarySecretPrototype,
    PrivateCertificate,
    PrivateCertificateMetadata,
    PrivateCertificateVersion,
    PublicCertificate,
    PublicCertificateMetadata,
    PublicCertificateRotationObject,
    PublicCertificateVersion,
    PublicCertificateVersionPrototype,
    Secret,
    SecretMetadata,
    SecretsManagerV2,
    SecretVersion,
)

from localcloud import LocalCloud, pki
from localcloud.secrets_manager.model import CertificateParts, Details
from localcloud.secrets_manager.tests.support import (
    Events,
    api_error,
    colon_serial,
    import_cert,
)
from tests.support import assert_same_material

pytestmark = pytest.mark.integration


# -- public and private certificates (seeded) -------------------------------------------
def test_seed_public_cert_and_rotate(
    cloud: LocalCloud, sm: SecretsManagerV2, chain: pki.Chain, events: Events
) -> None:
    parts = CertificateParts(chain.leaf_pem, chain.key_pem, chain.intermediate_pem)
    seeded = cloud.secrets_manager.seed_certificate("public_cert", "public-web", parts)
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
        seeded["id"], CertificateParts(renewed.leaf_pem, renewed.key_pem, renewed.intermediate_pem)
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
    url = f"{cloud.url}/_localcloud/secrets_manager/secrets"
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
    url = f"{cloud.url}/_localcloud/secrets_manager/secrets"
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
        "imported_cert", "helper-cert", CertificateParts(chain.leaf_pem), Details(group="helpers")
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
        "imported_cert", "wired", CertificateParts(chain.leaf_pem, chain.key_pem)
    )
    renewed = pki.renew(chain)
    cloud.secrets_manager.rotate(seeded["id"], CertificateParts(renewed.leaf_pem, renewed.key_pem))
    notifications = cloud.event_notifications.notifications()
    assert len(notifications) == 1
    data = notifications[0]["data"]
    assert (data["event_type"], data["secret_type"]) == ("secret_rotated", "imported_cert")
    assert data["secrets"][0]["secret_id"] == seeded["crn"]
