"""Pure planning: given a validated bundle and what Code Engine holds, decide what to do."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cryptography import x509

from job.certs import CertificateRejected, TlsBundle, parse_certificates, parse_private_key


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


def plan(bundle: TlsBundle, current: CurrentTarget | None) -> Plan:
    if current is None:
        return Plan(Action.CREATE, "the Code Engine secret does not exist")
    if current.format != "tls":
        return Plan(
            Action.REFUSE,
            f"Code Engine secret {current.name!r} has format {current.format!r}, not 'tls'",
        )
    held = _read_current(current)
    if held is None:
        return Plan(
            Action.REPLACE,
            "the Code Engine secret holds no readable certificate and key",
            if_match=current.entity_tag,
        )
    chain, key_der = held
    serial = format(chain[0].serial_number, "x")
    not_after = chain[0].not_valid_after_utc
    facts = {"current_serial": serial, "current_not_after": not_after.isoformat()}
    if tuple(chain) == bundle.chain and key_der == bundle.key_der:
        return Plan(Action.NOTHING, "the Code Engine secret is current", **facts)
    if not_after > bundle.not_after:
        return Plan(
            Action.REFUSE,
            f"Code Engine secret {current.name!r} holds a certificate expiring later "
            f"({not_after.isoformat()}) than the one in Secrets Manager "
            f"({bundle.not_after.isoformat()}); refusing to downgrade",
            **facts,
        )
    return Plan(
        Action.REPLACE,
        "the Code Engine secret holds a different certificate",
        if_match=current.entity_tag,
        **facts,
    )


def _read_current(current: CurrentTarget) -> tuple[list[x509.Certificate], bytes] | None:
    """The chain and key Code Engine holds, or None when they are missing or unreadable."""
    if not current.tls_cert or not current.tls_key:
        return None
    try:
        chain = parse_certificates(current.tls_cert, "current")
        _, key_der = parse_private_key(current.tls_key, "current")
    except CertificateRejected:
        return None
    return chain, key_der
