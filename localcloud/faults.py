"""Fault injection and the request log: what tests use to make the cloud misbehave and to assert.

A fault matches by method and path regex and fires `times` times (None: forever). It can add
latency, answer a status with the IBM error envelope (and `Retry-After`), or drop the connection
after the request was read (the client sees the connection closed with no response).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field


@dataclass
class Fault:
    path: str = ".*"  # regex matched with re.search against the path
    method: str | None = None  # None: any method
    status: int | None = None
    retry_after: int | None = None
    latency: float = 0.0
    drop: bool = False
    times: int | None = 1

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return re.search(self.path, path) is not None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-case names; Authorization is never recorded
    body: bytes
    status: int
    fault: bool  # True when a fault answered instead of the service
    received_at: float = 0.0  # time.time() when the request arrived (before any added latency)


@dataclass
class Faults:
    """Active faults plus latency added to every call (for benchmarks)."""

    latency_all: float = 0.0
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def active(self) -> list[Fault]:
        """The faults that have not fired all their `times` yet."""
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching fault, consuming one of its `times`."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None


@dataclass
class RequestLog:
    _entries: list[RecordedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def append(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, optionally filtered by method and path regex (re.search)."""
        with self._lock:
            snapshot = list(self._entries)
        return [
            e
            for e in snapshot
            if (method is None or e.method == method.upper())
            and (path is None or re.search(path, e.path))
        ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
