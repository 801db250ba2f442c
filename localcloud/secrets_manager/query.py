"""`GET /api/v2/secrets` query parameters: strict parsing, filtering, sorting and page links.

Bounds from the API reference: `limit` 1..1000 (default 200), `offset` >= 0; `sort` one of
id | created_at | updated_at | retrieved_at | expiration_date | secret_type | name, `-` for
descending. Page links are `{"href": <absolute URL>}` (`first`/`last` always, `next`/`previous`
only when they exist), as real responses show.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from localcloud.http import BadRequest
from localcloud.secrets_manager.model import ALL_TYPES, Secret

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
SORT_FIELDS = (
    "id",
    "created_at",
    "updated_at",
    "retrieved_at",
    "expiration_date",
    "secret_type",
    "name",
)
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_FILTER_PARAMS = ("sort", "search", "groups", "secret_types", "match_all_labels")


@dataclass(frozen=True)
class ListQuery:
    offset: int
    limit: int
    sort: str | None
    search: str | None
    groups: tuple[str, ...]
    secret_types: tuple[str, ...]
    labels: tuple[str, ...]
    raw: tuple[tuple[str, str], ...]  # filter params as given, for page links


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"-?\d+", raw):
        raise BadRequest(f"Invalid query parameter '{name}': must be an integer")
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(
            f"Invalid query parameter '{name}': must be between {low} and {high}, got {value}"
        )
    return value


def _csv(params: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = params.get(name)
    if raw is None:
        return ()
    items = tuple(raw.split(","))
    if any(not item for item in items):
        raise BadRequest(f"Invalid query parameter '{name}': empty list item")
    return items


def parse_list_query(params: Mapping[str, str]) -> ListQuery:
    offset = _int_param(params, "offset", 0, 0, 2**31 - 1)
    limit = _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    sort = params.get("sort")
    if sort is not None and sort.removeprefix("-") not in SORT_FIELDS:
        raise BadRequest(
            f"Invalid query parameter 'sort': must be one of {', '.join(SORT_FIELDS)}"
            " optionally prefixed with '-'"
        )
    groups = _csv(params, "groups")
    for group in groups:
        if group != "default" and not UUID_RE.match(group):
            raise BadRequest(f"Invalid query parameter 'groups': '{group}' is not a group ID")
    types = _csv(params, "secret_types")
    for secret_type in types:
        if secret_type not in ALL_TYPES:
            raise BadRequest(
                f"Invalid query parameter 'secret_types': unknown secret type '{secret_type}'"
            )
    raw = tuple((k, params[k]) for k in _FILTER_PARAMS if k in params)
    search = params.get("search")
    return ListQuery(
        offset, limit, sort, search, groups, types, _csv(params, "match_all_labels"), raw
    )


def _matches(secret: Secret, query: ListQuery) -> bool:
    if query.groups and secret.group_id not in query.groups:
        return False
    if query.secret_types and secret.secret_type not in query.secret_types:
        return False
    if query.labels and not set(query.labels) <= set(secret.labels):
        return False
    if query.search:
        # Case-sensitive substring (real matching rules unknown; this is the stricter guess).
        haystack = [secret.id, secret.name, secret.description or "", secret.secret_type]
        return any(query.search in h for h in [*haystack, *secret.labels])
    return True


_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


def _sort_key(secret: Secret, field: str) -> tuple[int, Any]:
    value: Any = {
        "id": secret.id,
        "created_at": secret.created_at,
        "updated_at": secret.updated_at,
        "retrieved_at": secret.retrieved_at,
        "expiration_date": secret.current.expiration_date,
        "secret_type": secret.secret_type,
        "name": secret.name,
    }[field]
    return (1, _EPOCH) if value is None else (0, value)


def select(secrets: list[Secret], query: ListQuery) -> list[Secret]:
    """Filter and sort (default order: creation time; the real default is undocumented)."""
    chosen = [s for s in secrets if _matches(s, query)]
    field = (query.sort or "created_at").removeprefix("-")
    chosen.sort(
        key=lambda s: _sort_key(s, field), reverse=bool(query.sort and query.sort[0] == "-")
    )
    return chosen


def _href(base: str, query: ListQuery, offset: int) -> dict[str, str]:
    params: list[tuple[str, str]] = [("offset", str(offset))] if offset else []
    params.append(("limit", str(query.limit)))
    params.extend(query.raw)
    return {"href": f"{base}?{urlencode(params)}"}


def page(base: str, query: ListQuery, total: int) -> dict[str, Any]:
    """The paging envelope around the `secrets` list."""
    last = ((total - 1) // query.limit) * query.limit if total else 0
    out: dict[str, Any] = {
        "total_count": total,
        "limit": query.limit,
        "offset": query.offset,
        "first": _href(base, query, 0),
        "last": _href(base, query, last),
    }
    if query.offset + query.limit < total:
        out["next"] = _href(base, query, query.offset + query.limit)
    if query.offset > 0:
        out["previous"] = _href(base, query, max(0, query.offset - query.limit))
    return out
