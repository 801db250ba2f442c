"""Suggestions for a mistyped name: a config key, a mapping's key, an environment variable."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_to(name: str, known: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The known name `name` was most likely meant to be, if one is close enough."""
    found = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return found[0] if found else None


def did_you_mean(name: str, known: Iterable[str], *, cutoff: float = 0.6) -> str:
    """`"; did you mean 'x'?"` for the closest known name, or "" when none is close."""
    match = close_to(name, known, cutoff=cutoff)
    return f"; did you mean '{match}'?" if match else ""
