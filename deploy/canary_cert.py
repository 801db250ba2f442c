"""The canary's certificate: self-signed, short-lived, a new key and serial every time. Pure."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LIFETIME = dt.timedelta(days=7)  # long enough for the canary's job to accept it, short if it leaks
SKEW = dt.timedelta(minutes=5)  # valid from a little before now: clocks differ between services


def make(name: str, now: dt.datetime | None = None) -> tuple[str, str]:
    """(certificate PEM, private key PEM) for `<name>.certsync.invalid`, which nothing serves."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    key = ec.generate_private_key(ec.SECP256R1())
    host = f"{name}.certsync.invalid"  # RFC 2606: .invalid never resolves
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - SKEW)
        .not_valid_after(now + LIFETIME)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def serial(cert_pem: str) -> str:
    """The leaf's serial as bare lowercase hex, as the job writes it in its logs."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return format(cert.serial_number, "x")


def is_canary(cert_pem: str, name: str) -> bool:
    """Whether `cert_pem`'s leaf is a canary certificate `make(name)` made (`destroy` asks)."""
    try:
        cert = x509.load_pem_x509_certificates(cert_pem.encode())[0]
    except (ValueError, IndexError):
        return False
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return [n.value for n in names] == [f"{name}.certsync.invalid"]
