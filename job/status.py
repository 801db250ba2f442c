"""What became of each mapping (`Result`, `Outcome`) and the status record that keeps it.

`Result` is the one outcome vocabulary: its name, its log event, its alert condition and whether
the target ends in sync. The status record keeps one key per target (`SecretMapping.key`, all
valid config-map key characters), each a small JSON object, so concurrent runs that sync
different targets merge cleanly (read, merge, replace with `If-Match`, re-read on 412). Pure: no
I/O, `now` is a parameter. Bounded: a reason is cut to `MAX_REASON` characters and at most
`MAX_DOMAINS` domains are kept per target, so a project's 100 secrets stay far below Code
Engine's 1 MiB for a config map.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from job.mappings import SecretMapping
from shared.expiry import days_left

MAX_REASON = 300
MAX_DOMAINS = 20


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
    none by itself)."""

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
    # What the next run compares to skip reads (`job.plan.Snapshot`): the source's metadata
    # fingerprint (`job.plan.version_of`) and the target's entity tag after this run, and when
    # the earliest certificate of the chain written expires.
    source_version: str | None = None
    target_tag: str | None = None
    valid_until: str | None = None

    @property
    def ok(self) -> bool:
        return self.result.ok


@dataclass(frozen=True)
class DomainStatus:
    verified: bool
    serial: str | None
    checked_at: str


@dataclass(frozen=True)
class TargetStatus:
    secret_id: str
    serial: str | None
    not_after: str | None
    outcome: str  # Result.value of the last run that synced it (or `unmanaged`)
    reason: str
    checked_at: str  # when a run last looked at it
    changed_at: str | None = None  # when a run last wrote it
    domains: dict[str, DomainStatus] = field(default_factory=dict)
    alerted: dict[str, str] = field(default_factory=dict)  # alert condition -> day last sent
    project: str = ""  # where the target lives ("" for both: the job's own project and region)
    region: str = ""
    # What the last run saw, for skipping reads that cannot change the answer (`job.plan`).
    source_version: str | None = None
    entity_tag: str | None = None
    valid_until: str | None = None

    def days_left(self, now: dt.datetime) -> int | None:
        return days_left(self.not_after, now)

    @property
    def in_sync(self) -> bool:
        """The last run left the target in sync with its source."""
        return any(r.ok and r.value == self.outcome for r in Result)


Record = dict[str, TargetStatus]


def merge(record: Record, outcomes: Iterable[Outcome], now: dt.datetime) -> Record:
    """`record` with the targets of `outcomes` brought up to date; other targets unchanged."""
    merged = dict(record)
    stamp = iso(now)
    for outcome in outcomes:
        target = outcome.mapping.key
        before = merged.get(target)
        domains = {
            c.domain: DomainStatus(c.verified, c.served_serial, stamp) for c in outcome.domains
        }
        if before is not None and not domains:
            domains = before.domains  # nothing checked this time: keep the last checks
        merged[target] = TargetStatus(
            secret_id=outcome.mapping.secret_id,
            serial=outcome.serial or (before.serial if before else None),
            not_after=outcome.not_after or (before.not_after if before else None),
            outcome=outcome.result.value,
            reason=outcome.reason[:MAX_REASON],
            checked_at=stamp,
            changed_at=stamp if outcome.result.written else (before.changed_at if before else None),
            domains=dict(list(domains.items())[:MAX_DOMAINS]),
            alerted=dict(before.alerted) if before else {},
            project=outcome.mapping.project,
            region=outcome.mapping.region,
            source_version=outcome.source_version,
            entity_tag=outcome.target_tag,
            valid_until=outcome.valid_until,
        )
    return merged


def with_alerts_sent(record: Record, sent: Iterable[tuple[str, str]], now: dt.datetime) -> Record:
    """`record` noting that the alert (target, condition) pairs in `sent` went out today."""
    updated = dict(record)
    for target, condition in sent:
        status = updated[target]
        updated[target] = replace(
            status, alerted={**status.alerted, condition: now.date().isoformat()}
        )
    return updated


def to_data(record: Record) -> dict[str, str]:
    """The config map's `data`: one compact JSON value per target."""
    return {target: _COMPACT.encode(_plain(s)) for target, s in sorted(record.items())}


_COMPACT = json.JSONEncoder(separators=(",", ":"))
_FIELDS = tuple(f.name for f in fields(TargetStatus))


def _plain(status: TargetStatus) -> dict[str, Any]:
    """`dataclasses.asdict(status)`, built directly: asdict deep-copies every value through a
    generic recursion, a third of the time a 1,000-target record took to write."""
    plain = {name: getattr(status, name) for name in _FIELDS}
    plain["domains"] = {
        domain: {"verified": d.verified, "serial": d.serial, "checked_at": d.checked_at}
        for domain, d in status.domains.items()
    }
    plain["alerted"] = dict(status.alerted)
    return plain


def from_data(data: Mapping[str, str] | None) -> Record:
    """The record in a config map's `data`; keys that are not certsync's are left out."""
    record: Record = {}
    for target, text in (data or {}).items():
        try:
            raw: Any = json.loads(text)
            domains = {d: DomainStatus(**v) for d, v in raw.pop("domains", {}).items()}
            record[target] = TargetStatus(**raw, domains=domains)
        except (ValueError, TypeError, AttributeError):
            continue  # not a status entry (a person's note, an older format): not ours to read
    return record


def iso(when: dt.datetime) -> str:
    """A record's timestamp: UTC, to the second."""
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")
