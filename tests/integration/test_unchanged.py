"""An unchanged run costs almost nothing, and still notices what changed (issue 11, item 3).

The real job against the local IBM Cloud; the request log counts the API calls of a second run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509

from localcloud import LocalCloud
from localcloud.secrets_manager.model import CertificateParts
from tests.pki import Profile, cert_pem, issue, make_chain
from tests.support import job_env, run_job, seed_certificate

pytestmark = pytest.mark.integration

MAPPINGS = 60
SM_GET = r"^/api/v2/secrets/[^/]+$"
CE_GET = r"^/v2/projects/[^/]+/secrets/[^/]+$"


def api_calls(cloud: LocalCloud) -> list[str]:
    return [f"{r.method} {r.path}" for r in cloud.requests.entries()]


def seeded(cloud: LocalCloud, count: int) -> list[dict[str, Any]]:
    chain = make_chain()
    return [
        {"secret": seed_certificate(cloud, chain, f"cert-{n}"), "target": f"tls-{n}"}
        for n in range(count)
    ]


def test_unchanged_second_run_makes_about_one_call_per_30_mappings(cloud):
    env = job_env(cloud, seeded(cloud, MAPPINGS), CERTSYNC_VERIFY="off")
    assert run_job(env).returncode == 0
    cloud.requests.clear()
    result = run_job(env)
    assert result.returncode == 0, result.stderr
    assert set(result.outcomes().values()) == {"current"}
    calls = api_calls(cloud)
    # Two IAM tokens, one Secrets Manager list, one Code Engine list, the status record read and
    # replaced: nothing per mapping.
    assert len(calls) <= MAPPINGS / 30 + 4, calls
    assert cloud.requests.entries(path=SM_GET) == []
    assert cloud.requests.entries(method="GET", path=CE_GET) == []


def test_a_target_changed_by_hand_between_runs_is_read_and_repaired(cloud):
    chain = make_chain()
    secret_id = seed_certificate(cloud, chain, "web-cert")
    env = job_env(cloud, [{"secret": secret_id, "target": "tls-web"}], CERTSYNC_VERIFY="off")
    assert run_job(env).returncode == 0
    # Someone pastes an older certificate (a newer one would be refused as a downgrade).
    older = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    other = make_chain(domain="other.example.com", not_before=older)
    stored = cloud.code_engine.secrets.find("tls-web")
    assert stored is not None
    cloud.code_engine.secrets.replace(
        "tls-web",
        stored["entity_tag"],
        {"format": "tls", "data": {"tls_cert": other.leaf_pem, "tls_key": other.key_pem}},
    )
    result = run_job(env)
    assert result.returncode == 0, result.stderr
    assert result.outcomes() == {"tls-web": "updated"}
    repaired = cloud.code_engine.secrets.find("tls-web")
    assert repaired is not None
    served = x509.load_pem_x509_certificates(repaired["data"]["tls_cert"].encode())
    assert served[0] == chain.leaf.cert


def test_a_new_intermediate_under_the_same_leaf_is_read_and_written(cloud):
    chain = make_chain()
    secret_id = seed_certificate(cloud, chain, "web-cert")
    env = job_env(cloud, [{"secret": secret_id, "target": "tls-web"}], CERTSYNC_VERIFY="off")
    assert run_job(env).returncode == 0
    # The CA re-issues its intermediate (same name and key, new validity and serial): the leaf
    # and its serial stay, only the chain changes.
    name = chain.intermediate.cert.subject.rfc4514_string().removeprefix("CN=")
    reissued = issue(
        name, issuer=chain.root, key=chain.intermediate.key, profile=Profile(ca=True, days=900)
    )
    parts = CertificateParts(chain.leaf_pem, chain.key_pem, cert_pem(reissued.cert))
    cloud.secrets_manager.rotate(secret_id, parts)
    cloud.requests.clear()
    result = run_job(env)
    assert result.returncode == 0, result.stderr
    assert result.outcomes() == {"tls-web": "updated"}
    stored = cloud.code_engine.secrets.find("tls-web")
    assert stored is not None
    served = x509.load_pem_x509_certificates(stored["data"]["tls_cert"].encode())
    assert served == [chain.leaf.cert, reissued.cert]
    assert len(cloud.requests.entries(path=SM_GET)) == 1
    assert run_job(env).outcomes() == {"tls-web": "current"}, (
        "the run after the repair is unchanged again"
    )
