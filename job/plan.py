"""Pure planning: given a validated bundle and what Code Engine holds, decide what to do.

"Newer" is judged by issuance, then expiry: a legitimate re-issue (a new CA, a re-key after a
compromise, a shorter profile) can expire earlier than the certificate it replaces, yet is issued
later. A candidate issued earlier than what Code Engine holds (or issued at the same time and
expiring earlier) is a downgrade: refused, unless a person asked for a rollback.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from cryptography import x509

from job.certs import (
    CertificateRejected,
    TlsBundle,
    clean_key_pem,
    parse_certificates,
    parse_private_key,
)


@dataclass(frozen=True)
class CurrentTarget:
    """A Code Engine secret as read: its format, entity tag and TLS data (if any)."""

    name: str
    entity_tag: str
    format: str
    tls_cert: str | None = None
    tls_key: str | None = None


class Action(enum.Enum):
    CREATE = "create"
    REPLACE = "replace"
    NOTHING = "nothing"  # already current
    REFUSE = "refuse"  # a write would be wrong (downgrade, not a TLS secret)


@dataclass(frozen=True)
class Plan:
    action: Action
    reason: str
    if_match: str | None = None  # the entity tag a REPLACE must carry
    current_serial: str | None = None
    current_not_after: str | None = None
    rollback: bool = False  # a REPLACE with an older certificate, allowed on purpose


def plan(bundle: TlsBundle, current: CurrentTarget | None, *, allow_rollback: bool = False) -> Plan:
    if current is None:
        return Plan(Action.CREATE, "the Code Engine secret does not exist")
    if current.format != "tls":
        return Plan(
            Action.REFUSE,
            f"Code Engine secret {current.name!r} has format {current.format!r}, not 'tls'",
        )
    held = _read_current(current, bundle)
    if held is None:
        return Plan(
            Action.REPLACE,
            "the Code Engine secret holds no readable certificate and key",
            if_match=current.entity_tag,
        )
    chain, key_der = held
    leaf = chain[0]
    serial, not_after = format(leaf.serial_number, "x"), leaf.not_valid_after_utc.isoformat()
    if tuple(chain) == bundle.chain and key_der == bundle.key_der:
        return Plan(
            Action.NOTHING,
            "the Code Engine secret is current",
            current_serial=serial,
            current_not_after=not_after,
        )
    if _age(bundle.leaf) < _age(leaf):
        return _downgrade(bundle, current, leaf, allow_rollback=allow_rollback)
    return Plan(
        Action.REPLACE,
        "the Code Engine secret holds a different certificate",
        if_match=current.entity_tag,
        current_serial=serial,
        current_not_after=not_after,
    )


def _downgrade(
    bundle: TlsBundle, current: CurrentTarget, leaf: x509.Certificate, *, allow_rollback: bool
) -> Plan:
    """Code Engine holds a newer certificate: refused, or replaced when a person asked."""
    held, candidate = _dates(leaf), _dates(bundle.leaf)
    serial, not_after = format(leaf.serial_number, "x"), leaf.not_valid_after_utc.isoformat()
    if allow_rollback:
        return Plan(
            Action.REPLACE,
            f"rolling back on request (--allow-rollback): Code Engine secret {current.name!r} "
            f"holds a newer certificate ({held}) than Secrets Manager ({candidate})",
            if_match=current.entity_tag,
            rollback=True,
            current_serial=serial,
            current_not_after=not_after,
        )
    return Plan(
        Action.REFUSE,
        f"Code Engine secret {current.name!r} holds a newer certificate ({held}) than the one in "
        f"Secrets Manager ({candidate}); refusing to downgrade (a person can roll back with "
        "`python -m job --secret <id> --allow-rollback`)",
        current_serial=serial,
        current_not_after=not_after,
    )


def _dates(cert: x509.Certificate) -> str:
    return (
        f"issued {cert.not_valid_before_utc.isoformat()}, "
        f"expiring {cert.not_valid_after_utc.isoformat()}"
    )


def _age(cert: x509.Certificate) -> tuple[dt.datetime, dt.datetime]:
    """What "newer" means: issued later, then (for the same issuance) expiring later."""
    return cert.not_valid_before_utc, cert.not_valid_after_utc


def _read_current(
    current: CurrentTarget, bundle: TlsBundle
) -> tuple[list[x509.Certificate], bytes] | None:
    """The chain and key Code Engine holds, or None when they are missing or unreadable.

    A key with the same PEM text as the bundle's is the bundle's key, already loaded and checked:
    it is not loaded again (for RSA, each load costs tens of ms of CPU)."""
    if not current.tls_cert or not current.tls_key:
        return None
    try:
        chain = parse_certificates(current.tls_cert, "current")
        if clean_key_pem(current.tls_key) == bundle.key_pem:
            key_der = bundle.key_der
        else:
            _, key_der = parse_private_key(current.tls_key, "current")
    except CertificateRejected:
        return None
    return chain, key_der
