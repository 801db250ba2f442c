"""The certificate checks of domain mappings: the name, the dates, the chain to a trusted root;
on create and on every update."""

from __future__ import annotations

import datetime as dt

import pytest
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2, DomainMapping

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import (
    DOMAIN,
    api_error,
    create_mapping,
    patch_mapping,
    settled_mapping,
    tls_secret_data,
)
from localcloud.pki import Chain, issue, make_chain

pytestmark = pytest.mark.integration


def _bad_certificates(chain: Chain) -> dict[str, tuple[str, dict[str, str], str]]:
    """case -> (domain, TLS secret data, what the message says)."""
    now = dt.datetime.now(dt.UTC)
    ca = (chain.root, chain.intermediate)
    expired = make_chain(
        DOMAIN, ca=ca, not_before=now - dt.timedelta(days=90), not_after=now - dt.timedelta(days=1)
    )
    future = make_chain(DOMAIN, ca=ca, not_before=now + dt.timedelta(days=1))
    selfsigned = issue(DOMAIN)
    wildcard = make_chain("*.example.com", ca=ca)
    return {
        "other name": (DOMAIN, tls_secret_data(make_chain("shop.example.com", ca=ca)), "cover"),
        "wildcard, two labels": ("a.b.example.com", tls_secret_data(wildcard), "cover"),
        "wildcard, apex": ("example.com", tls_secret_data(wildcard), "cover"),
        "expired": (DOMAIN, tls_secret_data(expired), "expired"),
        "not yet valid": (DOMAIN, tls_secret_data(future), "not valid before"),
        "self-signed": (
            DOMAIN,
            {"tls_cert": selfsigned.cert_pem, "tls_key": selfsigned.key_pem},
            "self-signed",
        ),
        "untrusted CA": (DOMAIN, tls_secret_data(make_chain(DOMAIN)), "trusted"),
        "no intermediate": (
            DOMAIN,
            {"tls_cert": chain.leaf_pem, "tls_key": chain.key_pem},
            "incomplete",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "other name",
        "wildcard, two labels",
        "wildcard, apex",
        "expired",
        "not yet valid",
        "self-signed",
        "untrusted CA",
        "no intermediate",
    ],
)
def test_certificates_are_checked_on_create(
    ce: CodeEngineV2, pid: str, web_tls: Chain, case: str
) -> None:
    domain, data, says = _bad_certificates(web_tls)[case]
    ce.create_secret(project_id=pid, format="tls", name="bad-tls", data=data)
    error = api_error(create_mapping, ce, pid, name=domain, secret="bad-tls")
    assert error.status_code == 400
    assert says in error.message
    assert "'bad-tls'" in error.message
    assert "BEGIN" not in error.message


def test_a_wildcard_covers_one_label(ce: CodeEngineV2, pid: str, web_tls: Chain) -> None:
    wildcard = make_chain("*.example.com", ca=(web_tls.root, web_tls.intermediate))
    ce.create_secret(project_id=pid, format="tls", name="wild", data=tls_secret_data(wildcard))
    assert create_mapping(ce, pid, name="shop.example.com", secret="wild").get_status_code() == 201


def test_the_whole_chain_up_to_the_root_is_accepted(
    ce: CodeEngineV2, pid: str, web_tls: Chain
) -> None:
    bundle = web_tls.leaf_pem + web_tls.intermediate_pem + web_tls.root_pem
    full = {"tls_cert": bundle, "tls_key": web_tls.key_pem}
    ce.create_secret(project_id=pid, format="tls", name="full", data=full)
    assert create_mapping(ce, pid, secret="full").get_status_code() == 201


def test_no_root_is_trusted_unless_given(ce: CodeEngineV2, pid: str, cloud: LocalCloud) -> None:
    chain = make_chain(DOMAIN)
    cloud.code_engine.apps.seed("web-app")
    ce.create_secret(project_id=pid, format="tls", name="web-tls", data=tls_secret_data(chain))
    error = api_error(create_mapping, ce, pid)
    assert (error.status_code, "trusts no certificate authority" in error.message) == (400, True)
    cloud.code_engine.domain_mappings.trust_root(chain.root.cert)
    assert create_mapping(ce, pid).get_status_code() == 201


@pytest.mark.usefixtures("web_tls")
def test_an_update_rechecks_the_certificate_and_changes_nothing_when_refused(
    ce: CodeEngineV2, pid: str, cloud: LocalCloud
) -> None:
    create_mapping(ce, pid)
    before = settled_mapping(ce, pid)
    cloud.code_engine.clock.advance(dt.timedelta(days=365))  # past the leaf's 90 days
    error = api_error(patch_mapping, ce, pid, {"tls_secret": "web-tls"}, before.entity_tag)
    assert error.status_code == 400
    assert "expired" in error.message
    after = ce.get_domain_mapping(project_id=pid, name=DOMAIN).get_result()
    assert DomainMapping.from_dict(after) == before


@pytest.mark.usefixtures("web_tls")
def test_a_secret_replaced_with_another_name_is_refused_on_the_next_update(
    ce: CodeEngineV2, pid: str, web_tls: Chain
) -> None:
    create_mapping(ce, pid)
    other = make_chain("shop.example.com", ca=(web_tls.root, web_tls.intermediate))
    ce.replace_secret(
        project_id=pid, name="web-tls", if_match="*", format="tls", data=tls_secret_data(other)
    )
    error = api_error(patch_mapping, ce, pid, {"tls_secret": "web-tls"})
    assert error.status_code == 400
    assert "does not cover domain 'www.example.com'" in error.message
