"""The Code Engine router: real TLS handshakes on loopback (SNI), and its modes: a propagation
delay, a secret that is not picked up until the mapping is updated, and mappings that fail."""

from __future__ import annotations

import socket
import ssl
import time

import pytest
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2

from localcloud import LocalCloud
from localcloud.code_engine.router import FAIL, PROPAGATION, STALE
from localcloud.code_engine.tests.support import (
    DOMAIN,
    create_mapping,
    patch_mapping,
    served_leaf,
    settled_mapping,
    tls_secret_data,
    wait_until,
)
from localcloud.pki import Chain, renew

pytestmark = pytest.mark.integration


def refused(cloud: LocalCloud, domain: str, root_pem: str) -> str:
    """The handshake for `domain` fails: the reason the client saw."""
    with pytest.raises(ssl.SSLError) as info:
        served_leaf(cloud, domain, root_pem)
    return str(info.value)


def rotate(ce: CodeEngineV2, pid: str, chain: Chain) -> Chain:
    """Replace the TLS secret `web-tls` with a renewed leaf, as certsync does."""
    renewed = renew(chain)
    ce.replace_secret(
        project_id=pid, name="web-tls", if_match="*", format="tls", data=tls_secret_data(renewed)
    )
    return renewed


@pytest.fixture
def mapped(cloud: LocalCloud, ce: CodeEngineV2, pid: str, web_tls: Chain) -> Chain:
    """DOMAIN mapped to `web-tls`, ready."""
    create_mapping(ce, pid)
    assert settled_mapping(ce, pid).status == "ready"
    return web_tls


def test_the_router_serves_the_secrets_leaf_by_sni(cloud: LocalCloud, mapped: Chain) -> None:
    assert served_leaf(cloud, DOMAIN, mapped.root_pem) == mapped.leaf.cert
    context = ssl.create_default_context(cadata=mapped.root_pem)
    with (
        socket.create_connection((cloud.host, cloud.router_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {DOMAIN}\r\n\r\n".encode())
        assert tls.recv(4096).startswith(b"HTTP/1.1 200 OK\r\n")
    assert "UNRECOGNIZED_NAME" in refused(cloud, "other.example.com", mapped.root_pem)


def test_nothing_is_served_before_ready_nor_after_delete(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, web_tls: Chain
) -> None:
    cloud.code_engine.domain_mappings.ready_seconds = 0.5
    create_mapping(ce, pid)
    assert "UNRECOGNIZED_NAME" in refused(cloud, DOMAIN, web_tls.root_pem)
    assert settled_mapping(ce, pid).status == "ready"
    assert served_leaf(cloud, DOMAIN, web_tls.root_pem) == web_tls.leaf.cert
    ce.delete_domain_mapping(project_id=pid, name=DOMAIN)
    assert "UNRECOGNIZED_NAME" in refused(cloud, DOMAIN, web_tls.root_pem)


def test_propagation_delays_a_replaced_secret(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, mapped: Chain
) -> None:
    router = cloud.code_engine.router
    assert router.mode == PROPAGATION
    router.propagation_seconds = 0.5
    time.sleep(0.5)  # the secret the mapping was made with has propagated
    renewed = rotate(ce, pid, mapped)
    replaced_at = time.monotonic()
    assert served_leaf(cloud, DOMAIN, mapped.root_pem) == mapped.leaf.cert
    assert wait_until(lambda: served_leaf(cloud, DOMAIN, mapped.root_pem) == renewed.leaf.cert)
    assert time.monotonic() - replaced_at >= 0.5


def test_propagation_zero_serves_a_replaced_secret_at_once(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, mapped: Chain
) -> None:
    renewed = rotate(ce, pid, mapped)
    assert served_leaf(cloud, DOMAIN, mapped.root_pem) == renewed.leaf.cert


@pytest.mark.parametrize("per_domain", [False, True])
def test_stale_until_the_mapping_is_updated(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, mapped: Chain, per_domain: bool
) -> None:
    router = cloud.code_engine.router
    if per_domain:
        router.set_mode(STALE, domain=DOMAIN)
    else:
        router.mode = STALE
    cloud.code_engine.domain_mappings.ready_seconds = 0.3
    renewed = rotate(ce, pid, mapped)
    assert served_leaf(cloud, DOMAIN, mapped.root_pem) == mapped.leaf.cert  # knative#14142
    patched = patch_mapping(ce, pid, {"tls_secret": "web-tls"}).get_result()  # a no-op patch
    assert patched["status"] == "deploying"
    assert served_leaf(cloud, DOMAIN, mapped.root_pem) == mapped.leaf.cert  # still rolling out
    assert settled_mapping(ce, pid).status == "ready"
    assert served_leaf(cloud, DOMAIN, mapped.root_pem) == renewed.leaf.cert


def test_a_failing_update_stops_serving_the_domain(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, mapped: Chain
) -> None:
    router = cloud.code_engine.router
    router.set_mode(FAIL, domain=DOMAIN)
    router.fail_reason = "CertificateNotReady"
    assert patch_mapping(ce, pid, {"tls_secret": "web-tls"}).get_result()["status"] == "deploying"
    failed = settled_mapping(ce, pid)
    assert (failed.status, failed.status_details.reason) == ("failed", "CertificateNotReady")
    assert "UNRECOGNIZED_NAME" in refused(cloud, DOMAIN, mapped.root_pem)
    router.set_mode(None, domain=DOMAIN)  # back to the global mode: the next update recovers
    patch_mapping(ce, pid, {"tls_secret": "web-tls"}, if_match=failed.entity_tag)
    assert settled_mapping(ce, pid).status == "ready"
    assert served_leaf(cloud, DOMAIN, mapped.root_pem) == mapped.leaf.cert


def test_a_mapping_created_in_fail_mode_fails(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, web_tls: Chain
) -> None:
    cloud.code_engine.router.mode = FAIL
    create_mapping(ce, pid)
    failed = settled_mapping(ce, pid)
    assert (failed.status, failed.status_details.reason) == ("failed", "IngressNotConfigured")
    assert "UNRECOGNIZED_NAME" in refused(cloud, DOMAIN, web_tls.root_pem)


def test_modes_are_checked(cloud: LocalCloud) -> None:
    router = cloud.code_engine.router
    with pytest.raises(ValueError, match="router mode 'nope'"):
        router.mode = "nope"
    with pytest.raises(ValueError, match="router mode"):
        router.set_mode("nope", domain=DOMAIN)
    assert router.mode_for(DOMAIN) == PROPAGATION


def test_the_router_stops_with_the_cloud() -> None:
    with LocalCloud() as cloud:
        port = cloud.router_port
        assert port > 0
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


def test_handshake_latency_holds_each_connection(cloud: LocalCloud, mapped: Chain) -> None:
    cloud.code_engine.router.handshake_latency = 0.2
    started = time.monotonic()
    assert served_leaf(cloud, DOMAIN, mapped.root_pem) == mapped.leaf.cert
    assert time.monotonic() - started >= 0.2
