"""What the secrets list tells without reading a secret: the fields certsync's discovery and its
unchanged-run shortcut read (SecretMetadata in the SDK's models: `labels`, `custom_metadata`,
`versions_total`, `updated_at`, and for certificates `serial_number`, `expiration_date`), and the
server-side filters `secret_types` and `match_all_labels` (SecretsManagerV2.list_secrets sends
them as comma-separated query parameters)."""

from __future__ import annotations

import pytest
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ArbitrarySecretPrototype,
    ImportedCertificateMetadata,
    ImportedCertificateVersionPrototype,
    SecretsManagerV2,
)

from localcloud import LocalCloud, pki
from localcloud.secrets_manager.model import CertificateParts
from localcloud.secrets_manager.tests.support import TS_RE, colon_serial, import_cert

pytestmark = pytest.mark.integration


def listed(sm: SecretsManagerV2, **params: object) -> dict[str, dict[str, object]]:
    return {s["name"]: s for s in sm.list_secrets(**params).get_result()["secrets"]}


def test_list_items_carry_labels_custom_metadata_and_version_fields(
    sm: SecretsManagerV2, chain: pki.Chain
) -> None:
    targets = {"certsync_targets": ["tls-a", {"target": "tls-b", "region": "eu-de"}]}
    import_cert(sm, chain, name="web", labels=["certsync"], custom_metadata=targets)
    (item,) = listed(sm).values()
    ImportedCertificateMetadata.from_dict(item)
    assert item["labels"] == ["certsync"]
    assert item["custom_metadata"] == targets
    assert item["versions_total"] == 1
    assert item["serial_number"] == colon_serial(chain)
    assert TS_RE.match(str(item["expiration_date"]))
    assert TS_RE.match(str(item["updated_at"]))
    assert "certificate" not in item
    assert "private_key" not in item


def test_a_new_version_moves_versions_total_and_updated_at_even_with_the_same_leaf(
    sm: SecretsManagerV2, chain: pki.Chain, cloud: LocalCloud
) -> None:
    created = import_cert(sm, chain, name="web")
    before = listed(sm)["web"]
    name = chain.intermediate.cert.subject.rfc4514_string().removeprefix("CN=")
    reissued = pki.issue(
        name, issuer=chain.root, key=chain.intermediate.key, profile=pki.Profile(ca=True, days=900)
    )
    parts = CertificateParts(chain.leaf_pem, chain.key_pem, pki.cert_pem(reissued.cert))
    cloud.secrets_manager.rotate(created["id"], parts)  # the same leaf, a re-issued intermediate
    after = listed(sm)["web"]
    assert after["versions_total"] == 2
    assert str(after["updated_at"]) > str(before["updated_at"])
    assert after["serial_number"] == before["serial_number"]
    sm.create_secret_version(
        created["id"],
        ImportedCertificateVersionPrototype(
            certificate=chain.leaf_pem,
            private_key=chain.key_pem,
            intermediate=chain.intermediate_pem,
        ),
    )
    assert listed(sm)["web"]["versions_total"] == 3


def test_secret_types_and_labels_are_filtered_by_the_service(
    sm: SecretsManagerV2, chain: pki.Chain
) -> None:
    import_cert(sm, chain, name="labelled", labels=["certsync", "team-a"])
    import_cert(sm, chain, name="other-label", labels=["team-a"])
    sm.create_secret(
        ArbitrarySecretPrototype(
            secret_type="arbitrary", name="blob", payload="p", labels=["certsync"]
        )
    )
    certs = ["imported_cert", "public_cert", "private_cert"]
    assert set(listed(sm, secret_types=certs, match_all_labels=["certsync"])) == {"labelled"}
    assert set(listed(sm, match_all_labels=["certsync"])) == {"labelled", "blob"}
    assert set(listed(sm, secret_types=certs)) == {"labelled", "other-label"}
    assert listed(sm, secret_types=certs, match_all_labels=["nobody"]) == {}
