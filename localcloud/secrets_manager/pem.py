"""PEM validation and certificate metadata as Secrets Manager derives it from the stored PEM.

Formats follow real responses: `serial_number` is the serial's big-endian bytes as lowercase hex
pairs joined by `:` (e.g. `d3:c7:2c:e9:e2:ee:c3:bf`), `key_algorithm` is `RSA2048` / `EC256`,
`signing_algorithm` uses Go's names (`SHA256-RSA`, `ECDSA-SHA256`), `issuer` is the issuer's CN.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from localcloud.http import BadRequest

_SIGNING_NAMES = {
    SignatureAlgorithmOID.RSA_WITH_SHA1: "SHA1-RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA256: "SHA256-RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA384: "SHA384-RSA",
    SignatureAlgorithmOID.RSA_WITH_SHA512: "SHA512-RSA",
    SignatureAlgorithmOID.ECDSA_WITH_SHA1: "ECDSA-SHA1",
    SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ECDSA-SHA256",
    SignatureAlgorithmOID.ECDSA_WITH_SHA384: "ECDSA-SHA384",
    SignatureAlgorithmOID.ECDSA_WITH_SHA512: "ECDSA-SHA512",
    SignatureAlgorithmOID.ED25519: "Ed25519",
}


@dataclass(frozen=True)
class CertInfo:
    """What the service derives from a leaf certificate."""

    serial_number: str
    not_before: dt.datetime
    not_after: dt.datetime
    common_name: str | None
    alt_names: list[str]
    issuer: str
    key_algorithm: str
    signing_algorithm: str

    @property
    def domains(self) -> list[str]:
        if self.alt_names:
            return list(self.alt_names)
        return [self.common_name] if self.common_name else []


def _invalid(field: str, why: str) -> BadRequest:
    # Real code/message text unknown; the status (400) is what the service documents.
    return BadRequest(f"Invalid {field}: {why}", code="bad_request")


def parse_certificates(pem: object, field: str) -> list[x509.Certificate]:
    """One or more PEM certificates and nothing else (stricter than a lenient PEM reader)."""
    if not isinstance(pem, str) or "-----BEGIN CERTIFICATE-----" not in pem:
        raise _invalid(field, "not a PEM-encoded certificate")
    body = pem.strip()
    if not body.startswith("-----BEGIN CERTIFICATE-----") or not body.endswith(
        "-----END CERTIFICATE-----"
    ):
        raise _invalid(field, "unexpected data around the PEM block")
    try:
        return x509.load_pem_x509_certificates(body.encode())
    except ValueError:
        raise _invalid(field, "the PEM block cannot be parsed as an X.509 certificate") from None


def parse_certificate(pem: object, field: str = "certificate") -> x509.Certificate:
    certs = parse_certificates(pem, field)
    if len(certs) != 1:
        raise _invalid(field, "expected exactly one certificate")
    return certs[0]


def parse_private_key(pem: object, field: str = "private_key") -> PrivateKeyTypes:
    if not isinstance(pem, str) or "PRIVATE KEY-----" not in pem:
        raise _invalid(field, "not a PEM-encoded private key")
    try:
        return serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except TypeError:
        raise _invalid(field, "encrypted private keys are not supported") from None
    except (ValueError, UnsupportedAlgorithm):
        raise _invalid(field, "the PEM block cannot be parsed as a private key") from None


def _spki(key: object) -> bytes:
    assert hasattr(key, "public_bytes")
    return bytes(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def check_key_matches(cert: x509.Certificate, key: PrivateKeyTypes) -> None:
    if _spki(cert.public_key()) != _spki(key.public_key()):
        raise BadRequest(
            "Invalid private_key: the private key does not match the certificate",
            code="bad_request",
        )


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when `issuer`'s subject and key produced `cert`'s signature."""
    if cert.issuer != issuer.subject:
        return False
    public = issuer.public_key()
    hash_alg = cert.signature_hash_algorithm
    try:
        if isinstance(public, rsa.RSAPublicKey) and hash_alg is not None:
            public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hash_alg)
        elif isinstance(public, ec.EllipticCurvePublicKey) and hash_alg is not None:
            public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hash_alg))
        elif isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(cert.signature, cert.tbs_certificate_bytes)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def check_chain(cert: x509.Certificate, chain: list[x509.Certificate], field: str) -> None:
    """The first certificate of `chain` must have issued `cert` (stricter choice; see report)."""
    if not issued_by(cert, chain[0]):
        raise _invalid(field, "the certificate was not issued by the given intermediate")


def serial_hex(serial: int) -> str:
    raw = serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big")
    return ":".join(f"{b:02x}" for b in raw)


def _cn(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def _alt_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return names


def key_algorithm(cert: x509.Certificate) -> str:
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return f"RSA{public.key_size}"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"EC{public.curve.key_size}"
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "ED25519"
    return "UNKNOWN"


def cert_info(cert: x509.Certificate) -> CertInfo:
    return CertInfo(
        serial_number=serial_hex(cert.serial_number),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        common_name=_cn(cert.subject),
        alt_names=_alt_names(cert),
        issuer=_cn(cert.issuer) or cert.issuer.rfc4514_string(),
        key_algorithm=key_algorithm(cert),
        signing_algorithm=_SIGNING_NAMES.get(
            cert.signature_algorithm_oid, cert.signature_algorithm_oid.dotted_string
        ),
    )
