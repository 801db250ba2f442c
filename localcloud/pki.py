"""Real X.509 chains (root, intermediate, leaf) made with cryptography: what the demo, the bench
and the tests import into the local Secrets Manager."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_key(kind: str = "ec") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def cert_pem(self) -> str:
        return cert_pem(self.cert)

    @property
    def key_pem(self) -> str:
        return key_pem(self.key)


@dataclass(frozen=True)
class Profile:
    """What kind of certificate, and for how long: a CA or a leaf, valid from `not_before`
    (default: an hour ago) for `days`, or until `not_after`."""

    ca: bool = False
    days: int = 90
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None


LEAF = Profile()
CA = Profile(ca=True)


def issue(
    common_name: str,
    *,
    issuer: Issued | None = None,
    key: PrivateKey | None = None,
    sans: tuple[str, ...] = (),
    profile: Profile = LEAF,
) -> Issued:
    """Issue a certificate; self-signed when `issuer` is None."""
    ca = profile.ca
    key = key or new_key()
    start = profile.not_before or (_now() - dt.timedelta(hours=1))
    end = profile.not_after or (start + dt.timedelta(days=profile.days))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    issuer_name = issuer.cert.subject if issuer else subject
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True)
    names = sans or (() if ca else (common_name,))
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    return Issued(builder.sign(signing_key, hashes.SHA256()), key)


@dataclass(frozen=True)
class Chain:
    root: Issued
    intermediate: Issued
    leaf: Issued

    @property
    def leaf_pem(self) -> str:
        return self.leaf.cert_pem

    @property
    def key_pem(self) -> str:
        return self.leaf.key_pem

    @property
    def intermediate_pem(self) -> str:
        return self.intermediate.cert_pem

    @property
    def root_pem(self) -> str:
        return self.root.cert_pem

    @property
    def serial_hex(self) -> str:
        return format(self.leaf.cert.serial_number, "x")


def make_chain(
    domain: str = "www.example.com",
    *,
    days: int = 90,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    ca: tuple[Issued, Issued] | None = None,
) -> Chain:
    """A leaf for `domain` under a fresh (or given) root and intermediate."""
    if ca is None:
        root = issue("certsync test root CA", profile=Profile(ca=True, days=3650))
        intermediate = issue(
            "certsync test intermediate CA", issuer=root, profile=Profile(ca=True, days=1825)
        )
    else:
        root, intermediate = ca
    leaf = issue(domain, issuer=intermediate, profile=Profile(False, days, not_before, not_after))
    return Chain(root, intermediate, leaf)


def renew(
    chain: Chain,
    *,
    days: int = 90,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Chain:
    """A new leaf (new key, new serial) under the same CA, as a rotation produces."""
    domain = chain.leaf.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    return make_chain(
        str(domain),
        days=days,
        not_before=not_before,
        not_after=not_after,
        ca=(chain.root, chain.intermediate),
    )
