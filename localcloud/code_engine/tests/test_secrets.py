"""Code Engine v2 secrets through the unmodified SDK: ETags, If-Match, validation, paging."""

from __future__ import annotations

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import (
    CodeEngineV2,
    Secret,
    SecretDataGenericSecretData,
    SecretList,
)

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import (
    VERSION,
    api_error,
    tls_data,
)
from localcloud.pki import make_chain, new_key
from tests.support import assert_same_material

pytestmark = pytest.mark.integration


def test_tls_secret_roundtrip_with_etag(ce: CodeEngineV2, pid: str) -> None:
    data = tls_data()
    created = ce.create_secret(project_id=pid, format="tls", name="app-tls", data=data)
    assert created.get_status_code() == 201
    body = created.get_result()
    assert created.get_headers()["ETag"] == body["entity_tag"]
    assert body["resource_type"] == "secret_tls_v2"
    assert body["generated_by"] == "user"
    got = ce.get_secret(project_id=pid, name="app-tls")
    secret = Secret.from_dict(got.get_result())
    assert got.get_headers()["ETag"] == secret.entity_tag == body["entity_tag"]
    # The real GET returns the material (terraform's TLS import-verify test relies on it).
    assert_same_material(secret.data["tls_cert"], data.tls_cert)
    assert_same_material(secret.data["tls_key"], data.tls_key)


def test_replace_secret_if_match_semantics(ce: CodeEngineV2, pid: str, cloud: LocalCloud) -> None:
    first = ce.create_secret(project_id=pid, format="tls", name="rot", data=tls_data())
    tag = first.get_result()["entity_tag"]
    renewed = tls_data()
    replaced = ce.replace_secret(
        project_id=pid, name="rot", if_match=tag, format="tls", data=renewed
    )
    new_tag = replaced.get_result()["entity_tag"]
    assert new_tag != tag
    assert replaced.get_headers()["ETag"] == new_tag
    stored = cloud.code_engine.secrets.find("rot")
    assert stored is not None
    assert_same_material(stored["data"]["tls_cert"], renewed.tls_cert)
    assert stored["created_at"] == first.get_result()["created_at"]

    stale = api_error(
        ce.replace_secret, project_id=pid, name="rot", if_match=tag, format="tls", data=renewed
    )
    assert stale.status_code == 412
    star = ce.replace_secret(project_id=pid, name="rot", if_match="*", format="tls", data=renewed)
    assert star.get_result()["entity_tag"] not in (tag, new_tag)
    wrong_format = api_error(
        ce.replace_secret,
        project_id=pid,
        name="rot",
        if_match="*",
        format="generic",
        data=SecretDataGenericSecretData(a="b"),
    )
    assert wrong_format.status_code == 400
    missing = api_error(
        ce.replace_secret, project_id=pid, name="nope", if_match="*", format="tls", data=renewed
    )
    assert missing.status_code == 404


def test_replace_secret_without_if_match_is_rejected(
    ce: CodeEngineV2, pid: str, cloud: LocalCloud
) -> None:
    ce.create_secret(project_id=pid, format="generic", name="g", data={"k": "v"})
    authenticator = ce.authenticator
    assert isinstance(authenticator, IAMAuthenticator)
    token = authenticator.token_manager.get_token()
    response = requests.put(
        f"{cloud.code_engine_url}/projects/{pid}/secrets/g",
        params={"version": VERSION},
        json={"format": "generic", "data": {"k": "w"}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "missing_if_match"


def test_every_write_yields_a_new_entity_tag(ce: CodeEngineV2, pid: str) -> None:
    tags = {ce.create_secret(project_id=pid, format="generic", name="t", data={"k": "v"})
            .get_result()["entity_tag"]}  # fmt: skip
    for value in ("a", "b", "c"):
        result = ce.replace_secret(
            project_id=pid, name="t", if_match="*", format="generic", data={"k": value}
        ).get_result()
        tags.add(result["entity_tag"])
    assert len(tags) == 4


def test_duplicate_secret_is_409(ce: CodeEngineV2, pid: str) -> None:
    ce.create_secret(project_id=pid, format="generic", name="dup", data={"k": "v"})
    error = api_error(
        ce.create_secret, project_id=pid, format="generic", name="dup", data={"k": "v"}
    )
    assert error.status_code == 409


@pytest.mark.parametrize("name", ["Upper", "-lead", "trail-", "under_score", "a" * 254, ""])
def test_invalid_secret_names(ce: CodeEngineV2, pid: str, name: str) -> None:
    error = api_error(ce.create_secret, project_id=pid, format="generic", name=name, data={})
    assert error.status_code == 400


def test_longest_dotted_secret_name_is_accepted(ce: CodeEngineV2, pid: str) -> None:
    name = ".".join(["a" * 63] * 4)[:253]
    assert len(name) == 253
    assert ce.create_secret(project_id=pid, format="generic", name=name, data={}).get_status_code()


def _bad_tls_cases() -> dict[str, dict[str, str]]:
    chain, other = make_chain(), make_chain()
    encrypted = new_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    return {
        "garbage cert": {"tls_cert": "not a cert", "tls_key": chain.key_pem},
        "garbage key": {"tls_cert": chain.leaf_pem, "tls_key": "-----BEGIN PRIVATE KEY-----x"},
        "mismatch": {"tls_cert": chain.leaf_pem, "tls_key": other.key_pem},
        "intermediate first": {
            "tls_cert": chain.intermediate_pem + chain.leaf_pem,
            "tls_key": chain.key_pem,
        },
        "encrypted key": {"tls_cert": chain.leaf_pem, "tls_key": encrypted.decode()},
        "missing key": {"tls_cert": chain.leaf_pem},
        "extra key": {"tls_cert": chain.leaf_pem, "tls_key": chain.key_pem, "ca.crt": "x"},
    }


@pytest.mark.parametrize("case", list(_bad_tls_cases()))
def test_tls_material_is_validated_without_echo(ce: CodeEngineV2, pid: str, case: str) -> None:
    data = _bad_tls_cases()[case]
    error = api_error(ce.create_secret, project_id=pid, format="tls", name="bad", data=data)
    assert error.status_code == 400
    assert "BEGIN" not in error.message
    assert "tls" in error.message


def test_list_secrets_pages_filters_and_omits_data(ce: CodeEngineV2, pid: str) -> None:
    for i in range(5):
        ce.create_secret(project_id=pid, format="generic", name=f"g{i}", data={"k": "v"})
    for name in ("t1", "t2"):
        ce.create_secret(project_id=pid, format="tls", name=name, data=tls_data())
    names: list[str] = []
    start: str | None = None
    pages = 0
    while True:
        page = ce.list_secrets(project_id=pid, limit=3, start=start).get_result()
        parsed = SecretList.from_dict(page)
        assert parsed.limit == 3
        assert "limit=3" in page["first"]["href"]
        assert all("data" not in item for item in page["secrets"])
        names += [s.name for s in parsed.secrets]
        pages += 1
        if "next" not in page:
            break
        start = page["next"]["start"]
        assert f"start={start}" in page["next"]["href"]
    assert names == sorted(["g0", "g1", "g2", "g3", "g4", "t1", "t2"])
    assert pages == 3
    tls_only = ce.list_secrets(project_id=pid, format="tls").get_result()
    assert [s["name"] for s in tls_only["secrets"]] == ["t1", "t2"]
    assert "next" not in tls_only
    assert tls_only["limit"] == 50
    for bad in ({"limit": 0}, {"limit": 101}, {"start": "garbage!"}, {"format": "nope"}):
        assert api_error(ce.list_secrets, project_id=pid, **bad).status_code == 400


def test_delete_secret(ce: CodeEngineV2, pid: str) -> None:
    ce.create_secret(project_id=pid, format="generic", name="gone", data={"k": "v"})
    assert ce.delete_secret(project_id=pid, name="gone").get_status_code() == 202
    assert api_error(ce.get_secret, project_id=pid, name="gone").status_code == 404
    assert api_error(ce.delete_secret, project_id=pid, name="gone").status_code == 404


def test_seed_helpers(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    seeded = cloud.code_engine.secrets.put("seeded", "generic", {"a": "1"})
    got = ce.get_secret(project_id=pid, name="seeded").get_result()
    assert got["entity_tag"] == seeded["entity_tag"]
    assert cloud.code_engine.secrets.find("absent") is None
    assert {secret["name"] for secret in cloud.code_engine.secrets.list()} == {"seeded"}
