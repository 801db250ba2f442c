"""One mapping, end to end: fetch -> validate -> plan -> apply, re-planning on write conflicts."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Protocol

import structlog

from job.certs import CertificateRejected, SourceCertificate, TlsBundle, build_bundle
from job.mappings import SecretMapping
from job.outcome import Outcome, Result
from job.plan import Action, CurrentTarget, Plan, plan
from shared.errors import CertsyncError, ConflictError

log = structlog.get_logger("certsync.job")

MAX_CONFLICTS = 3


class Targets(Protocol):
    def get(self, name: str) -> CurrentTarget | None: ...

    def create(self, name: str, bundle: TlsBundle) -> None: ...

    def replace(self, name: str, bundle: TlsBundle, if_match: str) -> None: ...


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

    def sync(self, mapping: SecretMapping) -> Outcome:
        started = time.monotonic()
        untouched = f"{mapping.target!r} left unchanged"
        try:
            source = self._fetch(mapping.secret_id)
            bundle = build_bundle(source, self._clock())
        except CertificateRejected as exc:
            return _outcome(mapping, started, Result.REJECTED, f"{exc}; {untouched}")
        except CertsyncError as exc:
            return _outcome(mapping, started, Result.FAILED, f"{exc}; {untouched}")
        try:
            result, reason, decision = self._apply(mapping, bundle)
        except CertsyncError as exc:
            result, reason, decision = Result.FAILED, str(exc), None
        return _outcome(mapping, started, result, reason, bundle=bundle, decision=decision)

    def _apply(self, mapping: SecretMapping, bundle: TlsBundle) -> tuple[Result, str, Plan | None]:
        """What came of it, why, and the plan carried out; conflicts re-read and re-plan."""
        for attempt in range(1, MAX_CONFLICTS + 1):
            current = self._targets.get(mapping.target)
            decision = plan(bundle, current, allow_rollback=self._allow_rollback)
            if decision.action is Action.NOTHING:
                return Result.CURRENT, decision.reason, decision
            if decision.action is Action.REFUSE:
                return Result.REFUSED, f"{decision.reason}; left unchanged", decision
            try:
                if decision.action is Action.CREATE:
                    self._targets.create(mapping.target, bundle)
                    return Result.CREATED, decision.reason, decision
                assert decision.if_match is not None
                self._targets.replace(mapping.target, bundle, decision.if_match)
                return Result.UPDATED, decision.reason, decision
            except ConflictError as exc:
                log.warning(
                    "target_conflicted", target=mapping.target, attempt=attempt, status=exc.status
                )
        reason = (
            f"Code Engine secret {mapping.target!r} kept changing while being written "
            f"({MAX_CONFLICTS} conflicts in a row); the next run will try again"
        )
        return Result.FAILED, reason, None


def _outcome(
    mapping: SecretMapping,
    started: float,
    result: Result,
    reason: str,
    *,
    bundle: TlsBundle | None = None,
    decision: Plan | None = None,
) -> Outcome:
    return Outcome(
        mapping=mapping,
        result=result,
        reason=reason,
        seconds=round(time.monotonic() - started, 3),
        serial=bundle.serial if bundle else None,
        not_after=bundle.not_after.isoformat() if bundle else None,
        previous_serial=decision.current_serial if decision else None,
        previous_not_after=decision.current_not_after if decision else None,
        rollback=decision.rollback if decision and result is Result.UPDATED else False,
    )
