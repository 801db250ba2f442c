"""Alerts: one target, one condition, at most once a day (pure).

certsync is an Event Notifications *custom source*; users route its events to Slack, Teams,
PagerDuty, webhooks or email with the subscriptions they already have. Each alert is a CloudEvent
whose `type` names its condition (`job.status.Condition`, stable), about one target, with the
facts in `data`. Which alerts are due is decided here (`alerts_for`, `due`); publishing is
`job.event_notifications.Notifier`, best effort: a failure is logged by the caller and never
changes what was synced.

With `CERTSYNC_WATCH_UNMANAGED=true`, a TLS secret no mapping manages raises
`certificate_expiring` within the warning window too, naming it as unmanaged: nothing renews it.
Its alert is claimed in the status record like any other, under the key a mapping of that secret
would have (`SecretMapping.key`), so adopting it later keeps its history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from job.mappings import SecretMapping
from job.status import Condition, Outcome, Record, TargetStatus, iso
from shared.expiry import days_left, expiring

UNMANAGED = "unmanaged"  # the status record's outcome for a TLS secret no mapping manages
UNMANAGED_REASON = "no certsync mapping manages this TLS secret: nothing renews it"


@dataclass(frozen=True)
class Alert:
    condition: Condition
    target: str
    short: str
    long: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.condition.type

    @property
    def severity(self) -> str:
        return self.condition.severity


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
                Condition.DOMAIN_STALE,
                target,
                f"certsync: {names} does not serve the current certificate of '{target}'",
                f"Code Engine secret '{target}': {outcome.reason}",
                {**facts, "domains": [c.domain for c in stale]},
            )
        )
    condition = outcome.result.alert
    if condition is not None and not (stale and condition is Condition.MAPPING_FAILED):
        alerts.append(_simple(condition, target, outcome, facts))
    expiring = _expiring(outcome, now, warn_days, facts)
    if expiring is not None:
        alerts.append(expiring)
    if on_update and outcome.result.written:
        alerts.append(_simple(Condition.CERTIFICATE_UPDATED, target, outcome, facts))
    return alerts


def due(alerts: list[Alert], record: Record, now: dt.datetime) -> list[Alert]:
    """The alerts not already sent today for the same target and condition."""
    today = now.date().isoformat()
    return [
        a
        for a in alerts
        if a.target not in record or record[a.target].alerted.get(a.condition.value) != today
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
        Condition.CERTIFICATE_EXPIRING,
        outcome.mapping.key,
        f"certsync: {message.split(';')[0]}",
        message,
        {**facts, "days_left": left},
    )


def _simple(condition: Condition, target: str, outcome: Outcome, facts: dict[str, Any]) -> Alert:
    short = f"certsync: {condition.summary} for '{target}'"
    return Alert(condition, target, short, outcome.reason, facts)


@dataclass(frozen=True)
class UnmanagedSecret:
    name: str
    project: str  # "" for both: the job's own project and region
    region: str
    serial: str
    not_after: dt.datetime
    certificate: str  # `job.certs.describe`: CN and serial

    @property
    def key(self) -> str:
        return SecretMapping("", self.name, project=self.project, region=self.region).key


def unmanaged_expiring(
    found: Iterable[UnmanagedSecret], now: dt.datetime, warn_days: int
) -> list[tuple[UnmanagedSecret, int]]:
    """The unmanaged secrets within the warning window, with their days left."""
    out = []
    for secret in found:
        left = days_left(secret.not_after, now)
        if left is not None and expiring(left, warn_days):
            out.append((secret, left))
    return out


def unmanaged_alerts(found: Iterable[tuple[UnmanagedSecret, int]]) -> list[Alert]:
    return [_unmanaged_alert(secret, left) for secret, left in found]


def _unmanaged_alert(secret: UnmanagedSecret, left: int) -> Alert:
    when = secret.not_after.isoformat()
    short = f"certsync: the unmanaged TLS secret '{secret.name}' expires in {left} days ({when})"
    long = (
        f"{short.removeprefix('certsync: ')}; {UNMANAGED_REASON}. Renew it by hand, or let "
        "certsync manage it: python -m deploy adopt --config certsync.yaml --write, then plan "
        "and apply"
    )
    data = {
        "target": secret.key,
        "unmanaged": True,
        "serial": secret.serial,
        "not_after": when,
        "days_left": left,
        "certificate": secret.certificate,
        **{k: v for k, v in (("project", secret.project), ("region", secret.region)) if v},
    }
    return Alert(Condition.CERTIFICATE_EXPIRING, secret.key, short, long, data)


def note_unmanaged(
    record: Record, found: Iterable[tuple[UnmanagedSecret, int]], now: dt.datetime
) -> Record:
    """`record` with an entry for each expiring unmanaged secret (where its alerts are claimed);
    an entry a mapping wrote is left alone."""
    updated = dict(record)
    for secret, _ in found:
        before = updated.get(secret.key)
        if before is not None and before.outcome != UNMANAGED:
            continue
        updated[secret.key] = TargetStatus(
            secret_id="",
            serial=secret.serial,
            not_after=secret.not_after.isoformat(),
            outcome=UNMANAGED,
            reason=UNMANAGED_REASON,
            checked_at=iso(now),
            alerted=dict(before.alerted) if before else {},
            project=secret.project,
            region=secret.region,
        )
    return updated
