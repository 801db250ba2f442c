"""The values `deploy` reasons with: resources wanted, resources found, and the changes between.

A resource is identified by its kind and name. A wanted resource's `spec` holds only the fields
certsync manages, as plain JSON values; a found one's holds what the API returned, normalised the
same way (it may hold more: `plan` compares the wanted fields), so the two compare with `==`.
Secret values (the webhook token) are never part of a spec.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Written into every resource certsync creates, where the API has a place for it (descriptions,
# a config map or secret key, an environment variable): `destroy` removes only what carries it.
MARKER = "managed by certsync deploy"
MARKER_KEY = "CERTSYNC_MANAGED_BY"


class Kind(enum.StrEnum):
    """In the order `apply` creates them (`destroy` goes backwards)."""

    PROFILE = "trusted profile"
    LINK = "trusted profile link"
    POLICY = "access policy"
    AUTHORIZATION = "service authorization"
    SOURCE = "Event Notifications source"  # certsync's alerts; the job names its id
    CONFIG_MAP = "Code Engine config map"
    SECRET = "Code Engine secret"
    BUILD = "Code Engine build"
    JOB = "Code Engine job"
    APP = "Code Engine app"
    REGISTRATION = "Secrets Manager notifications registration"
    TOPIC = "Event Notifications topic"
    DESTINATION = "Event Notifications destination"
    SUBSCRIPTION = "Event Notifications subscription"
    # Made by `doctor --canary`, never wanted by `apply`: only `destroy` reads it (leftovers.py).
    CERTIFICATE = "Secrets Manager certificate"


ORDER = list(Kind)


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"  # cannot be updated in place: deleted, then created
    KEEP = "keep"
    CONFLICT = "conflict"  # a resource of that name exists that certsync did not create
    DELETE = "delete"
    LEAVE = "leave"  # destroy: exists, but not certsync's


@dataclass(frozen=True)
class Resource:
    kind: Kind
    name: str
    spec: dict[str, Any]
    detail: str = ""  # what it is for, in the plan

    @property
    def key(self) -> tuple[Kind, str]:
        return (self.kind, self.name)


@dataclass(frozen=True)
class Found:
    """A resource as the account has it."""

    kind: Kind
    name: str
    spec: dict[str, Any]
    managed: bool  # carries certsync's marker
    # What was learnt reading or writing it: ids and entity tags to act on it, and facts other
    # resources need (the app's `url`, the webhook secret's `token` as a masked SecretValue).
    handle: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[Kind, str]:
        return (self.kind, self.name)


# What the session has read or made so far, by kind and name: a later write finds in the handles
# the facts an earlier read or write learnt (ids, the app's URL, the webhook token).
Known = Mapping[tuple[Kind, str], Found]


@dataclass(frozen=True)
class Change:
    action: Action
    kind: Kind
    name: str
    reasons: tuple[str, ...] = ()
    wanted: Resource | None = None
    found: Found | None = None
    detail: str = ""

    @property
    def writes(self) -> bool:
        return self.action in {Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE}

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "kind": self.kind.value,
            "name": self.name,
            "detail": self.detail,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Facts:
    """What deploy looks up before planning: who and where the account is. The instances' CRNs
    and URLs come from the Resource Controller: each instance is in its own region."""

    account_id: str
    project_id: str
    project_name: str
    project_crn: str
    sm_crn: str
    en_crn: str
    sm_url: str  # Secrets Manager's API, in its instance's region (or `secrets_manager.url`)
    en_url: str  # Event Notifications' API, likewise
