import datetime as dt

import pytest

from job.certs import CertificateRejected, build_bundle
from tests.builders import source_certificate
from tests.pki import CA, issue, make_chain, new_key

NOW = dt.datetime.now(dt.UTC)


def imported(chain=None, **changes):
    """An imported certificate from `chain` (a new one by default), and the chain."""
    chain = chain or make_chain()
    return source_certificate(chain, **changes), chain


def test_imported_chain_is_leaf_then_intermediate():
    source, chain = imported()
    bundle = build_bundle(source, NOW)
    assert bundle.chain == (chain.leaf.cert, chain.intermediate.cert)
    assert bundle.serial == chain.serial_hex
    assert bundle.cert_pem.count("BEGIN CERTIFICATE") == 2


def test_self_signed_root_in_intermediate_is_dropped():
    chain = make_chain()
    source, _ = imported(chain, intermediate=chain.intermediate_pem + chain.root_pem)
    assert build_bundle(source, NOW).chain == (chain.leaf.cert, chain.intermediate.cert)


def test_intermediates_out_of_order_are_put_in_order():
    root = issue("root", profile=CA)
    upper = issue("upper", issuer=root, profile=CA)
    lower = issue("lower", issuer=upper, profile=CA)
    leaf = issue("www.example.com", issuer=lower)
    source, _ = imported(
        certificate=leaf.cert_pem,
        private_key=leaf.key_pem,
        intermediate=upper.cert_pem + lower.cert_pem,
    )
    assert build_bundle(source, NOW).chain == (leaf.cert, lower.cert, upper.cert)


def test_certificate_field_carrying_its_chain_is_accepted():
    chain = make_chain()
    source, _ = imported(
        chain, certificate=chain.leaf_pem + chain.intermediate_pem, intermediate=None
    )
    assert build_bundle(source, NOW).chain == (chain.leaf.cert, chain.intermediate.cert)


def test_public_cert_uses_intermediate():
    source, chain = imported(secret_type="public_cert")
    assert build_bundle(source, NOW).chain[1] == chain.intermediate.cert


def test_private_cert_uses_ca_chain_without_root_and_without_duplicates():
    chain = make_chain()
    source, _ = imported(
        chain,
        secret_type="private_cert",
        intermediate=None,
        issuing_ca=chain.intermediate_pem,
        ca_chain=(chain.intermediate_pem, chain.root_pem),
    )
    assert build_bundle(source, NOW).chain == (chain.leaf.cert, chain.intermediate.cert)


def test_private_cert_with_only_issuing_ca():
    chain = make_chain()
    source, _ = imported(
        chain, secret_type="private_cert", intermediate=None, issuing_ca=chain.intermediate_pem
    )
    assert build_bundle(source, NOW).chain == (chain.leaf.cert, chain.intermediate.cert)


def test_mismatched_key_is_rejected_without_material():
    source, _ = imported(private_key=make_chain().key_pem)
    with pytest.raises(CertificateRejected, match="private key does not match") as info:
        build_bundle(source, NOW)
    assert "BEGIN" not in str(info.value)


def test_missing_key_is_rejected():
    source, _ = imported(private_key=None)
    with pytest.raises(CertificateRejected, match="has no private key"):
        build_bundle(source, NOW)


def test_garbage_key_is_rejected():
    source, _ = imported(
        private_key="-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(CertificateRejected, match="not valid PEM"):
        build_bundle(source, NOW)


def test_garbage_certificate_is_rejected():
    source, _ = imported(certificate="hello")
    with pytest.raises(CertificateRejected, match="holds no PEM certificate"):
        build_bundle(source, NOW)


def test_expired_leaf_is_rejected():
    past = NOW - dt.timedelta(days=30)
    chain = make_chain(not_before=past - dt.timedelta(days=90), not_after=past)
    source, _ = imported(chain)
    with pytest.raises(CertificateRejected, match="expired at"):
        build_bundle(source, NOW)


def test_not_yet_valid_leaf_is_rejected():
    chain = make_chain(not_before=NOW + dt.timedelta(days=1))
    source, _ = imported(chain)
    with pytest.raises(CertificateRejected, match="not valid before"):
        build_bundle(source, NOW)


def test_intermediate_from_another_ca_is_rejected():
    source, _ = imported(intermediate=make_chain().intermediate_pem)
    with pytest.raises(CertificateRejected, match="chain is broken"):
        build_bundle(source, NOW)


def test_arbitrary_secret_is_rejected():
    source, _ = imported(secret_type="arbitrary")
    with pytest.raises(CertificateRejected, match="only imported_cert"):
        build_bundle(source, NOW)


def test_rsa_keys_work():
    key = new_key("rsa")
    root = issue("root", profile=CA)
    inter = issue("inter", issuer=root, profile=CA)
    leaf = issue("rsa.example.com", issuer=inter, key=key)
    source, _ = imported(
        certificate=leaf.cert_pem, private_key=leaf.key_pem, intermediate=inter.cert_pem
    )
    assert build_bundle(source, NOW).leaf == leaf.cert
