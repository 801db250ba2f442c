"""Mappings that travel with the certificate: a secret labelled `certsync` (or
`CERTSYNC_DISCOVERY_LABEL`) lists its own targets in the custom metadata key `certsync_targets`.

Pure: the secrets' list metadata in, mappings and problems out. Each entry of `certsync_targets` is
a target name, or an object with `target` and optionally `project`, `region` and `verify`, as in
CERTSYNC_MAPPINGS. A malformed value fails that secret only; a target claimed by two sources
(two secrets, or a secret and CERTSYNC_MAPPINGS) is a conflict that fails the target, naming both,
rather than a guess at which one wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from job.mappings import TARGET_KEYS, SecretMapping, parse_target

METADATA_KEY = "certsync_targets"
MAX_TARGETS = 100  # a Code Engine project holds at most 100 secrets


@dataclass(frozen=True)
class Problem:
    """A labelled secret whose `certsync_targets` cannot be read."""

    secret_id: str
    reason: str


@dataclass(frozen=True)
class Discovered:
    mappings: tuple[SecretMapping, ...]
    problems: tuple[Problem, ...]
    secrets: int  # labelled secrets seen


def targets_of(secret_id: str, custom_metadata: Any) -> tuple[SecretMapping, ...]:
    """The mappings one secret declares; raises ValueError saying what is malformed.

    Secrets Manager documents `custom_metadata` as a JSON object; whether it keeps nested arrays
    of objects as given is not documented, so a JSON string holding the same list is read too.
    """
    raw = (custom_metadata or {}).get(METADATA_KEY) if isinstance(custom_metadata, dict) else None
    if raw is None:
        raise ValueError(f"custom metadata has no {METADATA_KEY!r}")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ValueError(f"{METADATA_KEY!r} is a string but not a JSON list") from None
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{METADATA_KEY!r} must be a non-empty list of targets")
    if len(raw) > MAX_TARGETS:
        raise ValueError(f"{METADATA_KEY!r} lists {len(raw)} targets; at most {MAX_TARGETS}")
    mappings = []
    for index, item in enumerate(raw):
        entry = {"target": item} if isinstance(item, str) else item
        try:
            if not isinstance(entry, dict):
                raise ValueError("must be a target name or an object with 'target'")
            unknown = set(entry) - TARGET_KEYS
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}")
            mappings.append(parse_target(entry, secret_id, discovered=True))
        except ValueError as exc:
            raise ValueError(f"{METADATA_KEY}[{index}]: {exc}") from None
    return tuple(mappings)


def discover(secrets: Iterable[dict[str, Any]]) -> Discovered:
    """Every mapping the listed secrets declare, and the secrets whose declaration is malformed."""
    mappings: list[SecretMapping] = []
    problems: list[Problem] = []
    seen = 0
    for secret in secrets:
        seen += 1
        secret_id = str(secret.get("id") or "")
        try:
            mappings.extend(targets_of(secret_id, secret.get("custom_metadata")))
        except ValueError as exc:
            name = secret.get("name") or secret_id
            problems.append(Problem(secret_id, f"secret {name!r} ({secret_id}): {exc}"))
    return Discovered(tuple(mappings), tuple(problems), seen)


def combine(
    explicit: Sequence[SecretMapping], discovered: Sequence[SecretMapping]
) -> tuple[tuple[SecretMapping, ...], tuple[tuple[SecretMapping, str], ...]]:
    """Explicit and discovered mappings together, and the conflicts: one (mapping, reason) per
    target claimed by different secrets, left out and reported with every source named. The same
    target from the same secret twice is one mapping (the explicit one wins: it may say
    `"verify": false`)."""
    sources: dict[str, list[SecretMapping]] = {}
    for mapping in (*explicit, *discovered):
        sources.setdefault(mapping.key, []).append(mapping)
    kept: list[SecretMapping] = []
    conflicts: list[tuple[SecretMapping, str]] = []
    for key, claims in sources.items():
        secret_ids = list(dict.fromkeys(m.secret_id for m in claims))
        if len(secret_ids) == 1:
            kept.append(claims[0])
            continue
        named = ", ".join(
            f"{m.secret_id} ({'certsync_targets' if m.discovered else 'CERTSYNC_MAPPINGS'})"
            for m in claims
        )
        reason = (
            f"target {key!r} has {len(secret_ids)} sources: {named}; one Code Engine secret can "
            "have only one source, so it is left unchanged until all but one are removed"
        )
        conflicts.append((claims[0], reason))
    return tuple(kept), tuple(conflicts)
