"""Compare what a config wants with what the account holds: pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from deploy.model import ORDER, Action, Change, Found, Kind, Resource

# Kinds that cannot be changed in place: a difference means delete, then create.
IMMUTABLE = {Kind.LINK}
# Kinds where a sufficient resource the user made by hand is used as it is (IAM refuses a second
# identical policy): `apply` keeps it, `destroy` leaves it.
ADOPTABLE = {Kind.POLICY, Kind.AUTHORIZATION, Kind.REGISTRATION}


def plan(wanted: Iterable[Resource], found: Mapping[tuple[Kind, str], Found]) -> list[Change]:
    """One change per wanted resource, in creation order."""
    changes = []
    for resource in sorted(wanted, key=lambda r: ORDER.index(r.kind)):
        have = found.get(resource.key)
        changes.append(_change(resource, have))
    return changes


def _change(resource: Resource, have: Found | None) -> Change:
    def make(action: Action, *reasons: str, found: Found | None = have) -> Change:
        return Change(
            action, resource.kind, resource.name, reasons, resource, found, resource.detail
        )

    if have is None:
        return make(Action.CREATE, "does not exist")
    differences = diff(resource.spec, have.spec)
    if not have.managed:
        if resource.kind in ADOPTABLE and not differences:
            return make(Action.KEEP, "exists (made outside certsync; left as it is)")
        if resource.kind in {Kind.POLICY, Kind.AUTHORIZATION}:
            why = "; ".join(differences)
            return make(
                Action.CREATE,
                f"one made outside certsync differs ({why}); certsync adds its own",
                found=None,
            )
        why = "exists but was not created by certsync"
        if differences:
            why += f" and differs ({'; '.join(differences)})"
        return make(Action.CONFLICT, why)
    if not differences:
        return make(Action.KEEP)
    return make(Action.REPLACE if resource.kind in IMMUTABLE else Action.UPDATE, *differences)


def diff(wanted: Mapping[str, Any], have: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Human-readable differences of the managed fields (`have` may hold more)."""
    out = []
    for key, value in wanted.items():
        path = f"{prefix}{key}"
        current = have.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            out += diff(value, current, f"{path}.")
        elif value != current:
            out.append(_describe(path, current, value))
    return out


def _describe(path: str, current: Any, value: Any) -> str:
    if isinstance(value, list) and isinstance(current, list):
        return f"{path} changed"
    return f"{path}: {_short(current)} -> {_short(value)}"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def teardown(found: Iterable[Found]) -> list[Change]:
    """`destroy`: delete what certsync created, newest kinds first; report the rest."""
    changes = []
    for have in sorted(found, key=lambda f: ORDER.index(f.kind), reverse=True):
        if have.managed:
            changes.append(Change(Action.DELETE, have.kind, have.name, found=have))
        else:
            reason = "not created by certsync"
            changes.append(Change(Action.LEAVE, have.kind, have.name, (reason,), found=have))
    return changes
