"""What a run reports: one line per mapping (and per custom domain), the expiry watchdog (the
mappings' certificates and, with CERTSYNC_WATCH_UNMANAGED, the TLS secrets no mapping manages),
the status record and the alerts.

The record is updated first, claiming the alerts that are due (not yet sent today for the same
target and condition), so two runs at once cannot both send one; then the claimed alerts are
published. An alert that fails to publish is logged (`alert_failed`) and its claim released so the
next run tries again; nothing here changes what was synced or the run's exit code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

import structlog

from job.alerts import (
    UNMANAGED_REASON,
    Alert,
    UnmanagedSecret,
    alerts_for,
    due,
    expiry_message,
    fewest_days_left,
    note_unmanaged,
    unmanaged_alerts,
    unmanaged_expiring,
)
from job.certs import CertificateRejected, describe, parse_certificates
from job.code_engine import StatusStore, TargetStore
from job.event_notifications import Notifier
from job.mappings import SecretMapping
from job.status import DomainCheck, Outcome, Record, merge, with_alerts_sent
from shared.errors import CertsyncError
from shared.expiry import DEFAULT_WARN_DAYS, days_left, expiring

log = structlog.get_logger("certsync.job")


@dataclass(frozen=True)
class Lines:
    """How each mapping's log line reads: planned (`dry_run`) or done; the `project` and
    `region` it carries (`where`; by default the mapping's own); below `warn_days` days left, a
    domain serving the certificate is logged as a warning."""

    dry_run: bool = False
    where: Callable[[SecretMapping], dict[str, str | None]] | None = None
    warn_days: int = DEFAULT_WARN_DAYS

    def bound(self, mapping: SecretMapping) -> AbstractContextManager[object]:
        """The mapping's secret id, target and place on every line logged within."""
        place = (
            self.where(mapping)
            if self.where is not None
            else {"project": mapping.project or None, "region": mapping.region or None}
        )
        return structlog.contextvars.bound_contextvars(
            secret_id=mapping.secret_id, target=mapping.target, **place
        )

    def emit(self, outcome: Outcome) -> Outcome:
        """The mapping's one line, and one per custom domain."""
        level = log.error if not outcome.ok else log.warning if outcome.rollback else log.info
        level(
            "mapping_planned" if self.dry_run else outcome.result.event,
            outcome=outcome.result.value,
            days_left=days_left(outcome.not_after, dt.datetime.now(dt.UTC)),
            reason=outcome.reason,
            serial=outcome.serial,
            not_after=outcome.not_after,
            previous_serial=outcome.previous_serial,
            previous_not_after=outcome.previous_not_after,
            seconds=outcome.seconds,
            **({"rollback": True} if outcome.rollback else {}),
        )
        for check in outcome.domains:
            self._domain(check)
        return outcome

    def _domain(self, check: DomainCheck) -> None:
        """Verified (with the seconds it took) or stale; in a dry run, what it serves now."""
        left = days_left(check.served_not_after, dt.datetime.now(dt.UTC))
        fields = {"domain": check.domain, "serial": check.served_serial, "seconds": check.seconds}
        if self.dry_run:
            log.info(
                "domain_checked", serves_certificate=check.verified, reason=check.reason, **fields
            )
        elif not check.verified:
            log.error("domain_stale", reason=check.reason, days_left=left, **fields)
        else:
            level = log.warning if expiring(left, self.warn_days) else log.info
            level("domain_verified", days_left=left, **fields)


def watch_expiry(outcomes: Sequence[Outcome], now: dt.datetime, warn_days: int) -> None:
    """A warning for every certificate (in Secrets Manager or as served) close to expiry."""
    for outcome in outcomes:
        left = fewest_days_left(outcome, now)
        if left is not None and expiring(left, warn_days):
            log.warning(
                "certificate_expiring",
                target=outcome.mapping.target,
                secret_id=outcome.mapping.secret_id,
                secret_type=outcome.secret_type,
                days_left=left,
                not_after=outcome.not_after,
                detail=expiry_message(outcome, left),
            )


def find_unmanaged(
    targets: Callable[[str, str], TargetStore], mappings: Sequence[SecretMapping]
) -> tuple[list[UnmanagedSecret], list[str]]:
    """The TLS secrets no mapping manages in the places the mappings (and the job) live
    (`targets(project, region)`), and what could not be read (one line each)."""
    managed = {m.key for m in mappings}
    places = sorted({("", ""), *((m.project, m.region) for m in mappings)})
    found: list[UnmanagedSecret] = []
    problems: list[str] = []
    for project, region in places:
        store = targets(project, region)
        try:
            names = sorted(store.list_tags())
        except CertsyncError as exc:
            problems.append(str(exc))
            continue
        for name in names:
            if SecretMapping("", name, project=project, region=region).key in managed:
                continue
            try:
                current = store.get(name)
                if current is None or not current.tls_cert:
                    continue
                leaf = parse_certificates(current.tls_cert, f"TLS secret {name!r}")[0]
            except (CertsyncError, CertificateRejected) as exc:
                problems.append(str(exc))
                continue
            found.append(
                UnmanagedSecret(
                    name, project, region, format(leaf.serial_number, "x"),
                    leaf.not_valid_after_utc, describe(leaf),
                )
            )  # fmt: skip
    return found, problems


def watch_unmanaged(
    found: Sequence[UnmanagedSecret], now: dt.datetime, warn_days: int
) -> list[tuple[UnmanagedSecret, int]]:
    """A warning for every TLS secret no mapping manages that is close to expiry."""
    close = unmanaged_expiring(found, now, warn_days)
    for secret, left in close:
        log.warning(
            "certificate_expiring",
            target=secret.name,
            project=secret.project or None,
            region=secret.region or None,
            unmanaged=True,
            days_left=left,
            not_after=secret.not_after.isoformat(),
            detail=f"{secret.certificate}: {UNMANAGED_REASON}",
        )
    return close


@dataclass(frozen=True)
class Reporting:
    """Where a run's outcomes go: the status record (`store`) and the alerts (`notifier`; None:
    none sent), raised below `warn_days` days left and, with `on_update`, for every update."""

    store: StatusStore
    notifier: Notifier | None
    warn_days: int
    on_update: bool = False


def report(
    outcomes: Sequence[Outcome],
    now: dt.datetime,
    to: Reporting,
    *,
    first: tuple[Record, str | None] | None = None,
    expiring_unmanaged: Sequence[tuple[UnmanagedSecret, int]] = (),
) -> None:
    """Record the outcomes and send the alerts that are due; never raises. `first`: the record
    as this run read it at its start (`StatusStore.update`)."""
    store, notifier = to.store, to.notifier
    claimed: list[Alert] = []

    def change(record: Record) -> Record:
        raised = [
            a
            for o in outcomes
            for a in alerts_for(o, now, warn_days=to.warn_days, on_update=to.on_update)
        ]
        raised += unmanaged_alerts(expiring_unmanaged)
        record = note_unmanaged(record, expiring_unmanaged, now)
        claimed[:] = due(raised, record, now) if notifier is not None else []
        merged = merge(record, outcomes, now)
        return with_alerts_sent(merged, [(a.target, a.condition.value) for a in claimed], now)

    try:
        store.update(change, first=first)
    except CertsyncError as exc:
        log.warning("status_write_failed", configmap=store.name, error=str(exc))
        return
    log.info("status_written", configmap=store.name, targets=len(outcomes))
    if notifier is None:
        return
    failed = [a for a in claimed if not _publish(notifier, a, now)]
    if failed:
        _release(store, failed)


def _publish(notifier: Notifier, alert: Alert, now: dt.datetime) -> bool:
    try:
        notifier.publish(alert, now)
    except CertsyncError as exc:
        log.warning("alert_failed", alert_type=alert.type, target=alert.target, error=str(exc))
        return False
    log.info("alert_published", alert_type=alert.type, target=alert.target)
    return True


def _release(store: StatusStore, failed: list[Alert]) -> None:
    """Forget the claims of alerts that did not go out, so the next run sends them."""

    def change(record: Record) -> Record:
        updated = dict(record)
        for alert in failed:
            status = updated.get(alert.target)
            if status is not None:
                alerted = {k: v for k, v in status.alerted.items() if k != alert.condition.value}
                updated[alert.target] = replace(status, alerted=alerted)
        return updated

    try:
        store.update(change)
    except CertsyncError as exc:
        log.warning("status_write_failed", configmap=store.name, error=str(exc))
