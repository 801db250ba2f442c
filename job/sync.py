"""One mapping, end to end: fetch -> validate -> plan -> apply, re-planning on write conflicts."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog

from job.certs import CertificateRejected, SourceCertificate, TlsBundle, build_bundle
from job.mappings import Mapping
from job.plan import Action, CurrentTarget, plan
from shared.errors import CertsyncError, ConflictError

log = structlog.get_logger("certsync.job")

MAX_CONFLICTS = 3
OK_RESULTS = frozenset({"created", "updated", "current"})


class Targets(Protocol):
    def get(self, name: str) -> CurrentTarget | None: ...

    def create(self, name: str, bundle: TlsBundle) -> str: ...

    def replace(self, name: str, bundle: TlsBundle, if_match: str) -> str: ...


@dataclass(frozen=True)
class Outcome:
    mapping: Mapping
    result: str  # created | updated | current | rejected | refused | failed
    reason: str
    seconds: float
    serial: str | None = None
    not_after: str | None = None
    previous_serial: str | None = None
    rollback: bool = False  # an older certificate written on purpose (--allow-rollback)

    @property
    def ok(self) -> bool:
        return self.result in OK_RESULTS


class Syncer:
    def __init__(
        self,
        fetch: Callable[[str], SourceCertificate],
        targets: Targets,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        *,
        allow_rollback: bool = False,
    ) -> None:
        self._fetch = fetch
        self._targets = targets
        self._clock = clock
        self._allow_rollback = allow_rollback

    def sync(self, mapping: Mapping) -> Outcome:
        started = time.monotonic()
        try:
            source = self._fetch(mapping.secret_id)
            bundle = build_bundle(source, self._clock())
        except CertificateRejected as exc:
            return _outcome(
                mapping, started, "rejected", f"{exc}; {mapping.target!r} left unchanged"
            )
        except CertsyncError as exc:
            return _outcome(mapping, started, "failed", f"{exc}; {mapping.target!r} left unchanged")
        try:
            result, reason, previous, rollback = self._apply(mapping, bundle)
        except CertsyncError as exc:
            result, reason, previous, rollback = "failed", str(exc), None, False
        return _outcome(
            mapping,
            started,
            result,
            reason,
            bundle=bundle,
            previous_serial=previous,
            rollback=rollback,
        )

    def _apply(self, mapping: Mapping, bundle: TlsBundle) -> tuple[str, str, str | None, bool]:
        """(result, reason, previous serial, rollback); conflicts re-read and re-plan."""
        for attempt in range(1, MAX_CONFLICTS + 1):
            current = self._targets.get(mapping.target)
            decision = plan(bundle, current, allow_rollback=self._allow_rollback)
            previous = decision.current_serial
            if decision.action is Action.NOTHING:
                return "current", decision.reason, previous, False
            if decision.action is Action.REFUSE:
                return "refused", f"{decision.reason}; left unchanged", previous, False
            try:
                if decision.action is Action.CREATE:
                    self._targets.create(mapping.target, bundle)
                    return "created", decision.reason, None, False
                assert decision.if_match is not None
                self._targets.replace(mapping.target, bundle, decision.if_match)
                return "updated", decision.reason, previous, decision.rollback
            except ConflictError as exc:
                log.warning(
                    "target_conflicted", target=mapping.target, attempt=attempt, status=exc.status
                )
        reason = (
            f"Code Engine secret {mapping.target!r} kept changing while being written "
            f"({MAX_CONFLICTS} conflicts in a row); the next run will try again"
        )
        return "failed", reason, None, False


def _outcome(
    mapping: Mapping,
    started: float,
    result: str,
    reason: str,
    *,
    bundle: TlsBundle | None = None,
    previous_serial: str | None = None,
    rollback: bool = False,
) -> Outcome:
    return Outcome(
        mapping=mapping,
        result=result,
        reason=reason,
        seconds=round(time.monotonic() - started, 3),
        serial=bundle.serial if bundle else None,
        not_after=bundle.not_after.isoformat() if bundle else None,
        previous_serial=previous_serial,
        rollback=rollback,
    )
