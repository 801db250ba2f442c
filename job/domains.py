"""Pure checks of a certificate against the custom domains it will be served on.

Code Engine accepts for a domain mapping only a certificate from a publicly trusted CA, with the
whole chain, whose names cover the domain (`domainmappings.md`); it checks that when a mapping is
created, not when its secret is replaced. certsync checks it before every write: the names (the
subjectAltName dNSNames, as browsers match them: exact, or a wildcard standing for exactly one
leftmost label), then the chain, verified for that name with `cryptography`'s X.509 verification
against the public roots (`certifi`) plus any extra trust anchors. No I/O; `now` is a parameter.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from job.certs import CertificateRejected, TlsBundle, describe


def dns_names(cert: x509.Certificate) -> list[str]:
    """The certificate's subjectAltName dNSNames, lower-case (browsers ignore the CN)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [name.lower().rstrip(".") for name in san.get_values_for_type(x509.DNSName)]


def name_covers(pattern: str, domain: str) -> bool:
    """`www.example.com` covers itself; `*.example.com` covers `www.example.com`, not
    `example.com` nor `a.b.example.com` (RFC 6125 6.4.3, as browsers apply it)."""
    domain = domain.lower().rstrip(".")
    if not pattern.startswith("*."):
        return pattern == domain
    label, _, parent = domain.partition(".")
    return bool(label) and label != "*" and parent == pattern[2:]


def check_names(bundle: TlsBundle, domains: Sequence[str], what: str) -> None:
    """Every domain is covered by the leaf's names; else rejected, naming the domain."""
    names = dns_names(bundle.leaf)
    for domain in domains:
        if not any(name_covers(name, domain) for name in names):
            listed = ", ".join(names) or "none"
            raise CertificateRejected(
                f"{what}: {describe(bundle.leaf)} does not cover domain {domain!r} "
                f"(its names: {listed})"
            )


def check_trusted(
    bundle: TlsBundle, domains: Sequence[str], roots: Sequence[x509.Certificate], now: dt.datetime,
    what: str,
) -> None:  # fmt: skip
    """The chain verifies to one of `roots` for every domain; else rejected, naming the domain."""
    store = Store(list(roots))
    for domain in domains:
        verifier = (
            PolicyBuilder().store(store).time(now).build_server_verifier(x509.DNSName(domain))
        )
        try:
            verifier.verify(bundle.leaf, list(bundle.chain[1:]))
        except VerificationError as exc:
            raise CertificateRejected(
                f"{what}: the chain of {describe(bundle.leaf)} does not verify to a trusted root "
                f"for domain {domain!r} ({_first_line(exc)}); Code Engine custom domains need a "
                "publicly trusted CA"
            ) from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def public_roots() -> tuple[x509.Certificate, ...]:
    """The maintained public root store (certifi's copy of Mozilla's)."""
    with warnings.catch_warnings():
        # One of Mozilla's roots has a negative serial number, which cryptography warns about.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return tuple(x509.load_pem_x509_certificates(Path(certifi.where()).read_bytes()))
