"""The watchdog's eye on the TLS secrets no mapping manages (`CERTSYNC_WATCH_UNMANAGED=true`).

On a full run the job lists the TLS secrets of the projects it already reads (its own, and those
its mappings name), reads the ones no mapping manages, and raises `certificate_expiring` for each
within the warning window, naming it as unmanaged: nothing renews it. The alert is claimed in the
status record like any other (once a day per target and condition), under the key a mapping of
that secret would have (`SecretMapping.key`), so adopting it later keeps its history.
`find_unmanaged` is the adapter; the rest is pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from job.alerts import Alert
from job.certs import CertificateRejected, describe, parse_certificates
from job.mappings import SecretMapping
from job.outcome import Condition
from job.sites import Sites
from job.status import Record, TargetStatus
from shared.errors import CertsyncError
from shared.expiry import days_left
from shared.expiry import expiring as is_expiring

OUTCOME = "unmanaged"  # the status record's outcome for such a secret
REASON = "no certsync mapping manages this TLS secret: nothing renews it"


@dataclass(frozen=True)
class UnmanagedSecret:
    name: str
    project: str  # "" for both: the job's own project and region
    region: str
    serial: str
    not_after: dt.datetime
    certificate: str  # `describe`: CN and serial

    @property
    def key(self) -> str:
        return SecretMapping("", self.name, project=self.project, region=self.region).key


def find_unmanaged(
    sites: Sites, mappings: Sequence[SecretMapping]
) -> tuple[list[UnmanagedSecret], list[str]]:
    """The TLS secrets no mapping manages in the places the mappings (and the job) live, and
    what could not be read (one line each)."""
    managed = {m.key for m in mappings}
    places = sorted({("", ""), *((m.project, m.region) for m in mappings)})
    found: list[UnmanagedSecret] = []
    problems: list[str] = []
    for project, region in places:
        store = sites.targets(project, region)
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


def expiring(
    found: Iterable[UnmanagedSecret], now: dt.datetime, warn_days: int
) -> list[tuple[UnmanagedSecret, int]]:
    """The unmanaged secrets within the warning window, with their days left."""
    out = []
    for secret in found:
        left = days_left(secret.not_after, now)
        if left is not None and is_expiring(left, warn_days):
            out.append((secret, left))
    return out


def alerts(found: Iterable[tuple[UnmanagedSecret, int]]) -> list[Alert]:
    return [_alert(secret, left) for secret, left in found]


def _alert(secret: UnmanagedSecret, left: int) -> Alert:
    when = secret.not_after.isoformat()
    short = f"certsync: the unmanaged TLS secret '{secret.name}' expires in {left} days ({when})"
    long = (
        f"{short.removeprefix('certsync: ')}; {REASON}. Renew it by hand, or let certsync manage "
        "it: python -m deploy adopt --config certsync.yaml --write, then plan and apply"
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


def noted(record: Record, found: Iterable[tuple[UnmanagedSecret, int]], now: dt.datetime) -> Record:
    """`record` with an entry for each expiring unmanaged secret (where its alerts are claimed);
    an entry a mapping wrote is left alone."""
    updated = dict(record)
    stamp = now.astimezone(dt.UTC).isoformat(timespec="seconds")
    for secret, _ in found:
        before = updated.get(secret.key)
        if before is not None and before.outcome != OUTCOME:
            continue
        updated[secret.key] = TargetStatus(
            secret_id="",
            serial=secret.serial,
            not_after=secret.not_after.isoformat(),
            outcome=OUTCOME,
            reason=REASON,
            checked_at=stamp,
            alerted=dict(before.alerted) if before else {},
            project=secret.project,
            region=secret.region,
        )
    return updated
