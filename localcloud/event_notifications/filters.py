"""The part of a topic rule's JSONPath filter language the emulator evaluates, and what each of a
rule's two filters is evaluated against.

Documented (ibm-cloud-docs/event-notifications):
- `en-advanced-filtering.md`: conditions follow JSONPath, "extract the appropriate data from the
  incoming request payload", operators `>=, <=, ==, >, <, !=, =~` and logical `||, &&`; its
  examples put the payload's fields under `$.data` (`$.data.event_type ==
  "secret_about_to_expire"`, `$.data.region =~ "dallas|london|sydney"`, `... && $.data.company
  == "IBM"`), literals in double quotes. Regular expressions are Go's (`regexp`): no lookahead or
  lookbehind, refused here.
- `en-cli.md` (topic create/update) and the SDK's `create_topic` examples
  (IBM/event-notifications-python-admin-sdk `examples/test_event_notifications_v1_examples.py`):
  `event_type_filter` is `$.*`, or a condition on `$.notification_event_info.event_type`
  (`"$.notification_event_info.event_type == 'cert_manager'"`); Terraform's `ibm_en_topic`
  (terraform-provider-ibm `website/docs/r/en_topic.html.markdown`): `event_type_filter` is
  required, default `$.*`, 3 to 255 characters.

So the two filters read two documents (`event_info`, `payload`):
- `event_type_filter`: `{"notification_event_info": {"event_type", "event_sub_type", "severity"}}`
  built from the envelope: `type` split at its first `:` into type and sub-type (`en-payload.md`:
  `type` is `<event-type-name>:<sub-type>`), `ibmenseverity` as `severity`.
- `notification_filter`: the notification as delivered, `data` and all.

Evaluated here: `$.*` (everything), and comparisons of a dotted path with a quoted string
(`==`, `!=`, `=~`; single or double quotes), joined by `||` or by `&&`. Anything else (indices,
numbers, `<`/`>`, `?()`, `not(...)`) is refused when the rule is created: the emulator does not
pretend to evaluate what it cannot.

Unknown, and the stricter choices made here:
- What the real `notification_event_info` holds for a Secrets Manager event: the envelope's
  type without its sub-type (`com.ibm.cloud.secrets-manager.secret_rotated`), as the Secrets
  Manager docs' "Event type" column spells it.
- `||` and `&&` in one filter (precedence undocumented): refused.
- A path that is absent, or holds a non-string, satisfies no comparison, `!=` included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MATCH_ALL = "$.*"
EVENT_TYPE_FILTER_LENGTH = (3, 255)  # Terraform `ibm_en_topic`
_TERM = r"""\$((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*(==|!=|=~)\s*(?:'([^']*)'|"([^"]*)")"""
_TERMS = re.compile(_TERM)
_JOINED = {
    "||": re.compile(rf"^{_TERM}(?:\s*\|\|\s*{_TERM})*$"),
    "&&": re.compile(rf"^{_TERM}(?:\s*&&\s*{_TERM})*$"),
}
_LOOKAROUND = re.compile(r"\(\?<?[=!]")

Path = tuple[str, ...]


@dataclass(frozen=True)
class Term:
    path: Path
    op: str
    value: str

    def holds(self, document: Mapping[str, Any]) -> bool:
        found = _lookup(document, self.path)
        if not isinstance(found, str):
            return False
        if self.op == "==":
            return found == self.value
        if self.op == "!=":
            return found != self.value
        return re.search(self.value, found) is not None


@dataclass(frozen=True)
class Filter:
    """A parsed filter: `terms` is None for `$.*`; `all_of` joins them with `&&`, else `||`."""

    text: str
    terms: tuple[Term, ...] | None
    all_of: bool = False

    @classmethod
    def parse(cls, text: str, what: str = "event_type_filter") -> Filter:
        stripped = text.strip()
        if stripped == MATCH_ALL:
            return cls(text, None)
        joiner = next((j for j, whole in _JOINED.items() if whole.match(stripped)), None)
        if joiner is None:
            raise ValueError(
                f"{what} {text[:200]!r} is not supported by the emulator: use '$.*', or "
                "comparisons of '$.a.b' with a quoted string (==, != or =~) joined by '||' or "
                "by '&&'"
            )
        terms = tuple(
            Term(tuple(m[1].lstrip(".").split(".")), m[2], m[4] if m[3] is None else m[3])
            for m in _TERMS.finditer(stripped)
        )
        for term in terms:
            if term.op == "=~":
                _check_regex(term.value, what)
        return cls(text, terms, joiner == "&&")

    def matches(self, document: Mapping[str, Any]) -> bool:
        if self.terms is None:
            return True
        results = (term.holds(document) for term in self.terms)
        return all(results) if self.all_of else any(results)


def check_event_type_filter(text: str) -> Filter:
    low, high = EVENT_TYPE_FILTER_LENGTH
    if not low <= len(text) <= high:
        raise ValueError(f"event_type_filter must be {low} to {high} characters")
    return Filter.parse(text)


def event_info(notification: Mapping[str, Any]) -> dict[str, Any]:
    """The document `event_type_filter` is evaluated against (see the module's docstring)."""
    kind = notification.get("type")
    info: dict[str, Any] = {}
    if isinstance(kind, str):
        event_type, _, sub_type = kind.partition(":")
        info["event_type"] = event_type
        if sub_type:
            info["event_sub_type"] = sub_type
    severity = notification.get("ibmenseverity")
    if isinstance(severity, str):
        info["severity"] = severity
    return {"notification_event_info": info}


def _check_regex(pattern: str, what: str) -> None:
    if _LOOKAROUND.search(pattern):
        raise ValueError(f"{what}: Go regular expressions have no lookahead or lookbehind")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{what}: {pattern[:100]!r} is not a regular expression: {exc}") from None


def _lookup(document: Mapping[str, Any], path: Path) -> object:
    node: Any = document
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node
