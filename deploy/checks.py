"""What `doctor` reports (one `Check` per line, with its status and the fix it names), and its
certificate checks: what each mapping points at and its days left, and whether a canary rotation
has ever been seen through."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deploy.canary_setup import find_certificate
from deploy.engine import Session
from shared.errors import CertsyncError
from shared.expiry import days_left, expiring


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"
    MANUAL = "manual"


@dataclass(frozen=True)
class Check:
    status: Status
    what: str
    detail: str = ""
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "status": self.status.value.lower(),
            "what": self.what,
            "detail": self.detail,
            "fix": self.fix,
        }


def certificate_checks(
    session: Session, now: dt.datetime, progress: Callable[[str], None]
) -> list[Check]:
    """Each mapping's certificate: what it points at, then its days left."""
    try:
        problems = session.references()
    except CertsyncError as exc:  # a failed read leaves it to the expiry check to name
        progress(f"the mappings' secrets could not be checked: {exc}")
        problems = {}
    sm, warn_days = session.clients.secrets_manager, session.config.expiry_warn_days
    out = []
    for index, mapping in enumerate(session.config.mappings):
        what = f"certificate {mapping.secret_id} -> '{mapping.target}'"
        if index in problems:
            out.append(Check(Status.FAIL, what, problems[index], "fix the mapping's 'secret'"))
            continue
        try:
            meta = session.clients.call(
                lambda m=mapping: sm.get_secret_metadata(id=m.secret_id),
                f"get Secrets Manager secret '{mapping.secret_id}'",
            )
        except CertsyncError as exc:
            out.append(Check(Status.FAIL, what, str(exc), "fix the mapping's 'secret'"))
            continue
        expires = meta.get("expiration_date")
        if not expires:
            out.append(Check(Status.WARN, what, "has no expiration date (not a certificate?)"))
            continue
        out.append(_expiry(what, meta, str(expires), now, warn_days))
    return out


def _expiry(what: str, meta: dict[str, Any], expires: str, now: dt.datetime, warn: int) -> Check:
    """Expired: a failure; fewer than `warn` (`expiry_warn_days`) days left (the job's threshold,
    and its alerts'): a warning."""
    left = days_left(expires, now)
    label = meta.get("name") or meta.get("id")
    detail = f"'{label}' expires {expires} ({left} days left)"
    fix = "renew or rotate it in Secrets Manager"
    if left is None or left < 0:  # whole days, rounded down: -1 from the first second past
        return Check(Status.FAIL, what, detail, fix)
    if expiring(left, warn):
        return Check(Status.WARN, what, f"{detail}; fewer than {warn} (expiry_warn_days)", fix)
    return Check(Status.OK, what, detail)


def canary_hint(session: Session) -> list[Check]:
    """Plain doctor cannot see a rotation through; say so until a canary has run once."""
    try:
        if find_certificate(session) is not None:
            return []
    except CertsyncError as exc:
        return [Check(Status.WARN, "canary rotation", str(exc))]
    return [
        Check(
            Status.MANUAL,
            "canary rotation: never run on this account",
            "only a real rotation shows that the topic filter, the destination, the job run "
            "and the profile's write work together",
            f"python -m deploy doctor --canary --config {session.config.path}",
        )
    ]
