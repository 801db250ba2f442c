"""From secret written to certificate served: every custom domain that uses a target is made to
pick the new certificate up, and then checked over TLS until it serves it, within a bound.

After a write, each domain mapping of the target is refreshed (`DomainMappings.refresh`), waited
for until `ready`, and its domain connected to until the served leaf is the one written. On a full
run the same check runs with nothing written: a domain still serving something else is refreshed
once (healing a mapping that never picked up an earlier write) and waited for like after a write.
One deadline (`timeout`) covers all of a target's domains. Results are values; the runner logs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from cryptography import x509

from job.status import DomainCheck
from shared.errors import CertsyncError
from shared.retry import Waits, poll

T = TypeVar("T")


@dataclass(frozen=True)
class DomainMapping:
    name: str  # the domain itself, e.g. www.example.com
    tls_secret: str
    entity_tag: str
    status: str  # ready, deploying, failed
    reason: str | None = None


class DomainMappings(Protocol):
    """A project's custom domains (`job.code_engine.DomainMappings`)."""

    def for_secret(self, tls_secret: str) -> tuple[DomainMapping, ...]: ...

    def get(self, name: str) -> DomainMapping: ...

    def refresh(self, mapping: DomainMapping) -> DomainMapping: ...


class Served(Protocol):
    """What a domain serves (`job.served.ServedCertificates`)."""

    def leaf(self, domain: str) -> x509.Certificate: ...


class Rollout:
    def __init__(
        self,
        mappings: DomainMappings,
        served: Served,
        *,
        timeout: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._mappings = mappings
        self._served = served
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock

    def domains(self, target: str) -> tuple[str, ...]:
        return tuple(m.name for m in self._mappings.for_secret(target))

    def after_write(self, target: str, leaf: x509.Certificate) -> list[DomainCheck]:
        """Refresh every domain mapping of `target` first (they propagate side by side), then
        wait for each in turn; one deadline for all."""
        started = self._clock()
        deadline = started + self._timeout
        refreshed = [(m, self._refresh(m)) for m in self._mappings.for_secret(target)]
        return [self._wait_served(m, r, leaf, deadline, started) for m, r in refreshed]

    def peek(self, target: str, leaf: x509.Certificate) -> list[DomainCheck]:
        """What each domain serves now, compared with `leaf`: one handshake each, no API call,
        no refresh (for a dry run)."""
        checks = []
        for mapping in self._mappings.for_secret(target):
            started = self._clock()
            served = self._probe(mapping.name)
            if isinstance(served, str):
                checks.append(self._result(mapping.name, started, None, served))
            else:
                why = None if served == leaf else f"serves serial {_serial(served)} now"
                checks.append(self._result(mapping.name, started, served, why))
        return checks

    def check(self, target: str, leaf: x509.Certificate) -> list[DomainCheck]:
        """Nothing was written: is every domain serving `leaf`? Heal the ones that are not."""
        deadline = self._clock() + self._timeout
        checks = []
        for mapping in self._mappings.for_secret(target):
            started = self._clock()
            first = self._probe(mapping.name)
            if isinstance(first, x509.Certificate) and first == leaf:
                checks.append(self._result(mapping.name, started, first, None))
            else:
                refreshed = self._refresh(mapping)
                checks.append(self._wait_served(mapping, refreshed, leaf, deadline, started))
        return checks

    def _refresh(self, mapping: DomainMapping) -> DomainMapping | str:
        """The refreshed mapping, or why it could not be refreshed."""
        try:
            return self._mappings.refresh(mapping)
        except CertsyncError as exc:
            return f"domain mapping: {exc}"

    def _wait_served(
        self,
        mapping: DomainMapping,
        refreshed: DomainMapping | str,
        leaf: x509.Certificate,
        deadline: float,
        started: float,
    ) -> DomainCheck:
        if isinstance(refreshed, str):
            return self._result(mapping.name, started, None, refreshed)
        try:
            ready = self._wait_ready(refreshed, deadline)
        except CertsyncError as exc:
            return self._result(mapping.name, started, None, f"domain mapping: {exc}")
        if ready.status != "ready":
            why = f"domain mapping is {ready.status!r}" + (
                f": {ready.reason}" if ready.reason else ""
            )
            return self._result(mapping.name, started, None, why)
        last: list[x509.Certificate | str] = []

        def served_now() -> x509.Certificate | None:
            got = self._probe(mapping.name)
            last[:] = [got]
            return got if isinstance(got, x509.Certificate) and got == leaf else None

        remaining = max(0.0, deadline - self._clock())
        if self._poll(served_now, remaining) is not None:
            return self._result(mapping.name, started, leaf, None)
        served = last[0] if last else "nothing was read"
        if isinstance(served, x509.Certificate):
            why = f"still serves serial {_serial(served)}"
            return self._result(mapping.name, started, served, why)
        return self._result(mapping.name, started, None, served)

    def _wait_ready(self, mapping: DomainMapping, deadline: float) -> DomainMapping:
        current = [mapping]

        def settled() -> DomainMapping | None:
            if current[0].status in ("ready", "failed"):
                return current[0]
            current[0] = self._mappings.get(mapping.name)
            return current[0] if current[0].status in ("ready", "failed") else None

        remaining = max(0.0, deadline - self._clock())
        return self._poll(settled, remaining) or current[0]

    def _poll(self, check: Callable[[], T | None], timeout: float) -> T | None:
        # A quarter second first: a mapping that is ready at once is seen at once; real
        # propagation (minutes) is met with waits doubling to 15 s, a few calls a minute.
        return poll(check, timeout=timeout, waits=Waits(0.25), sleep=self._sleep, clock=self._clock)

    def _probe(self, domain: str) -> x509.Certificate | str:
        """The served leaf, or why none could be read."""
        try:
            return self._served.leaf(domain)
        except CertsyncError as exc:
            return str(exc)

    def _result(
        self, domain: str, started: float, served: x509.Certificate | None, reason: str | None
    ) -> DomainCheck:
        return DomainCheck(
            domain=domain,
            verified=reason is None,
            seconds=round(self._clock() - started, 3),
            served_serial=_serial(served) if served is not None else None,
            served_not_after=served.not_valid_after_utc if served is not None else None,
            reason=reason,
        )


def _serial(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")
