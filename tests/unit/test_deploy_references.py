"""deploy/references.py: the rule for what a mapping's secret must be (pure)."""

from __future__ import annotations

from typing import Any

from deploy.references import Looked, mapping_problems

INSTANCE = "11111111-2222-4333-8444-000000000001"
OTHER = "11111111-2222-4333-8444-000000000002"
CRN = f"crn:v1:bluemix:public:secrets-manager:eu-de:a/acct:{INSTANCE}::"
ID = "0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0"


def cert(secret_type: str = "imported_cert", **fields: Any) -> dict[str, Any]:
    return {"id": ID, "name": "www", "secret_type": secret_type, **fields}


def test_a_certificate_of_the_instance_passes_whatever_its_type() -> None:
    looked = [Looked(ID, cert(kind)) for kind in ("imported_cert", "public_cert", "private_cert")]
    assert mapping_problems(looked, CRN) == {}


def test_a_missing_secret_is_named_by_its_index() -> None:
    problems = mapping_problems([Looked(ID, cert()), Looked("gone", None)], CRN)
    assert problems == {
        1: "'mappings[1].secret' (gone): no such secret in the Secrets Manager instance "
        "(secrets_manager.instance_id)"
    }


def test_a_secret_that_is_not_a_certificate_says_its_type() -> None:
    [problem] = mapping_problems([Looked(ID, cert("arbitrary", name="db"))], CRN).values()
    assert "secret 'db' is of type 'arbitrary', not a certificate" in problem


def test_a_name_given_as_id_suggests_the_id() -> None:
    named = Looked("www", None, (cert(secret_group_id="default"),))
    [problem] = mapping_problems([named], CRN).values()
    assert f"that is the name of a secret, not its id: write its id, '{ID}'" in problem
    twice = Looked("www", None, (cert(), cert("public_cert", id="other-id")))
    [problem] = mapping_problems([twice], CRN).values()
    assert "that is the name of 2 secrets" in problem
    assert "'other-id' (public_cert)" in problem


def test_a_secret_crn_of_another_instance_or_region_is_named_as_such() -> None:
    other = f"crn:v1:bluemix:public:secrets-manager:eu-de:a/acct:{OTHER}:secret:{ID}"
    [problem] = mapping_problems([Looked(other, cert())], CRN).values()
    assert f"a secret of Secrets Manager instance '{OTHER}', not of '{INSTANCE}'" in problem
    moved = f"crn:v1:bluemix:public:secrets-manager:us-south:a/acct:{INSTANCE}:secret:{ID}"
    [problem] = mapping_problems([Looked(moved, cert())], CRN).values()
    assert "that CRN says region 'us-south', but the instance is in 'eu-de'" in problem
