"""After the syncs: the expiry watchdog, the status record and the alerts.

The record is updated first, claiming the alerts that are due (not yet sent today for the same
target and condition), so two runs at once cannot both send one; then the claimed alerts are
published. An alert that fails to publish is logged (`alert_failed`) and its claim released so the
next run tries again; nothing here changes what was synced or the run's exit code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

import structlog

from job import unmanaged
from job.alerts import Alert, alerts_for, due, expiry_message, fewest_days_left
from job.code_engine import StatusStore
from job.event_notifications import Notifier
from job.outcome import Outcome
from job.status import Record, merge, with_alerts_sent
from shared.errors import CertsyncError
from shared.expiry import expiring

log = structlog.get_logger("certsync.job")


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


def watch_unmanaged(
    found: Sequence[unmanaged.UnmanagedSecret], now: dt.datetime, warn_days: int
) -> list[tuple[unmanaged.UnmanagedSecret, int]]:
    """A warning for every TLS secret no mapping manages that is close to expiry."""
    close = unmanaged.expiring(found, now, warn_days)
    for secret, left in close:
        log.warning(
            "certificate_expiring",
            target=secret.name,
            project=secret.project or None,
            region=secret.region or None,
            unmanaged=True,
            days_left=left,
            not_after=secret.not_after.isoformat(),
            detail=f"{secret.certificate}: {unmanaged.REASON}",
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
    expiring_unmanaged: Sequence[tuple[unmanaged.UnmanagedSecret, int]] = (),
) -> None:
    """Record the outcomes and send the alerts that are due; never raises. `first`: the record
    as this run read it at its start (`StatusStore.update`). `expiring_unmanaged`: the expiring TLS
    secrets no mapping manages (`job.unmanaged`), with their days left."""
    store, notifier, warn_days, on_update = to.store, to.notifier, to.warn_days, to.on_update
    claimed: list[Alert] = []

    def change(record: Record) -> Record:
        raised = [
            a
            for o in outcomes
            for a in alerts_for(o, now, warn_days=warn_days, on_update=on_update)
        ]
        raised += unmanaged.alerts(expiring_unmanaged)
        record = unmanaged.noted(record, expiring_unmanaged, now)
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
