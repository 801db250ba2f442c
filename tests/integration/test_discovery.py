"""Mappings that travel with the certificate (issue 11, item 2): the real job discovers secrets
labelled `certsync` through Secrets Manager's list API and syncs the targets they declare."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud import LocalCloud
from localcloud.secrets_manager.model import CertificateParts, Details
from tests.pki import Chain, make_chain
from tests.support import job_env, run_job

pytestmark = pytest.mark.integration


def declare(
    cloud: LocalCloud,
    chain: Chain,
    name: str,
    targets: Any,
    labels: tuple[str, ...] = ("certsync",),
) -> str:
    secret = cloud.secrets_manager.seed_certificate(
        "imported_cert",
        name,
        CertificateParts(chain.leaf_pem, chain.key_pem, chain.intermediate_pem),
        Details(labels=list(labels), custom_metadata={"certsync_targets": targets}),
    )
    return str(secret["id"])


def discovering(cloud: LocalCloud, mappings: list[dict[str, str]] | None = None, **extra: str):
    env = job_env(cloud, mappings or [], CERTSYNC_DISCOVER="true", CERTSYNC_VERIFY="off", **extra)
    if not mappings:
        env.pop("CERTSYNC_MAPPINGS")
    return env


def test_declared_targets_are_synced_and_a_malformed_declaration_is_isolated(cloud):
    chain = make_chain()
    good = declare(cloud, chain, "web-cert", ["tls-a", {"target": "tls-b", "verify": False}])
    bad = declare(cloud, chain, "broken-cert", [{"target": "Not A Name"}])
    declare(cloud, chain, "unlabelled", ["tls-c"], labels=("other",))
    result = run_job(discovering(cloud))
    assert result.returncode == 1, result.stderr
    assert result.outcomes() == {"tls-a": "created", "tls-b": "created"}
    assert cloud.code_engine.secrets.find("tls-c") is None
    (failed,) = [line for line in result.events("mapping_failed") if "target" not in line]
    assert failed["secret_id"] == bad
    assert "certsync_targets[0]" in failed["reason"]
    (found,) = result.events("mappings_discovered")
    assert (found["secrets"], found["mappings"], found["malformed"]) == (2, 2, 1)
    assert {line["secret_id"] for line in result.events("target_created")} == {good}
    lists = cloud.requests.entries(method="GET", path=r"^/api/v2/secrets$")
    assert "match_all_labels=certsync" in lists[0].query
    assert "secret_types=imported_cert%2Cpublic_cert%2Cprivate_cert" in lists[0].query


def test_a_target_claimed_by_two_secrets_is_a_conflict_not_a_guess(cloud):
    chain = make_chain()
    first = declare(cloud, chain, "first-cert", ["tls-shared", "tls-own"])
    second = declare(cloud, chain, "second-cert", ["tls-shared"])
    result = run_job(discovering(cloud))
    assert result.returncode == 1
    assert result.outcomes() == {"tls-shared": "failed", "tls-own": "created"}
    (line,) = [x for x in result.events("mapping_failed") if x.get("target") == "tls-shared"]
    assert first in line["reason"]
    assert second in line["reason"]
    assert cloud.code_engine.secrets.find("tls-shared") is None


def test_discovery_works_with_explicit_mappings_and_its_own_label(cloud):
    chain = make_chain()
    explicit = declare(cloud, chain, "listed-cert", ["ignored-because-unlabelled"], labels=())
    declared = declare(cloud, chain, "declared-cert", ["tls-declared"], labels=("team-web",))
    env = discovering(
        cloud,
        [{"secret": explicit, "target": "tls-listed"}],
        CERTSYNC_DISCOVERY_LABEL="team-web",
    )
    result = run_job(env)
    assert result.returncode == 0, result.stderr
    assert result.outcomes() == {"tls-listed": "created", "tls-declared": "created"}
    assert {x["secret_id"] for x in result.events("target_created")} == {explicit, declared}
    again = run_job(env)
    assert again.outcomes() == {"tls-listed": "current", "tls-declared": "current"}
