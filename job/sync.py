"""One mapping, end to end: fetch -> validate -> plan -> apply -> verify, re-planning on write
conflicts.

For a target that custom domains serve, validation also checks the names and the trust of the
chain for each domain, and after a write (or, on a full run, with nothing to write) every domain is
checked over TLS until it serves the certificate (`job.rollout`). A domain that does not, within
the bound, fails the mapping."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog
from cryptography import x509

from job.certs import CertificateRejected, SourceCertificate, TlsBundle, build_bundle
from job.domains import check_names, check_trusted
from job.mappings import SecretMapping
from job.plan import Action, CurrentTarget, Plan, plan
from job.rollout import Rollout
from job.status import DomainCheck, Outcome, Result
from shared.errors import CertsyncError, ConflictError

log = structlog.get_logger("certsync.job")

MAX_CONFLICTS = 3


class Targets(Protocol):
    def get(self, name: str) -> CurrentTarget | None: ...

    def create(self, name: str, bundle: TlsBundle) -> str: ...  # the new entity tag

    def replace(self, name: str, bundle: TlsBundle, if_match: str) -> str: ...


@dataclass(frozen=True)
class Site:
    """Where a target lives: its project's secrets, and its custom domains (None: not checked)."""

    targets: Targets
    rollout: Rollout | None = None


@dataclass(frozen=True)
class Rules:
    """How a run syncs. `roots`: the trust anchors for domains. `check_current`: a full run also
    checks what the domains of a target that needs no write serve. `dry_run`: plan, write
    nothing."""

    allow_rollback: bool = False
    roots: tuple[x509.Certificate, ...] = ()
    check_current: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class _Synced:
    """What a sync that got as far as a bundle learnt, for its outcome."""

    source: SourceCertificate
    bundle: TlsBundle
    decision: Plan | None
    domains: list[DomainCheck]
    target_tag: str | None


class Syncer:
    def __init__(
        self,
        fetch: Callable[[str], SourceCertificate],
        sites: Callable[[SecretMapping], Site],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        *,
        rules: Rules = Rules(),
        unchanged: Callable[[SecretMapping], Outcome | None] | None = None,
    ) -> None:
        """`sites`: where each mapping's target lives (its project's secrets, and its custom
        domains: a site's `rollout` None is CERTSYNC_VERIFY=off). `unchanged`: the outcome of a
        target known to be current without reading it (`job.plan.Snapshot`), or None."""
        self._fetch = fetch
        self._sites = sites
        self._clock = clock
        self._rules = rules
        self._unchanged = unchanged

    def sync(self, mapping: SecretMapping) -> Outcome:
        started = time.monotonic()
        untouched = f"{mapping.target!r} left unchanged"
        source: SourceCertificate | None = None
        try:
            site = self._sites(mapping)
            domains = self._domains(site, mapping)
            if not domains and self._unchanged is not None:
                known = self._unchanged(mapping)
                if known is not None:
                    return known
            source = self._fetch(mapping.secret_id)
            now = self._clock()
            bundle = build_bundle(source, now)
            if domains:
                what = f"secret {source.name!r} ({source.secret_id})"
                check_names(bundle, domains, what)
                check_trusted(bundle, domains, self._rules.roots, now, what)
        except CertificateRejected as exc:
            return Outcome(
                mapping,
                Result.REJECTED,
                f"{exc}; {untouched}",
                _since(started),
                secret_type=source.secret_type if source else None,
            )
        except CertsyncError as exc:
            return Outcome(mapping, Result.FAILED, f"{exc}; {untouched}", _since(started))
        try:
            result, reason, decision, tag = self._apply(site.targets, mapping, bundle)
        except CertsyncError as exc:
            result, reason, decision, tag = Result.FAILED, str(exc), None, None
        checks = self._verify(site, mapping, bundle, result) if domains else []
        stale = [c for c in checks if not c.verified]
        if stale and not self._rules.dry_run:
            result = Result.FAILED
            reason = f"{reason}; but " + "; ".join(f"{c.domain!r} {c.reason}" for c in stale)
        synced = _Synced(source, bundle, decision, checks, tag)
        return _outcome(mapping, started, result, reason, synced)

    def _domains(self, site: Site, mapping: SecretMapping) -> tuple[str, ...]:
        if site.rollout is None or not mapping.verify:
            return ()
        return site.rollout.domains(mapping.target)

    def _verify(
        self, site: Site, mapping: SecretMapping, bundle: TlsBundle, result: Result
    ) -> list[DomainCheck]:
        assert site.rollout is not None  # there are domains only with a rollout
        if self._rules.dry_run:
            return site.rollout.peek(mapping.target, bundle.leaf)
        if result in (Result.CREATED, Result.UPDATED):
            return site.rollout.after_write(mapping.target, bundle.leaf)
        if result is Result.CURRENT and self._rules.check_current:
            return site.rollout.check(mapping.target, bundle.leaf)
        return []

    def _apply(
        self, targets: Targets, mapping: SecretMapping, bundle: TlsBundle
    ) -> tuple[Result, str, Plan | None, str | None]:
        """What came of it, why, the plan carried out and the target's entity tag after it (what
        the next run compares); conflicts re-read and re-plan."""
        for attempt in range(1, MAX_CONFLICTS + 1):
            current = targets.get(mapping.target)
            decision = plan(bundle, current, allow_rollback=self._rules.allow_rollback)
            read_tag = current.entity_tag if current is not None else None
            if decision.action is Action.NOTHING:
                return Result.CURRENT, decision.reason, decision, read_tag
            if decision.action is Action.REFUSE:
                return Result.REFUSED, f"{decision.reason}; left unchanged", decision, None
            if self._rules.dry_run:
                result = Result.CREATED if decision.action is Action.CREATE else Result.UPDATED
                return result, f"would {decision.action.value}: {decision.reason}", decision, None
            try:
                if decision.action is Action.CREATE:
                    tag = targets.create(mapping.target, bundle)
                    return Result.CREATED, decision.reason, decision, tag or None
                assert decision.if_match is not None
                tag = targets.replace(mapping.target, bundle, decision.if_match)
                return Result.UPDATED, decision.reason, decision, tag or None
            except ConflictError as exc:
                log.warning(
                    "target_conflicted", target=mapping.target, attempt=attempt, status=exc.status
                )
        reason = (
            f"Code Engine secret {mapping.target!r} kept changing while being written "
            f"({MAX_CONFLICTS} conflicts in a row); the next run will try again"
        )
        return Result.FAILED, reason, None, None


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def _outcome(
    mapping: SecretMapping, started: float, result: Result, reason: str, synced: _Synced
) -> Outcome:
    bundle, decision, ok = synced.bundle, synced.decision, result.ok
    return Outcome(
        mapping=mapping,
        result=result,
        reason=reason,
        seconds=_since(started),
        serial=bundle.serial,
        not_after=bundle.not_after.isoformat(),
        previous_serial=decision.current_serial if decision else None,
        previous_not_after=decision.current_not_after if decision else None,
        rollback=decision.rollback if decision and result is Result.UPDATED else False,
        domains=tuple(synced.domains),
        secret_type=synced.source.secret_type,
        source_version=synced.source.version if ok else None,
        target_tag=synced.target_tag if ok else None,
        valid_until=min(c.not_valid_after_utc for c in bundle.chain).isoformat() if ok else None,
    )
