"""The notifications Event Notifications fans out for a Secrets Manager source.

Sources (ibm-cloud-docs): secrets-manager `framework/event-notifications.md` (event table, severity,
the `data` example and its property table); event-notifications `en-payload.md` (CloudEvents
attributes, `type` is `<event-type>:<sub-type>`), `en-map-notification-payload.md` (the envelope a
destination receives, with both `id` and `notification_id`).

What the docs show, and this module sends:
- `data.event_type` is the bare name (`secret_rotated`); the qualified name
  (`com.ibm.cloud.secrets-manager.secret_rotated`) is only in the envelope's `type`.
- `data.secrets[].domains` is one comma-separated string (`"domain2.com, domain3.com"`), not a list.
- `data.secrets[].secret_id` is the secret's CRN in the docs' example.
- At most 100 secrets per notification.

Unknown, and the stricter choice made here:
- Whether `data.event_sub_type` is present (empty) for events without a subtype: it is omitted.
- The `data` of a test event: only `event_type` and the source fields, no `secret_type`/`secrets`.
- Whether secrets beyond 100 arrive in further notifications: they do, 100 per notification.
- The exact wording of `ibmendefaultshort`/`ibmendefaultlong` beyond the docs' email example.
- `ibmensourceid` for an IBM Cloud source: the instance CRN (as in the Cloud Logs example).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from localcloud.account import Identity

TYPE_PREFIX = "com.ibm.cloud.secrets-manager."
MAX_SECRETS = 100
SOURCE_SERVICE = "SecretsManager"

# Event name -> ibmenseverity, from the Secrets Manager event table.
SEVERITY: dict[str, str] = {
    "secret_created": "low",
    "secret_creation_failed": "low",
    "secret_rotated": "low",
    "secret_rotation_failed": "high",
    "secret_about_to_expire": "high",
    "secret_expired": "high",
    "secret_revoked": "low",
    "secret_deleted": "low",
    "secret_deletion_failed": "high",
    "secret_deletion_blocked": "low",
    "secret_revocation_blocked": "low",
    "secret_rotation_blocked": "low",
    "secret_expiration_blocked": "high",
    "secret_data_removed": "low",
    "secret_version_data_deleted": "low",
    "test_event": "low",
}
EXPIRY_SUBTYPES = ("in_90_days", "in_60_days", "in_30_days", "in_10_days", "in_1_day", "in_0_days")
SECRET_TYPES: dict[str, str] = {
    "arbitrary": "arbitrary",
    "iam_credentials": "IAM credentials",
    "kv": "key-value",
    "username_password": "user credentials",
    "imported_cert": "imported certificate",
    "private_cert": "private certificate",
    "public_cert": "public certificate",
    "service_credentials": "service credentials",
    "custom_credentials": "custom credentials",
}
CERT_TYPES = frozenset({"imported_cert", "private_cert", "public_cert"})
REQUIRED_FIELDS = (
    "event_time",
    "event_triggered_by",
    "secret_group_id",
    "secret_id",
    "secret_name",
)
CERT_FIELDS = ("domains", "serial_number")


@dataclass(frozen=True)
class SecretEvent:
    """A Secrets Manager event: `name` (`secret_rotated`), optional `sub_type` (`in_1_day`)."""

    name: str
    sub_type: str | None = None

    @classmethod
    def parse(cls, text: str) -> SecretEvent:
        """Accept `secret_rotated`, `secret_about_to_expire:in_10_days`, or the prefixed forms."""
        name, _, sub_type = text.removeprefix(TYPE_PREFIX).partition(":")
        if name not in SEVERITY:
            raise ValueError(f"unknown Secrets Manager event {text!r}")
        if name == "secret_about_to_expire" and sub_type not in EXPIRY_SUBTYPES:
            raise ValueError(f"{name!r} needs one of the subtypes {EXPIRY_SUBTYPES}, got {text!r}")
        if name != "secret_about_to_expire" and sub_type:
            raise ValueError(f"event {name!r} has no subtype, got {text!r}")
        return cls(name, sub_type or None)

    @property
    def type(self) -> str:
        """The envelope's CloudEvents `type`: `<event-type>:<sub-type>` per en-payload.md."""
        base = TYPE_PREFIX + self.name
        return f"{base}:{self.sub_type}" if self.sub_type else base

    @property
    def severity(self) -> str:
        return SEVERITY[self.name]

    def matches(self, selector: str) -> bool:
        """A topic rule: `secret_about_to_expire` matches every subtype, `...:in_1_day` only one."""
        name, _, sub_type = selector.removeprefix(TYPE_PREFIX).partition(":")
        return name == self.name and (not sub_type or sub_type == self.sub_type)


def check_selector(selector: str) -> None:
    """A subscription's event: a known name, and for expiry events optionally a known subtype."""
    name, _, sub_type = selector.removeprefix(TYPE_PREFIX).partition(":")
    if name not in SEVERITY:
        raise ValueError(f"unknown Secrets Manager event {selector!r}")
    if sub_type and not (name == "secret_about_to_expire" and sub_type in EXPIRY_SUBTYPES):
        raise ValueError(f"event {name!r} has no subtype {sub_type!r}")


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def source_fields(identity: Identity) -> dict[str, str]:
    """The `source_*` properties every Secrets Manager notification carries."""
    instance, region, crn = identity.sm_instance_id, identity.sm_region, identity.sm_instance_crn
    quoted = crn.replace(":", "%3A").replace("/", "%2F")
    return {
        "source_instance_api_private_url": (
            f"https://{instance}.private.{region}.secrets-manager.appdomain.cloud/api"
        ),
        "source_instance_api_public_url": (
            f"https://{instance}.{region}.secrets-manager.appdomain.cloud/api"
        ),
        "source_instance_crn": crn,
        "source_instance_dashboard_url": f"https://cloud.ibm.com/services/secrets-manager/{quoted}",
        "source_service": SOURCE_SERVICE,
    }


def normalize_secret(secret_type: str, secret: dict[str, Any]) -> dict[str, Any]:
    """Check one `secrets[]` entry against the documented properties; join list `domains`."""
    required = REQUIRED_FIELDS + (CERT_FIELDS if secret_type in CERT_TYPES else ())
    missing = [key for key in required if key not in secret]
    if missing:
        raise ValueError(f"secret entry {secret.get('secret_name')!r} lacks {missing}")
    entry = dict(secret)
    if isinstance(entry.get("domains"), list | tuple):
        entry["domains"] = ", ".join(str(d) for d in entry["domains"])
    return entry


def envelope(
    identity: Identity, event: SecretEvent, data: dict[str, Any], short: str, long: str
) -> dict[str, Any]:
    crn = identity.sm_instance_crn
    return {
        "id": str(uuid.uuid4()),
        "notification_id": str(uuid.uuid4()),
        "source": crn,
        "specversion": "1.0",
        "type": event.type,
        "time": now_rfc3339(),
        "datacontenttype": "application/json",
        "ibmensourceid": crn,
        "ibmenseverity": event.severity,
        "ibmendefaultshort": short,
        "ibmendefaultlong": long,
        "data": data,
    }


def secret_notifications(
    identity: Identity, event: SecretEvent, secret_type: str, secrets: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One notification per 100 secrets."""
    if secret_type not in SECRET_TYPES:
        raise ValueError(f"unknown secret_type {secret_type!r}")
    if not secrets:
        raise ValueError("a secret event needs at least one secret")
    entries = [normalize_secret(secret_type, s) for s in secrets]
    out = []
    for start in range(0, len(entries), MAX_SECRETS):
        chunk = entries[start : start + MAX_SECRETS]
        data: dict[str, Any] = {"event_type": event.name}
        if event.sub_type:
            data["event_sub_type"] = event.sub_type
        data |= {"secret_type": secret_type, "secrets": chunk, **source_fields(identity)}
        short, long = messages(event, secret_type, [str(e["secret_name"]) for e in chunk])
        out.append(envelope(identity, event, data, short, long))
    return out


def notification_for_test_event(identity: Identity) -> dict[str, Any]:
    event = SecretEvent("test_event")
    data = {"event_type": event.name, **source_fields(identity)}
    short = "Test event from Secrets Manager"
    long = "This is a test event sent from your Secrets Manager instance to Event Notifications."
    return envelope(identity, event, data, short, long)


def messages(event: SecretEvent, secret_type: str, names: list[str]) -> tuple[str, str]:
    """Subject and body, modelled on the docs' email example."""
    count = len(names)
    kind = f"{SECRET_TYPES[secret_type]} secret{'' if count == 1 else 's'}"
    verb = _verb(event, singular=count == 1)
    short = f"Your {count} {kind} {verb}"
    long = (
        f"You have {count} {kind} that {verb}: {', '.join(names)}. You can view and manage your "
        "existing secrets by accessing Secrets Manager in the console, or by using the CLI or "
        "APIs. For more information, check out the docs."
    )
    return short, long


def _verb(event: SecretEvent, *, singular: bool) -> str:
    if event.name == "secret_about_to_expire":
        when = {"in_0_days": "in less than 1 day", "in_1_day": "in 1 day"}.get(
            event.sub_type or "", f"in {(event.sub_type or '').split('_')[1]} days"
        )
        return f"{'expires' if singular else 'expire'} {when}"
    was = "was" if singular else "were"
    fixed = {
        "secret_rotated": f"{was} rotated",
        "secret_rotation_failed": f"{'has' if singular else 'have'} failed to rotate",
        "secret_expired": f"{'has' if singular else 'have'} expired",
    }
    return fixed.get(event.name, event.name.removeprefix("secret_").replace("_", " "))
