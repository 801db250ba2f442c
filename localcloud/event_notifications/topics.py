"""Custom (API) sources, and the topics whose rules let their notifications through.

Sources (ibm-cloud-docs/event-notifications): an application that sends its own events is a
"generic API source" the user creates (`en-create-source.md`); its id, which every notification
carries as `ibmensourceid`, has the form `<uuid>:api` in the docs' and IBM's examples
(`en-payload.md` "121313123:api", `en-markdown-formatted-notifications.md`). A topic "has an
independent filter for each source that is connected to it"; notifications that pass "are pushed
to all subscribed destinations" (`en-about.md`). The SDK's topic model names sources by id, each
with `rules` holding an `event_type_filter` (`TopicCreate`, `Rules`); terraform examples use `$.*`
to let everything through.

A filter is a JSONPath condition (`en-advanced-filtering.md`) evaluated against the notification as
sent. Two forms are evaluated here: `$.*` (every notification) and `$.a.b == 'text'` (a dotted path
equal to a quoted string), e.g. `$.type == 'com.ibm.certsync.mapping.failed'`. Anything else is
refused when the topic is created: the emulator does not pretend to evaluate what it cannot.

Unknown, and the stricter choice made here:
- A source that no topic names: its notifications are accepted and reach nobody (`en-about.md`:
  "If no filter is defined for a source, none of the events from that source are ingested").
- A path that is absent, or holds a non-string, does not equal any string.
- Rules' `enabled` flag and `notification_filter` are not modelled: every rule is enabled.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MATCH_ALL = "$.*"
API_SOURCE_SUFFIX = ":api"
_EQUALS = re.compile(r"""^\$((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*==\s*(?:'([^']*)'|"([^"]*)")$""")


@dataclass(frozen=True)
class CustomSource:
    id: str
    name: str
    description: str = ""

    @classmethod
    def new(cls, name: str, description: str = "") -> CustomSource:
        if not name.strip():
            raise ValueError("a custom source needs a name")
        return cls(f"{uuid.uuid4()}{API_SOURCE_SUFFIX}", name, description)


@dataclass(frozen=True)
class Rule:
    """Let the notifications of source `source_id` that pass `event_type_filter` into a topic."""

    source_id: str
    event_type_filter: str = MATCH_ALL

    def __post_init__(self) -> None:
        _parse(self.event_type_filter)  # refuse what cannot be evaluated, at creation

    def passes(self, notification: Mapping[str, Any]) -> bool:
        if notification.get("ibmensourceid") != self.source_id:
            return False
        parsed = _parse(self.event_type_filter)
        if parsed is None:
            return True
        path, expected = parsed
        return _lookup(notification, path) == expected


@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    rules: tuple[Rule, ...]

    def wants(self, notification: Mapping[str, Any]) -> bool:
        return any(rule.passes(notification) for rule in self.rules)


def _parse(text: str) -> tuple[tuple[str, ...], str] | None:
    """None for `$.*`; (path, value) for an equality; ValueError for anything else."""
    if text.strip() == MATCH_ALL:
        return None
    match = _EQUALS.match(text.strip())
    if match is None:
        raise ValueError(
            f"event_type_filter {text!r} is not supported by the emulator: use '$.*' or "
            "\"$.field == 'value'\""
        )
    path, single, double = match.groups()
    return tuple(path.lstrip(".").split(".")), single if single is not None else double


def _lookup(document: Mapping[str, Any], path: tuple[str, ...]) -> object:
    node: Any = document
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node
