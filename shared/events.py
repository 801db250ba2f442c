"""Event Notifications notifications carrying Secrets Manager events: parsed outside-in, purely.

The envelope is validated first (an object with an `id` and a `data` object), then the payload
(`data.event_type`, `data.secrets[]` with a `secret_id` each). Event Notifications puts the short
name in `data.event_type` (`secret_rotated`) and the full one, with any sub-type, in the envelope's
`type` (`com.ibm.cloud.secrets-manager.secret_about_to_expire:in_10_days`); both are accepted and
normalised to the full name without the sub-type. Secret references may be bare ids or
full CRNs; `secret_id_from_ref` reduces both to the id that mappings are matched on.

`compact` is the inverse the trigger uses to pass a notification on to a job run: only what the
job reads (a whole notification in CRN form is about 2 KB for one secret and 52 KB for 100, and a
Code Engine job run is limited to 10 KiB); `parse_notification` reads both forms the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.crn import SECRETS_MANAGER, parse_crn
from shared.errors import PermanentError

EVENT_PREFIX = "com.ibm.cloud.secrets-manager."
MAX_SECRETS = 100  # Secrets Manager batches at most 100 secrets into one notification
# The secret types certsync syncs; every other type also emits secret_rotated.
CERTIFICATE_TYPES = ("imported_cert", "public_cert", "private_cert")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class MalformedEvent(PermanentError):
    """The notification is not JSON, or not the shape Event Notifications sends."""


@dataclass(frozen=True)
class EventSecret:
    secret_id: str  # the bare Secrets Manager id
    name: str | None = None
    expiration: str | None = None
    serial_number: str | None = None


@dataclass(frozen=True)
class Notification:
    id: str
    notification_id: str | None
    type: str | None  # the envelope's `type`, as sent
    time: str | None  # the envelope's `time`, as sent
    event_type: str  # always in full: com.ibm.cloud.secrets-manager.secret_rotated
    event_sub_type: str | None  # e.g. in_10_days for secret_about_to_expire
    secret_type: str | None
    secrets: tuple[EventSecret, ...]
    source_instance_crn: str | None

    @property
    def key(self) -> str:
        """What identifies one notification across redeliveries."""
        return self.notification_id or self.id

    @property
    def kind(self) -> str:
        """The event's short name: secret_rotated, secret_expired, test_event, ..."""
        return self.event_type.removeprefix(EVENT_PREFIX)

    @property
    def secret_ids(self) -> tuple[str, ...]:
        return tuple(s.secret_id for s in self.secrets)

    @property
    def is_certificate(self) -> bool:
        return self.secret_type in CERTIFICATE_TYPES


def compact(notification: Notification, secret_ids: Sequence[str]) -> dict[str, Any]:
    """The notification reduced to what a job run needs, naming `secret_ids` (bare ids)."""
    envelope = {
        "id": notification.id,
        "notification_id": notification.notification_id,
        "type": notification.type,
        "time": notification.time,
    }
    data = {
        "event_type": notification.kind,
        "secret_type": notification.secret_type,
        "secrets": [{"secret_id": secret_id} for secret_id in secret_ids],
    }
    return {
        **{k: v for k, v in envelope.items() if v is not None},
        "data": {k: v for k, v in data.items() if v is not None},
    }


def secret_id_from_ref(ref: str) -> str:
    """`<id>` or `crn:v1:...:secrets-manager:<region>:a/<account>:<instance>:secret:<id>` -> `<id>`.

    Raises ValueError naming what is wrong (never echoing more than the reference itself).
    """
    ref = ref.strip()
    if ref.startswith("crn:"):
        crn = parse_crn(ref)
        if crn is None or crn.service_name != SECRETS_MANAGER or crn.resource_type != "secret":
            raise ValueError(
                f"{ref!r} is not a Secrets Manager secret CRN "
                "(crn:v1:<cloud>:<type>:secrets-manager:<region>:a/<account>:<instance>:secret:<id>)"
            )
        ref = crn.resource
    if not _ID.match(ref):
        raise ValueError(f"{ref!r} is not a valid secret id")
    return ref


def parse_notification(raw: str | bytes) -> Notification:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent(f"notification is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedEvent("notification is not valid JSON: nested too deeply") from None
    return notification_from_dict(body)


def notification_from_dict(body: Any) -> Notification:
    if not isinstance(body, dict):
        raise MalformedEvent("notification must be a JSON object")
    nid = _text(body, "id", required=True) or ""
    data = body.get("data")
    if not isinstance(data, dict):
        raise MalformedEvent("notification has no 'data' object")
    raw_type = (_text(data, "event_type") or _text(body, "type") or "").strip()
    if not raw_type or raw_type.startswith(":"):
        raise MalformedEvent("notification has no 'data.event_type' (nor a top-level 'type')")
    raw_secrets = data.get("secrets", [])
    if not isinstance(raw_secrets, list):
        raise MalformedEvent("'data.secrets' must be an array")
    if len(raw_secrets) > MAX_SECRETS:
        raise MalformedEvent(
            f"'data.secrets' has {len(raw_secrets)} entries; at most {MAX_SECRETS}"
        )
    secrets = tuple(_secret(i, item) for i, item in enumerate(raw_secrets))
    return Notification(
        id=nid,
        notification_id=_text(body, "notification_id"),
        type=_text(body, "type"),
        time=_text(body, "time"),
        event_type=_full_event_type(raw_type),
        event_sub_type=_text(data, "event_sub_type") or _sub_type(_text(body, "type")),
        secret_type=_text(data, "secret_type"),
        secrets=secrets,
        source_instance_crn=_text(data, "source_instance_crn"),
    )


def _full_event_type(raw: str) -> str:
    """`secret_rotated` (as in `data.event_type`) or `com.ibm.cloud.secrets-manager.secret_rotated`
    or `...secret_about_to_expire:in_10_days` (as in the envelope's `type`) -> the full type."""
    name = raw.strip().split(":", 1)[0]
    return name if "." in name else EVENT_PREFIX + name


def _sub_type(envelope_type: str | None) -> str | None:
    if envelope_type and ":" in envelope_type:
        return envelope_type.split(":", 1)[1] or None
    return None


def _secret(index: int, item: Any) -> EventSecret:
    where = f"data.secrets[{index}]"
    if not isinstance(item, dict):
        raise MalformedEvent(f"'{where}' must be an object")
    ref = item.get("secret_id")
    if not isinstance(ref, str) or not ref.strip():
        raise MalformedEvent(f"'{where}.secret_id' is missing or not a string")
    try:
        secret_id = secret_id_from_ref(ref)
    except ValueError as exc:
        raise MalformedEvent(f"'{where}.secret_id': {exc}") from None
    return EventSecret(
        secret_id=secret_id,
        name=_text(item, "secret_name", where=where),
        expiration=_text(item, "secret_expiration", where=where),
        serial_number=_text(item, "serial_number", where=where),
    )


def _text(obj: dict[str, Any], key: str, *, required: bool = False, where: str = "") -> str | None:
    value = obj.get(key)
    if type(value) is str and (not required or value.strip()):  # the usual case, checked first
        return value
    name = f"{where}.{key}" if where else key
    if value is None:
        if required:
            raise MalformedEvent(f"notification has no '{name}'")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise MalformedEvent(f"'{name}' must be a non-empty string")
    return value
