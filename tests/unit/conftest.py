"""Unit tests are values in, values out: none opens a network connection or a listening socket.
A test that needs one belongs in tests/integration; this guard names the test that tried."""

from __future__ import annotations

import socket
from typing import Any

import pytest

NETWORK = {socket.AF_INET, socket.AF_INET6}


class NetworkUsed(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """`connect` and `bind` of an IP socket fail the test (socket pairs, which an event loop
    wakes itself with, stay allowed)."""

    def refuse(operation: str) -> Any:
        original = getattr(socket.socket, operation)

        def guarded(self: socket.socket, address: Any) -> Any:
            if self.family in NETWORK:
                raise NetworkUsed(f"a unit test tried to {operation} to {address!r}")
            return original(self, address)

        return guarded

    for operation in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, operation, refuse(operation))
