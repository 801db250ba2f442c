"""Pure planning: whether a target needs reading at all, and given a validated bundle and what
Code Engine holds, what to do.

A target is current without reading either side (`Snapshot.outcome`) when all of these hold,
else both are read:
- the status record says the last run left it in sync (`created`, `updated`, `current`) from the
  same secret;
- the secret's list metadata (`VERSION_FIELDS`) equals what that run fetched;
- the target's entity tag in Code Engine's secret list equals the one that run wrote or read:
  any change by hand gives the secret a new tag;
- every certificate of the chain that run wrote is still valid now.
Targets that custom domains serve are always read (their names and trust are checked against
the domains of today); `job.sync` decides that.

"Newer" is judged by issuance, then expiry: a legitimate re-issue (a new CA, a re-key after a
compromise, a shorter profile) can expire earlier than the certificate it replaces, yet is issued
later. A candidate issued earlier than what Code Engine holds (or issued at the same time and
expiring earlier) is a downgrade: refused, unless a person asked for a rollback.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from job.certs import (
    CertificateRejected,
    TlsBundle,
    clean_key_pem,
    parse_certificates,
    parse_private_key,
)
from job.mappings import SecretMapping
from job.status import Outcome, Record, Result

# The list metadata that changes whenever what `get_secret` returns can change: every rotation
# (a new leaf, or a new intermediate under the same leaf) adds a version (`versions_total`) and
# moves `updated_at`; the serial and expiry name the leaf. (SecretMetadata in the SDK's models.)
VERSION_FIELDS = ("versions_total", "updated_at", "serial_number", "expiration_date")
UNCHANGED = (
    "unchanged since the last run: the secret in Secrets Manager has the same version and the "
    "Code Engine secret the same entity tag"
)


def version_of(metadata: Mapping[str, Any]) -> str | None:
    """A fingerprint of a secret's state from its metadata (a list item or the secret itself);
    None when a field is missing, so nothing is ever skipped on a guess."""
    values = [metadata.get(f) for f in VERSION_FIELDS]
    if any(v is None or v == "" for v in values):
        return None
    return "/".join(str(v) for v in values)


@dataclass(frozen=True)
class Snapshot:
    """What one run knows before reading any single secret: the status record, the list metadata
    of certificate secrets (by id), and the entity tags of TLS secrets per (project, region)."""

    record: Record
    sources: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    tags: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)

    def outcome(self, mapping: SecretMapping, now: dt.datetime) -> Outcome | None:
        """A `current` outcome for a target that needs no read, else None (read it)."""
        status = self.record.get(mapping.key)
        meta = self.sources.get(mapping.secret_id)
        tag = self.tags.get((mapping.project, mapping.region), {}).get(mapping.target)
        if status is None or meta is None or tag is None:
            return None
        version = version_of(meta)
        if (
            not status.in_sync
            or status.secret_id != mapping.secret_id
            or version is None
            or status.source_version != version
            or status.entity_tag != tag
            or status.valid_until is None
            or now >= dt.datetime.fromisoformat(status.valid_until)
        ):
            return None
        return Outcome(
            mapping=mapping,
            result=Result.CURRENT,
            reason=UNCHANGED,
            seconds=0.0,
            secret_type=str(meta.get("secret_type") or "") or None,
            serial=status.serial,
            not_after=status.not_after,
            previous_serial=status.serial,
            previous_not_after=status.not_after,
            source_version=version,
            target_tag=tag,
            valid_until=status.valid_until,
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
            key_der = parse_private_key(current.tls_key, "current")[2]
    except CertificateRejected:
        return None
    return chain, key_der
