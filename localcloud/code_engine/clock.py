"""The project's sense of time and of change: its clock, and its entity tags."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable


def iso(moment: dt.datetime) -> str:
    """RFC 3339 UTC timestamp, second precision, as the API returns them."""
    utc = moment.astimezone(dt.UTC).replace(microsecond=0)
    return utc.isoformat().replace("+00:00", "Z")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Clock:
    """The emulator's idea of now: `source()` (real UTC time by default) plus however far tests
    have moved it with `advance`. Timestamps and the job-run retention sweep read it."""

    def __init__(self, source: Callable[[], dt.datetime] = utc_now) -> None:
        self._source = source
        self._offset = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return self._source() + self._offset

    def advance(self, delta: dt.timedelta) -> None:
        self._offset += delta


class EntityTags:
    """Monotonic entity tags shared by all resources of the project (like k8s resourceVersion)."""

    def __init__(self, start: int = 2385407409) -> None:
        self._counter = itertools.count(start)
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            return str(next(self._counter))
