import datetime as dt

import pytest

from job.certs import CertificateRejected, SourceCertificate, TlsBundle, build_bundle
from job.domains import check_names, check_trusted, dns_names, name_covers
from tests.pki import Chain, issue, make_chain

NOW = dt.datetime.now(dt.UTC)


def bundle(domain: str = "www.example.com", sans: tuple[str, ...] = ()) -> tuple[TlsBundle, Chain]:
    chain = make_chain(domain)
    if sans:
        leaf = issue(domain, issuer=chain.intermediate, sans=sans)
        certificate, key = leaf.cert_pem, leaf.key_pem
    else:
        certificate, key = chain.leaf_pem, chain.key_pem
    source = SourceCertificate(
        "id-1", "web", "imported_cert", certificate, key, chain.intermediate_pem
    )
    return build_bundle(source, NOW), chain


@pytest.mark.parametrize(
    ("pattern", "domain", "covered"),
    [
        ("www.example.com", "www.example.com", True),
        ("www.example.com", "WWW.Example.com.", True),
        ("www.example.com", "example.com", False),
        ("*.example.com", "www.example.com", True),
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", "www.example.org", False),
        ("*.example.com", "*.example.com", False),
    ],
)
def test_name_matching_follows_the_browsers(pattern, domain, covered):
    assert name_covers(pattern, domain) is covered


def test_names_come_from_the_subject_alternative_name():
    built, _ = bundle("www.example.com", sans=("www.example.com", "*.api.example.com"))
    assert dns_names(built.leaf) == ["www.example.com", "*.api.example.com"]


def test_every_mapped_domain_must_be_covered():
    built, _ = bundle("www.example.com", sans=("www.example.com", "*.api.example.com"))
    check_names(built, ["www.example.com", "v1.api.example.com"], "secret 'web'")

    with pytest.raises(CertificateRejected, match=r"does not cover domain 'shop\.example\.com'"):
        check_names(built, ["www.example.com", "shop.example.com"], "secret 'web'")


def test_a_chain_to_a_trusted_root_verifies_for_the_domain():
    built, chain = bundle()
    check_trusted(built, ["www.example.com"], [chain.root.cert], NOW, "secret 'web'")


def test_a_chain_to_an_unknown_root_is_rejected_naming_the_domain():
    built, _ = bundle()
    other_root = make_chain().root.cert

    with pytest.raises(CertificateRejected, match=r"for domain 'www\.example\.com'") as info:
        check_trusted(built, ["www.example.com"], [other_root], NOW, "secret 'web'")
    assert "publicly trusted CA" in str(info.value)
    assert "BEGIN" not in str(info.value)


def test_a_chain_without_its_intermediate_does_not_verify():
    built, chain = bundle()
    leaf_only = TlsBundle(chain=built.chain[:1], key_pem=built.key_pem, key_der=built.key_der)

    with pytest.raises(CertificateRejected, match="does not verify"):
        check_trusted(leaf_only, ["www.example.com"], [chain.root.cert], NOW, "secret 'web'")
