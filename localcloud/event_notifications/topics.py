"""Sources, and the topics whose rules let their notifications through.

Sources (ibm-cloud-docs/event-notifications): an application that sends its own events is a
"generic API source" the user creates (`en-create-source.md`); its id, which every notification
carries as `ibmensourceid`, has the form `<uuid>:api` in the docs' and IBM's examples
(`en-payload.md` "121313123:api", `en-markdown-formatted-notifications.md`). An IBM Cloud service
such as Secrets Manager becomes a source when it registers with the instance; its id is the
service instance's CRN (the README's setup, `secrets-manager` `framework/event-notifications.md`).
A topic "has an independent filter for each source that is connected to it"; notifications that
pass "are pushed to all subscribed destinations" (`en-about.md`). The SDK's topic model names
sources by id, each with `rules` (`SourcesItems`, `Rules`: `enabled`, `event_type_filter`,
`notification_filter`); terraform examples use `$.*` to let everything through. Filters: filters.py.

Unknown, and the stricter choice made here:
- A source that no topic names: its notifications are accepted and reach nobody (`en-about.md`:
  "If no filter is defined for a source, none of the events from that source are ingested").
- A rule passes when it is enabled and both its filters match; a disabled source passes nothing.
- The source `type` of Secrets Manager is not published: `secrets-manager` here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.event_notifications.filters import (
    MATCH_ALL,
    Filter,
    check_event_type_filter,
    event_info,
)
from localcloud.event_notifications.payload import now_rfc3339

API_SOURCE_SUFFIX = ":api"
API_SOURCE_TYPE = "api"
SECRETS_MANAGER_TYPE = "secrets-manager"


@dataclass(frozen=True)
class CustomSource:
    """A source: an API source (`<uuid>:api`) or a registered service instance (its CRN)."""

    id: str
    name: str
    description: str = ""
    type: str = API_SOURCE_TYPE
    enabled: bool = True
    store_notifications: bool = False
    created_at: str = field(default_factory=now_rfc3339)
    updated_at: str = field(default_factory=now_rfc3339)

    @classmethod
    def new(cls, name: str, description: str = "", **more: Any) -> CustomSource:
        if not name.strip():
            raise ValueError("a custom source needs a name")
        return cls(f"{uuid.uuid4()}{API_SOURCE_SUFFIX}", name, description, **more)


@dataclass(frozen=True)
class Rule:
    """Let the notifications of source `source_id` that pass both filters into a topic."""

    source_id: str
    event_type_filter: str = MATCH_ALL
    enabled: bool = True
    notification_filter: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    updated_at: str = field(default_factory=now_rfc3339)

    def __post_init__(self) -> None:
        # Refuse what cannot be evaluated, at creation.
        check_event_type_filter(self.event_type_filter)
        if self.notification_filter:  # Terraform: "The minimum length is 0 characters"
            Filter.parse(self.notification_filter, "notification_filter")

    def same_as(self, other: Rule) -> bool:
        """Equal in what the user sets (not id or time)."""
        return (self.source_id, self.event_type_filter, self.enabled, self.notification_filter) == (
            other.source_id,
            other.event_type_filter,
            other.enabled,
            other.notification_filter,
        )

    def passes(self, notification: Mapping[str, Any]) -> bool:
        if not self.enabled or notification.get("ibmensourceid") != self.source_id:
            return False
        # Each filter reads its own document (filters.py): the event's type information, and
        # the notification as delivered.
        if not Filter.parse(self.event_type_filter).matches(event_info(notification)):
            return False
        if not self.notification_filter:
            return True
        return Filter.parse(self.notification_filter, "notification_filter").matches(notification)

    def to_dict(self) -> dict[str, Any]:
        """`RulesGet`."""
        out: dict[str, Any] = {
            "enabled": self.enabled,
            "event_type_filter": self.event_type_filter,
            "updated_at": self.updated_at,
            "id": self.id,
        }
        if self.notification_filter is not None:
            out["notification_filter"] = self.notification_filter
        return out


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    rules: tuple[Rule, ...]
    description: str = ""
    created_at: str = field(default_factory=now_rfc3339)
    updated_at: str = field(default_factory=now_rfc3339)

    def wants(self, notification: Mapping[str, Any]) -> bool:
        return any(rule.passes(notification) for rule in self.rules)

    @property
    def source_ids(self) -> list[str]:
        return list(dict.fromkeys(rule.source_id for rule in self.rules))
