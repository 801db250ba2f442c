"""The part of a topic rule's JSONPath filter language the emulator evaluates.

Event Notifications evaluates a rule's `event_type_filter` and `notification_filter` as JSONPath
conditions over the notification as it is delivered (ibm-cloud-docs/event-notifications
`en-advanced-filtering.md`: operators `==, !=, <, <=, >, >=, =~` and logical `||, &&`). Evaluated
here, which is what certsync's topics use:
- `$.*`: every notification;
- `$.a.b == 'text'` (single or double quotes): a dotted path equal to a string;
- equalities joined by `||`: `$.data.secret_type == 'imported_cert' || $.data.secret_type ==
  "public_cert"`.
Anything else (`&&`, `!=`, `=~`, indices, numbers) is refused when the rule is created: the
emulator does not pretend to evaluate what it cannot.

Unknown, and the stricter choice made here: a path that is absent, or holds a non-string, equals
no string (the real JSONPath engine may compare `1 == '1'` differently).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MATCH_ALL = "$.*"
_TERM = r"""\$((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*==\s*(?:'([^']*)'|"([^"]*)")"""
_WHOLE = re.compile(rf"^{_TERM}(?:\s*\|\|\s*{_TERM})*$")
_TERMS = re.compile(_TERM)

Path = tuple[str, ...]


@dataclass(frozen=True)
class Filter:
    """A parsed filter: `terms` is None for `$.*`, else (path, value) pairs, any of which passes."""

    text: str
    terms: tuple[tuple[Path, str], ...] | None

    @classmethod
    def parse(cls, text: str, what: str = "event_type_filter") -> Filter:
        stripped = text.strip()
        if stripped == MATCH_ALL:
            return cls(text, None)
        if not _WHOLE.match(stripped):
            raise ValueError(
                f"{what} {text[:200]!r} is not supported by the emulator: use '$.*', "
                "\"$.field == 'value'\", or such equalities joined by '||'"
            )
        terms = tuple(
            (tuple(path.lstrip(".").split(".")), double if single is None else single)
            for path, single, double in _pairs(stripped)
        )
        return cls(text, terms)

    def matches(self, document: Mapping[str, Any]) -> bool:
        if self.terms is None:
            return True
        return any(_lookup(document, path) == value for path, value in self.terms)


def _pairs(text: str) -> list[tuple[str, str | None, str]]:
    """(path, single-quoted value or None, double-quoted value or "")."""
    return [(m[1], m[2], m[3] or "") for m in _TERMS.finditer(text)]


def _lookup(document: Mapping[str, Any], path: Path) -> object:
    node: Any = document
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node
