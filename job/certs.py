"""Pure certificate handling: build the TLS chain from a Secrets Manager secret and validate it.

`now` is a parameter. A `CertificateRejected` message says what is wrong and with which
certificate (by subject and serial), never the material itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import (
    dsa,
    ec,
    ed448,
    ed25519,
    rsa,
)

from shared.errors import PermanentError

CERT_TYPES = ("imported_cert", "public_cert", "private_cert")
PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | dsa.DSAPrivateKey
)


class CertificateRejected(PermanentError):
    """The certificate in Secrets Manager cannot be served; Code Engine is left untouched."""


@dataclass(frozen=True)
class SourceCertificate:
    """What Secrets Manager holds for one certificate secret."""

    secret_id: str
    name: str
    secret_type: str
    certificate: str
    private_key: str | None = None
    intermediate: str | None = None  # imported_cert, public_cert
    issuing_ca: str | None = None  # private_cert
    ca_chain: tuple[str, ...] = ()  # private_cert
    version: str | None = None  # `job.plan.version_of` its metadata: what changes on rotation


@dataclass(frozen=True)
class TlsBundle:
    """A validated chain (leaf first, no self-signed root) and its matching private key."""

    chain: tuple[x509.Certificate, ...]
    key_pem: str
    key_der: bytes  # PKCS8 DER, for comparisons

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def cert_pem(self) -> str:
        return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in self.chain)

    @property
    def serial(self) -> str:
        return format(self.leaf.serial_number, "x")

    @property
    def not_after(self) -> dt.datetime:
        return self.leaf.not_valid_after_utc


def describe(cert: x509.Certificate) -> str:
    """`CN=www.example.com (serial 1a2b...)`: enough to find the certificate, nothing secret."""
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    subject = f"CN={names[0].value!s}" if names else cert.subject.rfc4514_string() or "no subject"
    return f"{subject} (serial {format(cert.serial_number, 'x')})"


def parse_certificates(pem: str, what: str) -> list[x509.Certificate]:
    """Every certificate in a PEM text; raises CertificateRejected naming `what`."""
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise CertificateRejected(f"{what} holds no PEM certificate")
    try:
        return x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise CertificateRejected(f"{what} is not a valid PEM certificate") from None


def parse_private_key(pem: str | None, what: str) -> tuple[PrivateKey, str, bytes]:
    """The key, as clean PEM text and as PKCS8 DER; rejects missing, encrypted or invalid keys.
    Loading is the costly part, once per key: for RSA, cryptography checks the key's consistency
    (primes included) on every load, ~60-80 ms of CPU for 2048 bits."""
    if not pem or not pem.strip():
        raise CertificateRejected(f"{what} has no private key")
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise CertificateRejected(f"{what} has an encrypted private key") from None
    except ValueError:
        raise CertificateRejected(f"{what} has a private key that is not valid PEM") from None
    if not isinstance(key, PrivateKey):
        raise CertificateRejected(f"{what} has a private key of an unsupported type")
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key, clean_key_pem(pem), der


def clean_key_pem(pem: str) -> str:
    return pem.strip() + "\n"


def build_bundle(source: SourceCertificate, now: dt.datetime) -> TlsBundle:
    """Chain, key and every check, before anything is written anywhere."""
    what = f"secret {source.name!r} ({source.secret_id})"
    if source.secret_type not in CERT_TYPES:
        raise CertificateRejected(
            f"{what} is a {source.secret_type!r} secret; only {', '.join(CERT_TYPES)} can be synced"
        )
    given = parse_certificates(source.certificate, f"{what} certificate")
    leaf, pool = given[0], given[1:]
    for field, pem in _intermediates(source):
        pool += parse_certificates(pem, f"{what} {field}")
    chain = order_chain(leaf, pool, what)
    key, key_pem, key_der = parse_private_key(source.private_key, what)
    check_key_matches(leaf, key, what)
    check_validity(chain, now, what)
    return TlsBundle(chain=chain, key_pem=key_pem, key_der=key_der)


def _intermediates(source: SourceCertificate) -> list[tuple[str, str]]:
    """(field, PEM) of each certificate besides the leaf."""
    if source.secret_type != "private_cert":
        return [("intermediate", source.intermediate)] if source.intermediate else []
    fields = [(f"ca_chain[{i}]", pem) for i, pem in enumerate(source.ca_chain)]
    return fields + ([("issuing_ca", source.issuing_ca)] if source.issuing_ca else [])


def order_chain(
    leaf: x509.Certificate, pool: list[x509.Certificate], what: str
) -> tuple[x509.Certificate, ...]:
    """Leaf first, then each certificate's issuer from `pool`; self-signed roots and duplicates
    are dropped. A pool certificate that does not fit the path from the leaf means the chain
    belongs to something else: rejected."""
    unique = list(dict.fromkeys(c for c in pool if not _self_signed(c) and c != leaf))
    chain = [leaf]
    while unique:
        issuer = next((c for c in unique if _issued_by(chain[-1], c)), None)
        if issuer is None:
            break
        chain.append(issuer)
        unique.remove(issuer)
    if unique:
        strays = ", ".join(describe(c) for c in unique)
        raise CertificateRejected(
            f"{what}: the chain is broken; {describe(chain[-1])} is not issued by {strays}"
        )
    return tuple(chain)


def check_key_matches(leaf: x509.Certificate, key: PrivateKey, what: str) -> None:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != leaf.public_key().public_bytes(der, spki):
        raise CertificateRejected(f"{what}: the private key does not match {describe(leaf)}")


def check_validity(chain: tuple[x509.Certificate, ...], now: dt.datetime, what: str) -> None:
    for cert in chain:
        role = "certificate" if cert is chain[0] else "intermediate"
        if now < cert.not_valid_before_utc:
            raise CertificateRejected(
                f"{what}: {role} {describe(cert)} is not valid before "
                f"{cert.not_valid_before_utc.isoformat()}"
            )
        if now > cert.not_valid_after_utc:
            raise CertificateRejected(
                f"{what}: {role} {describe(cert)} expired at {cert.not_valid_after_utc.isoformat()}"
            )


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer and _issued_by(cert, cert)
