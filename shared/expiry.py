"""One expiry threshold for everything that warns: the job's log lines and alerts, and `doctor`.

`CERTSYNC_EXPIRY_WARN_DAYS` (the job's environment; `expiry_warn_days` in certsync.yaml, which
`deploy` passes to the job and `doctor` reads): fewer whole days left than this is a warning.
"""

from __future__ import annotations

import datetime as dt

VARIABLE = "CERTSYNC_EXPIRY_WARN_DAYS"
DEFAULT_WARN_DAYS = 21
MIN_WARN_DAYS, MAX_WARN_DAYS = 1, 365


def days_left(not_after: str | dt.datetime | None, now: dt.datetime) -> int | None:
    """Whole days from `now` to `not_after` (ISO 8601, `Z` accepted); negative once expired."""
    if not_after is None:
        return None
    if isinstance(not_after, str):
        not_after = dt.datetime.fromisoformat(not_after.replace("Z", "+00:00"))
    return (not_after - now).days


def expiring(left: int | None, warn_days: int) -> bool:
    """Fewer days left than the threshold (an unknown expiry is not a warning)."""
    return left is not None and left < warn_days
