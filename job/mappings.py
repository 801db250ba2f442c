"""Mappings from Secrets Manager secrets to Code Engine TLS secrets, and which ones a run syncs."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.events import Notification, secret_id_from_ref
from shared.names import did_you_mean

# Code Engine secret names: lowercase alphanumerics, '-' and '.', starting and ending alphanumeric.
_TARGET = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# Project ids are UUIDs (`ibmcloud ce project get` shows them); regions `us-south`, `eu-de`, ...
_PROJECT = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")


@dataclass(frozen=True)
class SecretMapping:
    """One Secrets Manager secret copied into one Code Engine TLS secret."""

    secret_id: str  # the bare Secrets Manager id (configured as the id or its CRN)
    target: str  # the Code Engine TLS secret name
    verify: bool = True  # check the custom domains that serve the target ("verify": false opts out)
    # Where the target lives; "" is the job's own project (CE_PROJECT_ID) and region. Settings
    # normalise a mapping that names them explicitly to "", so one target has one spelling.
    project: str = ""
    region: str = ""
    discovered: bool = False  # from the secret's own `certsync_targets`, not CERTSYNC_MAPPINGS

    @property
    def key(self) -> str:
        """The target's identity in the status record and in conflict checks: its name in the
        job's own project and region, else `<region>.<project>.<name>` (valid config-map key
        characters: project ids are UUIDs, regions like `eu-de`)."""
        if not self.project and not self.region:
            return self.target
        return f"{self.region or '-'}.{self.project or '-'}.{self.target}"


def parse_mappings(text: str, *, source: str, yaml_ok: bool = False) -> tuple[SecretMapping, ...]:
    """Parse and validate mappings; raises ValueError with a message naming `source`."""
    try:
        raw: Any = _load_yaml(text) if yaml_ok else json.loads(text)
    except ValueError as exc:
        kind = "YAML" if yaml_ok else "JSON"
        raise ValueError(f"{source} is not valid {kind}: {_first_line(exc)}") from None
    if isinstance(raw, dict) and "mappings" in raw:
        raw = raw["mappings"]
    return mappings_from(raw, source=source)


def mappings_from(raw: Any, *, source: str) -> tuple[SecretMapping, ...]:
    """Validate mappings already loaded (a list of objects); raises ValueError naming `source`."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f'{source} must be a non-empty array of {{"secret": ..., "target": ...}}')
    problems: list[str] = []
    mappings: list[SecretMapping] = []
    for index, item in enumerate(raw):
        try:
            mappings.append(_mapping(item))
        except ValueError as exc:
            problems.append(f"{source}[{index}]: {exc}")
    problems.extend(f"{source}: {p}" for p in duplicate_targets(mappings))
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(mappings)


def duplicate_targets(mappings: Sequence[SecretMapping]) -> list[str]:
    """A problem for each target named twice (same name, project and region)."""
    seen: set[str] = set()
    problems = []
    for m in mappings:
        if m.key in seen:
            problems.append(
                f"target {m.key!r} appears twice; one Code Engine secret can have only one source"
            )
        seen.add(m.key)
    return problems


def _mapping(item: Any) -> SecretMapping:
    if not isinstance(item, dict):
        raise ValueError('must be an object {"secret": ..., "target": ...}')
    unknown = sorted(set(item) - MAPPING_KEYS, key=str)
    if unknown:
        first = str(unknown[0])
        raise ValueError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
            f"{did_you_mean(first, MAPPING_KEYS)} (a mapping has 'secret', 'target' and "
            "optionally 'project', 'region' and 'verify')"
        )
    secret = item.get("secret")
    if not isinstance(secret, str) or not secret.strip():
        raise ValueError("'secret' is missing or not a string")
    return parse_target(item, secret_id_from_ref(secret))


TARGET_KEYS = frozenset({"target", "project", "region", "verify"})
MAPPING_KEYS = frozenset({"secret", *TARGET_KEYS})


def parse_target(
    item: dict[str, Any], secret_id: str, *, discovered: bool = False
) -> SecretMapping:
    """`target` and the optional `project`, `region` and `verify` of a mapping (or of one entry of
    a secret's `certsync_targets`); raises ValueError saying which value is wrong."""
    verify = item.get("verify", True)
    if not isinstance(verify, bool):
        raise ValueError(f"'verify' {verify!r} must be true or false")
    target = item.get("target")
    if not isinstance(target, str) or not _TARGET.match(target):
        raise ValueError(
            f"'target' {target!r} is not a valid Code Engine secret name "
            "(lowercase letters, digits, '-' and '.', at most 253 characters)"
        )
    project, region = item.get("project", ""), item.get("region", "")
    if not isinstance(project, str) or (project and not _PROJECT.match(project)):
        raise ValueError(f"'project' {project!r} is not a Code Engine project id (a UUID)")
    if not isinstance(region, str) or (region and not _REGION.match(region)):
        raise ValueError(f"'region' {region!r} is not an IBM Cloud region name (e.g. 'eu-de')")
    return SecretMapping(
        secret_id=secret_id,
        target=target,
        verify=verify,
        project=project.lower(),
        region=region,
        discovered=discovered,
    )


class SelectedBy(enum.StrEnum):
    """Why a run syncs the mappings it syncs (the first rule that applies)."""

    SECRET_IDS = "secret_ids"  # --secret or CERTSYNC_SECRET_IDS
    EVENT = "event"  # the notification in `ibmendata`
    ALL = "all"  # neither: every mapping (cron, plain jobrun submit)


@dataclass(frozen=True)
class Selection:
    mappings: tuple[SecretMapping, ...]
    selected_by: SelectedBy
    unmapped: tuple[str, ...] = ()  # requested or notified secret ids that no mapping has


def select(
    mappings: Sequence[SecretMapping],
    *,
    secret_ids: Sequence[str] = (),
    notification: Notification | None = None,
) -> Selection:
    """Which mappings a run syncs: explicit ids, else the event's secrets, else every mapping."""
    if secret_ids:
        wanted, reason = list(dict.fromkeys(secret_ids)), SelectedBy.SECRET_IDS
    elif notification is not None:
        wanted, reason = list(dict.fromkeys(notification.secret_ids)), SelectedBy.EVENT
    else:
        return Selection(tuple(mappings), SelectedBy.ALL)
    chosen = tuple(m for m in mappings if m.secret_id in wanted)
    mapped = {m.secret_id for m in mappings}
    return Selection(chosen, reason, tuple(i for i in wanted if i not in mapped))


def _load_yaml(text: str) -> Any:
    import yaml  # only a YAML mappings file needs it (importing it costs start-up time)

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc)) from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
