"""Code Engine v2 list calls: `limit` and an opaque `start` token taken from `next.start`.

Documented: the default `limit` is 50. Unknown, so the stricter choice is made: `limit` outside
1..100 is a 400, and so is a `start` token that does not parse.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from localcloud.code_engine.checks import invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True)
class Window:
    """Which page a list call asks for: at most `limit` items, those named after `after`."""

    limit: int = DEFAULT_LIMIT
    after: str | None = None


def page_params(request: Request) -> Window:
    """The page the query string asks for (`limit`, `start`)."""
    raw_limit = request.query_params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise invalid(f"Invalid 'limit' '{raw_limit}': must be an integer") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid(f"Invalid 'limit' {limit}: must be between 1 and {MAX_LIMIT}")
    start = request.query_params.get("start")
    return Window(limit, None if start is None else _decode_token(start))


def _encode_token(after: str) -> str:
    raw = json.dumps({"after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> str:
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = value["after"]
        if not isinstance(after, str):
            raise TypeError(after)
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise invalid("Invalid 'start' token") from None
    return after


def paginate(
    items: Sequence[Mapping[str, Any]],
    *,
    key: str,
    window: Window,
    base_href: str,
    filters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`{key: [...], limit, first: {href}, next?: {href, start}}` over name-sorted items."""
    limit, after = window.limit, window.after
    ordered = sorted(items, key=lambda item: str(item["name"]))
    if after is not None:
        ordered = [item for item in ordered if str(item["name"]) > after]
    page = list(ordered[:limit])
    query = {**dict(filters or {}), "limit": str(limit)}
    body: dict[str, Any] = {
        key: page,
        "limit": limit,
        "first": {"href": f"{base_href}?{urlencode(query)}"},
    }
    if len(ordered) > limit:
        token = _encode_token(str(page[-1]["name"]))
        body["next"] = {
            "href": f"{base_href}?{urlencode({**query, 'start': token})}",
            "start": token,
        }
    return body
