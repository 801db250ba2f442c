"""Skipping the reads that cannot change the answer (pure: values in, a decision out).

A target is current without reading either side when all of these hold, else both are read:
- the status record says the last run left it in sync (`created`, `updated`, `current`) from the
  same secret;
- the secret's list metadata (`versions_total`, `updated_at`, `serial_number`,
  `expiration_date`) equals what that run fetched: any rotation, a new intermediate under the same
  leaf included, adds a version and moves `updated_at`;
- the target's entity tag in Code Engine's secret list equals the one that run wrote or read:
  any change by hand gives the secret a new tag;
- every certificate of the chain that run wrote is still valid now.
Targets that custom domains serve are always read (their names and trust are checked against
the domains of today); `job.sync` decides that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from job.mappings import SecretMapping
from job.outcome import Outcome, Result, in_sync
from job.status import Record

# The list metadata that changes whenever what `get_secret` returns can change: every rotation
# (a new leaf, or a new intermediate under the same leaf) adds a version (`versions_total`) and
# moves `updated_at`; the serial and expiry name the leaf. (SecretMetadata in the SDK's models.)
VERSION_FIELDS = ("versions_total", "updated_at", "serial_number", "expiration_date")
REASON = (
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
    of certificate secrets (by id), and the entity tags of TLS secrets per (project, region) of
    the mappings (`SecretMapping.project`/`.region`, "" for the job's own)."""

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
            not in_sync(status.outcome)
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
            reason=REASON,
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
