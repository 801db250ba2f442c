"""Alerts: one target, one condition, at most once a day, published to Event Notifications.

certsync is an Event Notifications *custom source*; users route its events to Slack, Teams,
PagerDuty, webhooks or email with the subscriptions they already have. Each alert is a CloudEvent
whose `type` names its condition (`ALERT_TYPES`, stable), about one target, with the facts in
`data`. Which alerts are due is pure (`alerts_for`, `due`); `Notifier` is the adapter over the
SDK's `send_notifications`. Publishing is best effort: a failure is logged by the caller and never
changes what was synced.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from job.outcome import Outcome, Result
from job.status import Record
from shared.expiry import days_left, expiring
from shared.retry import RetryPolicy
from shared.sdk import call_api

SOURCE = "certsync"
ALERT_TYPES = {
    "mapping_failed": "com.ibm.certsync.mapping.failed",
    "certificate_rejected": "com.ibm.certsync.certificate.rejected",
    "write_refused": "com.ibm.certsync.write.refused",
    "domain_stale": "com.ibm.certsync.domain.stale",
    "certificate_expiring": "com.ibm.certsync.certificate.expiring",
    "certificate_updated": "com.ibm.certsync.certificate.updated",
}
_SEVERITY = {
    "mapping_failed": "HIGH",
    "certificate_rejected": "HIGH",
    "write_refused": "MEDIUM",
    "domain_stale": "HIGH",
    "certificate_expiring": "HIGH",
    "certificate_updated": "LOW",
}


@dataclass(frozen=True)
class Alert:
    condition: str  # a key of ALERT_TYPES
    target: str
    short: str
    long: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return ALERT_TYPES[self.condition]

    @property
    def severity(self) -> str:
        return _SEVERITY[self.condition]


def alerts_for(
    outcome: Outcome, now: dt.datetime, *, warn_days: int, on_update: bool = False
) -> list[Alert]:
    """Every condition this outcome raises (before deduplication)."""
    target = outcome.mapping.key  # the status record's key: alerts are claimed there
    facts: dict[str, Any] = {
        "target": target,
        **{k: v for k, v in _place(outcome).items() if v},
        "secret_id": outcome.mapping.secret_id,
        "serial": outcome.serial,
        "not_after": outcome.not_after,
        "reason": outcome.reason,
    }
    alerts = []
    stale = [c for c in outcome.domains if not c.verified]
    if stale:
        names = ", ".join(c.domain for c in stale)
        alerts.append(
            Alert(
                "domain_stale",
                target,
                f"certsync: {names} does not serve the current certificate of '{target}'",
                f"Code Engine secret '{target}': {outcome.reason}",
                {**facts, "domains": [c.domain for c in stale]},
            )
        )
    elif outcome.result is Result.FAILED:
        alerts.append(_simple("mapping_failed", target, "sync failed", outcome, facts))
    if outcome.result is Result.REJECTED:
        alerts.append(
            _simple("certificate_rejected", target, "certificate rejected", outcome, facts)
        )
    if outcome.result is Result.REFUSED:
        alerts.append(_simple("write_refused", target, "write refused", outcome, facts))
    expiring = _expiring(outcome, now, warn_days, facts)
    if expiring is not None:
        alerts.append(expiring)
    if on_update and outcome.result in (Result.CREATED, Result.UPDATED):
        alerts.append(_simple("certificate_updated", target, "certificate updated", outcome, facts))
    return alerts


def due(alerts: list[Alert], record: Record, now: dt.datetime) -> list[Alert]:
    """The alerts not already sent today for the same target and condition."""
    today = now.date().isoformat()
    return [
        a
        for a in alerts
        if a.target not in record or record[a.target].alerted.get(a.condition) != today
    ]


def expiry_message(outcome: Outcome, left: int) -> str:
    """What a person reads about a certificate close to expiry; the outage case said plainly."""
    when = outcome.not_after or "soon"
    text = f"the certificate of '{outcome.mapping.target}' expires in {left} days ({when})"
    if outcome.secret_type == "imported_cert":
        text += (
            "; it is an imported certificate, which Secrets Manager cannot renew by itself: "
            "import a renewed certificate before then or the site goes down"
        )
    return text


def fewest_days_left(outcome: Outcome, now: dt.datetime) -> int | None:
    """The days left of the certificate in Secrets Manager or of any domain's served one."""
    lefts = [days_left(outcome.not_after, now)]
    lefts += [days_left(c.served_not_after, now) for c in outcome.domains]
    known = [d for d in lefts if d is not None]
    return min(known) if known else None


def _place(outcome: Outcome) -> dict[str, str]:
    """Where a target outside the job's own project and region lives."""
    return {"project": outcome.mapping.project, "region": outcome.mapping.region}


def _expiring(
    outcome: Outcome, now: dt.datetime, warn_days: int, facts: dict[str, Any]
) -> Alert | None:
    left = fewest_days_left(outcome, now)
    if left is None or not expiring(left, warn_days):
        return None
    message = expiry_message(outcome, left)
    return Alert(
        "certificate_expiring",
        outcome.mapping.key,
        f"certsync: {message.split(';')[0]}",
        message,
        {**facts, "days_left": left},
    )


def _simple(
    condition: str, target: str, what: str, outcome: Outcome, facts: dict[str, Any]
) -> Alert:
    return Alert(condition, target, f"certsync: {what} for '{target}'", outcome.reason, facts)


class EventNotificationsApi(Protocol):
    def send_notifications(self, instance_id: str, **kwargs: Any) -> Any: ...


class Notifier:
    """Publishes alerts as the custom source `source_id` of instance `instance_id`."""

    def __init__(
        self, api: EventNotificationsApi, instance_id: str, source_id: str, *, policy: RetryPolicy
    ) -> None:
        self._api = api
        self._instance = instance_id
        self._source = source_id
        self._policy = policy

    def publish(self, alert: Alert, now: dt.datetime) -> None:
        # Imported here: only runs that send an alert pay for loading the SDK (~0.1 s).
        from ibm_eventnotifications.event_notifications_v1 import NotificationCreate

        body = NotificationCreate(
            specversion="1.0",
            id=str(uuid.uuid4()),
            source=SOURCE,
            type=alert.type,
            ibmensourceid=self._source,
            ibmendefaultshort=alert.short,
            ibmendefaultlong=alert.long,
            time=now,
            ibmenseverity=alert.severity,
            data=alert.data,
            datacontenttype="application/json",
        )
        call_api(
            lambda: self._api.send_notifications(self._instance, body=body),
            what=f"publish alert {alert.type!r} for {alert.target!r}",
            policy=self._policy,
        )
