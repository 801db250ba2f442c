"""What became of one mapping: one type that knows its name, its log event and whether it is ok."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from job.mappings import SecretMapping
from job.rollout import DomainCheck


class Result(enum.Enum):
    """The outcome of syncing one mapping; `value` is how logs and summaries name it."""

    CREATED = "created"
    UPDATED = "updated"
    CURRENT = "current"
    REJECTED = "rejected"  # the certificate in Secrets Manager failed validation
    REFUSED = "refused"  # a write would be wrong (a downgrade, a secret that is not TLS)
    FAILED = "failed"  # an API error, or a bug

    @property
    def ok(self) -> bool:
        """The target ends in sync with its source."""
        return self in (Result.CREATED, Result.UPDATED, Result.CURRENT)

    @property
    def event(self) -> str:
        """The log event of the mapping's line."""
        return _EVENTS[self]


_EVENTS = {
    Result.CREATED: "target_created",
    Result.UPDATED: "target_updated",
    Result.CURRENT: "target_current",
    Result.REJECTED: "certificate_rejected",
    Result.REFUSED: "target_refused",
    Result.FAILED: "mapping_failed",
}


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
    # (job.sources.version_of) and the target's entity tag after this run, and when the earliest
    # certificate of the chain written expires.
    source_version: str | None = None
    target_tag: str | None = None
    valid_until: str | None = None

    @property
    def ok(self) -> bool:
        return self.result.ok
