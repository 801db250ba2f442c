"""What became of one mapping: `Result`, the one outcome vocabulary (its name, its log event,
its alert condition and whether it is in sync), and the alert conditions it and the checks raise.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from job.mappings import SecretMapping


class Condition(enum.Enum):
    """An alert's condition: `value` names it in logs and the status record's `alerted`, `type`
    is its CloudEvent type (README, "Alerts": stable), `severity` its Event Notifications one,
    `summary` what an alert's short text says of the target."""

    _value_: str
    type: str
    severity: str
    summary: str

    def __new__(cls, name: str, type_: str, severity: str, summary: str) -> Condition:
        member = object.__new__(cls)
        member._value_ = name
        member.type = f"com.ibm.certsync.{type_}"
        member.severity = severity
        member.summary = summary
        return member

    MAPPING_FAILED = "mapping_failed", "mapping.failed", "HIGH", "sync failed"
    CERTIFICATE_REJECTED = (
        "certificate_rejected", "certificate.rejected", "HIGH", "certificate rejected"
    )  # fmt: skip
    # One thing, two names kept: the log event README documents, and the CloudEvent type
    # subscriptions already filter on.
    TARGET_REFUSED = "target_refused", "write.refused", "MEDIUM", "write refused"
    DOMAIN_STALE = "domain_stale", "domain.stale", "HIGH", "domain stale"
    CERTIFICATE_EXPIRING = "certificate_expiring", "certificate.expiring", "HIGH", "expiring"
    CERTIFICATE_UPDATED = "certificate_updated", "certificate.updated", "LOW", "certificate updated"


class Result(enum.Enum):
    """The outcome of syncing one mapping; `value` is how logs, summaries and the status record
    name it, `event` the log event of the mapping's line, `alert` the condition it raises (None:
    none by itself), `ok` whether the target ends in sync with its source."""

    _value_: str
    event: str
    alert: Condition | None

    def __new__(cls, name: str, event: str, alert: Condition | None = None) -> Result:
        member = object.__new__(cls)
        member._value_ = name
        member.event = event
        member.alert = alert
        return member

    CREATED = "created", "target_created"
    UPDATED = "updated", "target_updated"
    CURRENT = "current", "target_current"
    # the certificate in Secrets Manager failed validation
    REJECTED = "rejected", "certificate_rejected", Condition.CERTIFICATE_REJECTED
    # a write would be wrong (a downgrade, a secret that is not TLS)
    REFUSED = "refused", "target_refused", Condition.TARGET_REFUSED
    FAILED = "failed", "mapping_failed", Condition.MAPPING_FAILED  # an API error, or a bug

    @property
    def ok(self) -> bool:
        """The target ends in sync with its source."""
        return self in (Result.CREATED, Result.UPDATED, Result.CURRENT)

    @property
    def written(self) -> bool:
        return self in (Result.CREATED, Result.UPDATED)


def in_sync(recorded: str) -> bool:
    """Whether an outcome as the status record holds it (`Result.value`, or `unmanaged`) is one
    that left the target in sync."""
    return any(r.ok and r.value == recorded for r in Result)


@dataclass(frozen=True)
class DomainCheck:
    """What one custom domain of a target serves, compared with the certificate written."""

    domain: str
    verified: bool
    seconds: float
    served_serial: str | None  # what the domain served last (None: nothing could be read)
    served_not_after: dt.datetime | None
    reason: str | None = None  # why it is not verified


@dataclass(frozen=True)
class Outcome:
    mapping: SecretMapping
    result: Result
    reason: str
    seconds: float
    secret_type: str | None = None  # imported_cert, public_cert, private_cert (once read)
    serial: str | None = None  # the certificate from Secrets Manager
    not_after: str | None = None
    previous_serial: str | None = None  # what Code Engine held before
    previous_not_after: str | None = None
    rollback: bool = False  # an older certificate written on purpose (--allow-rollback)
    domains: tuple[DomainCheck, ...] = ()  # what each custom domain of the target serves
    # What the next run compares to skip reads (job.unchanged): the source's metadata fingerprint
    # (job.unchanged.version_of) and the target's entity tag after this run, and when the
    # earliest certificate of the chain written expires.
    source_version: str | None = None
    target_tag: str | None = None
    valid_until: str | None = None

    @property
    def ok(self) -> bool:
        return self.result.ok
