"""From secret written to certificate served: the real job against the local Code Engine router,
over real TLS handshakes (Python's ssl / OpenSSL) with SNI."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from localcloud import LocalCloud
from localcloud.pki import Chain, issue, make_chain
from tests.support import JobResult, job_env, run_job, seed_certificate, wait_until

pytestmark = pytest.mark.integration

DOMAIN = "www.example.com"
TARGET = "tls-www"
DOMAIN_MAPPINGS = r"/v2/projects/[^/]+/domain_mappings"


def served_leaf(cloud: LocalCloud, domain: str = DOMAIN) -> x509.Certificate:
    """What the router serves for `domain`, read over TLS as a browser would connect."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", cloud.router_port), timeout=5) as sock,
        context.wrap_socket(sock, server_hostname=domain) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def tls_data(chain: Chain) -> dict[str, str]:
    return {"tls_cert": chain.leaf_pem + chain.intermediate_pem, "tls_key": chain.key_pem}


def deploy(cloud: LocalCloud, tmp_path: Path, chain: Chain, *domains: str) -> str:
    """A served site: the TLS secret holding `chain`, an app, and a domain mapping per domain."""
    cloud.code_engine.domain_mappings.trust_root(chain.root.cert)
    cloud.code_engine.domain_mappings.ready_seconds = 0.1
    cloud.code_engine.secrets.put(TARGET, "tls", tls_data(chain))
    cloud.code_engine.apps.seed("web")
    for domain in domains or (DOMAIN,):
        cloud.code_engine.domain_mappings.create(
            {
                "name": domain,
                "component": {"resource_type": "app_v2", "name": "web"},
                "tls_secret": TARGET,
            }
        )
    for domain in domains or (DOMAIN,):
        ready = lambda d=domain: cloud.code_engine.domain_mappings.get(d)["status"] == "ready"  # noqa: E731
        assert wait_until(ready, 10)
    anchors = tmp_path / "anchors.pem"
    anchors.write_text(chain.root_pem)
    return str(anchors)


def verifying_env(cloud: LocalCloud, anchors: str, secret_id: str, **extra: str) -> dict[str, str]:
    port = cloud.router_port
    connect_to = ",".join(f"{d}:443:127.0.0.1:{port}" for d in (DOMAIN, "shop.example.com"))
    return job_env(
        cloud,
        [{"secret": secret_id, "target": TARGET}],
        CERTSYNC_TRUST_ANCHORS_FILE=anchors,
        CERTSYNC_CONNECT_TO=connect_to,
        CERTSYNC_VERIFY_TIMEOUT="15",
        **extra,
    )


def site_chain(domains: tuple[str, ...], ca: Chain | None = None) -> Chain:
    """A leaf naming every domain, under `ca`'s root and intermediate (or a fresh CA)."""
    base = ca or make_chain(domains[0])
    leaf = issue(domains[0], issuer=base.intermediate, sans=domains)
    return Chain(base.root, base.intermediate, leaf)


def rotated(
    cloud: LocalCloud, tmp_path: Path, *domains: str
) -> tuple[Chain, Chain, dict[str, str]]:
    """Code Engine serves `old`; Secrets Manager holds its renewal `new`."""
    names = domains or (DOMAIN,)
    old = site_chain(names)
    anchors = deploy(cloud, tmp_path, old, *names)
    new = site_chain(names, ca=old)
    secret_id = seed_certificate(cloud, new, "web-cert")
    return old, new, verifying_env(cloud, anchors, secret_id)


def domain_lines(result: JobResult) -> list[dict[str, Any]]:
    return result.events("domain_verified") + result.events("domain_stale")


def test_a_rotation_is_written_picked_up_and_verified_over_tls(cloud, tmp_path):
    old, new, env = rotated(cloud, tmp_path)
    assert served_leaf(cloud) == old.leaf.cert

    result = run_job(env)

    assert result.returncode == 0, result.stderr
    assert result.outcomes() == {TARGET: "updated"}
    [line] = result.events("domain_verified")
    assert (line["domain"], line["target"]) == (DOMAIN, TARGET)
    assert line["serial"] == format(new.leaf.cert.serial_number, "x")
    assert line["seconds"] >= 0
    assert served_leaf(cloud) == new.leaf.cert
    [patch] = cloud.requests.entries("PATCH", DOMAIN_MAPPINGS)
    assert patch.headers["if-match"]  # the refresh cannot undo anyone else's change


def test_a_propagation_delay_is_waited_out(cloud, tmp_path):
    _, new, env = rotated(cloud, tmp_path)
    cloud.code_engine.router.propagation_seconds = 2.0

    result = run_job(env)

    assert result.returncode == 0, result.stderr
    [line] = result.events("domain_verified")
    assert line["seconds"] >= 2.0
    assert served_leaf(cloud) == new.leaf.cert


def test_a_replaced_secret_that_is_not_picked_up_is_healed_by_the_refresh(cloud, tmp_path):
    _, new, env = rotated(cloud, tmp_path)
    cloud.code_engine.router.mode = "stale_until_mapping_update"

    result = run_job(env)

    assert result.returncode == 0, result.stderr
    assert [line["domain"] for line in result.events("domain_verified")] == [DOMAIN]
    assert served_leaf(cloud) == new.leaf.cert


def test_a_full_run_heals_a_domain_left_stale_by_an_earlier_write(cloud, tmp_path):
    old, new, env = rotated(cloud, tmp_path)
    cloud.code_engine.router.mode = "stale_until_mapping_update"
    cloud.code_engine.secrets.put(
        TARGET, "tls", tls_data(new)
    )  # written by someone, never picked up
    assert served_leaf(cloud) == old.leaf.cert

    result = run_job(env)

    assert result.returncode == 0, result.stderr
    assert result.outcomes() == {TARGET: "current"}
    assert [line["domain"] for line in result.events("domain_verified")] == [DOMAIN]
    assert served_leaf(cloud) == new.leaf.cert


def test_a_mapping_that_fails_is_reported_and_fails_the_run(cloud, tmp_path):
    _, _, env = rotated(cloud, tmp_path)
    cloud.code_engine.router.mode = "fail_on_update"

    result = run_job(env)

    assert result.returncode == 1
    [stale] = result.events("domain_stale")
    assert (stale["domain"], stale["target"]) == (DOMAIN, TARGET)
    assert "failed" in stale["reason"]
    [line] = result.events("mapping_failed")
    assert DOMAIN in line["reason"]


def test_a_domain_still_serving_the_old_certificate_after_the_bound_is_stale(cloud, tmp_path):
    old, _, env = rotated(cloud, tmp_path)
    cloud.code_engine.router.propagation_seconds = 60.0
    env["CERTSYNC_VERIFY_TIMEOUT"] = "3"

    result = run_job(env)

    assert result.returncode == 1
    [stale] = result.events("domain_stale")
    assert stale["serial"] is None or stale["serial"] == format(old.leaf.cert.serial_number, "x")


def test_a_certificate_that_does_not_cover_the_domain_is_refused_untouched(cloud, tmp_path):
    old = make_chain(DOMAIN)
    anchors = deploy(cloud, tmp_path, old)
    other = make_chain("api.example.com", ca=(old.root, old.intermediate))
    secret_id = seed_certificate(cloud, other, "web-cert")
    before = cloud.code_engine.secrets.find(TARGET)

    result = run_job(verifying_env(cloud, anchors, secret_id))

    assert result.returncode == 1
    [line] = result.events("certificate_rejected")
    assert f"does not cover domain '{DOMAIN}'" in line["reason"]
    assert cloud.code_engine.secrets.find(TARGET) == before
    assert cloud.requests.entries("PUT", r"/secrets/") == []
    assert served_leaf(cloud) == old.leaf.cert


def test_an_untrusted_chain_is_refused_for_a_mapped_target_and_accepted_for_an_unmapped_one(
    cloud, tmp_path
):
    old = make_chain(DOMAIN)
    anchors = deploy(cloud, tmp_path, old)
    untrusted = make_chain(DOMAIN)  # a root nobody trusts
    secret_id = seed_certificate(cloud, untrusted, "web-cert")
    env = verifying_env(cloud, anchors, secret_id)
    env["CERTSYNC_MAPPINGS"] = (
        f'[{{"secret": "{secret_id}", "target": "{TARGET}"}},'
        f' {{"secret": "{secret_id}", "target": "tls-internal"}}]'
    )
    before = cloud.code_engine.secrets.find(TARGET)

    result = run_job(env)

    assert result.returncode == 1
    assert result.outcomes() == {TARGET: "rejected", "tls-internal": "created"}
    assert "does not verify to a trusted root" in result.events("certificate_rejected")[0]["reason"]
    assert cloud.code_engine.secrets.find(TARGET) == before


def test_a_full_run_with_nothing_to_write_adds_no_api_call_per_domain(cloud, tmp_path):
    _, _, env = rotated(cloud, tmp_path, DOMAIN, "shop.example.com")
    first = run_job(env)
    assert first.returncode == 0, first.stderr
    cloud.requests.clear()

    second = run_job(env)

    assert second.returncode == 0, second.stderr
    assert second.outcomes() == {TARGET: "current"}
    verified = sorted(line["domain"] for line in second.events("domain_verified"))
    assert verified == sorted([DOMAIN, "shop.example.com"])
    mapping_calls = [(r.method, r.path) for r in cloud.requests.entries(path=DOMAIN_MAPPINGS)]
    assert [m for m, _ in mapping_calls] == ["GET"]  # one list per run, whatever the domains


def test_verification_off_is_said_and_nothing_is_checked(cloud, tmp_path):
    _, _, env = rotated(cloud, tmp_path)
    cloud.code_engine.router.mode = "fail_on_update"

    result = run_job({**env, "CERTSYNC_VERIFY": "off"})

    assert result.returncode == 0, result.stderr
    assert result.events("verification_disabled")
    assert domain_lines(result) == []
    assert cloud.requests.entries(path=DOMAIN_MAPPINGS) == []


def test_a_mapping_can_opt_out_of_verification(cloud, tmp_path):
    _, _, env = rotated(cloud, tmp_path)
    cloud.code_engine.router.mode = "fail_on_update"
    secret_id = env["CERTSYNC_MAPPINGS"].split('"secret": "')[1].split('"')[0]
    env["CERTSYNC_MAPPINGS"] = (
        f'[{{"secret": "{secret_id}", "target": "{TARGET}", "verify": false}}]'
    )

    result = run_job(env)

    assert result.returncode == 0, result.stderr
    assert domain_lines(result) == []
