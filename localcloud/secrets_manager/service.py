"""Secrets Manager v2: secret groups, secrets (imported/public/private certificates, arbitrary),
versions and rotation; the operations behind the HTTP API and the in-process API tests use.

Public and private certificates cannot be imported on the real service (they are ordered via ACME
or issued by a private CA configuration), so the API refuses to create or rotate them; tests and
the demo seed and rotate them in-process (`seed_certificate`, `rotate`) or through the control
plane (`control_routes.py`). Every certificate rotation publishes `secret_rotated` to Event
Notifications; the registration with it is `notifications`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol

from localcloud.account import Site
from localcloud.http import BadRequest
from localcloud.secrets_manager import validate
from localcloud.secrets_manager.model import (
    ALL_TYPES,
    CERT_TYPES,
    CertificateParts,
    Details,
    Secret,
    Version,
    now,
    secret_full,
    timestamp,
)
from localcloud.secrets_manager.notifications import Authorizer, Notifications, SourceRegistry
from localcloud.secrets_manager.store import SERVICE_ACTOR, Store

SEED_ACTOR = "IBMid-fakecloud-operator"


class EventSink(SourceRegistry, Protocol):
    """Where Secrets Manager publishes its events: Event Notifications, for which it is a source
    once registered (`notifications`)."""

    def publish_secret_event(
        self, *, event_sub_type: str, secret_type: str, secrets: list[dict[str, Any]]
    ) -> object: ...


def _type_extra(secret_type: str) -> dict[str, Any]:
    """Type-specific metadata the SDK models require for seeded public/private certificates."""
    if secret_type == "public_cert":
        return {
            "rotation": {"auto_rotate": False, "rotate_keys": False},
            "bundle_certs": False,
            "ca": "fakecloud-letsencrypt",
            "dns": "fakecloud-cis",
            "issuance_info": {
                "auto_rotated": False,
                "ordered_on": timestamp(now()),
                "state": 1,
                "state_description": "active",
            },
        }
    if secret_type == "private_cert":
        return {
            "certificate_template": "fakecloud-template",
            "certificate_authority": "fakecloud-intermediate-ca",
            "rotation": {"auto_rotate": False},
        }
    return {}


class SecretsManager:
    def __init__(self, site: Site, events: Callable[[], EventSink], authorized: Authorizer) -> None:
        """`events` is looked up at each rotation: a test may replace the sink. `authorized` is
        IAM's check, which the registration with Event Notifications needs."""
        self.store = Store(site.identity)
        self._events = events
        self.notifications = Notifications(site, events, authorized)

    # -- in-process API for tests and the demo ---------------------------------------------
    def seed_certificate(
        self,
        secret_type: str,
        name: str,
        parts: CertificateParts,
        details: Details = Details(),  # noqa: B008  (frozen: one shared default is safe)
    ) -> dict[str, Any]:
        """Create a certificate secret of any of the three types; returns the full secret."""
        if secret_type not in CERT_TYPES:
            raise BadRequest(f"Invalid secret_type '{secret_type}': not a certificate type")
        payload, info = validate.cert_payload(secret_type, parts)
        version = Version(str(uuid.uuid4()), now(), SEED_ACTOR, payload, info)
        stored = Details(
            self.store.resolve_group(details.group).id,
            validate.labels(details.labels),
            validate.description(details.description),
            details.custom_metadata,
        )
        secret = self.store.add_secret(
            secret_type, validate.name(name), version, stored, _type_extra(secret_type)
        )
        return secret_full(secret, now())

    def rotate(self, secret_id: str, parts: CertificateParts) -> dict[str, Any]:
        """A service-side rotation (renewal/re-issue); publishes `secret_rotated`."""
        secret = self.store.secret(secret_id)
        if secret.secret_type not in CERT_TYPES:
            raise BadRequest(f"Secret '{secret_id}' is not a certificate")
        payload, info = validate.cert_payload(secret.secret_type, parts)
        auto = secret.secret_type != "imported_cert"
        version = Version(str(uuid.uuid4()), now(), SERVICE_ACTOR, payload, info, auto_rotated=auto)
        self._add_version(secret, version, SERVICE_ACTOR)
        return secret_full(secret, now())

    def secret(self, secret_id: str) -> dict[str, Any]:
        """The full secret as `get_secret` returns it (without marking it downloaded)."""
        return secret_full(self.store.secret(secret_id), now())

    def get_by_name(
        self, name: str, secret_type: str = "imported_cert", group: str = "default"
    ) -> dict[str, Any]:
        return secret_full(self.store.by_name(group, secret_type, name), now())

    def create_group(self, name: str, description: str | None = None) -> dict[str, Any]:
        group = self.store.create_group(
            validate.name(name, "secret group name", 64), description, SEED_ACTOR
        )
        return group.to_dict()

    def delete_secret(self, secret_id: str) -> None:
        self.store.delete(secret_id)

    def secret_ids(self) -> list[str]:
        return [s.id for s in self.store.all()]

    # -- what the HTTP API does --------------------------------------------------------------
    def create(self, body: dict[str, Any], caller: str) -> Secret:
        """`POST /secrets`: only the importable types (imported certificates, arbitrary)."""
        secret_type = body.get("secret_type")
        if secret_type in ("public_cert", "private_cert"):
            raise BadRequest(
                f"Invalid secret_type '{secret_type}': it is ordered or issued by the service, "
                "not imported (emulator: seed it via /_localcloud/secrets_manager/secrets)"
            )
        if secret_type not in validate.CREATE_FIELDS:
            known = secret_type in ALL_TYPES
            why = "not supported by the emulator" if known else "unknown secret type"
            raise BadRequest(f"Invalid secret_type '{secret_type}': {why}")
        validate.reject_unknown(body, validate.CREATE_FIELDS[str(secret_type)])
        name = validate.name(body.get("name"))
        group = self.store.group(str(body.get("secret_group_id") or "default"))
        version = self._new_version(str(secret_type), body, caller)
        details = Details(
            group.id,
            validate.labels(body.get("labels")),
            validate.description(body.get("description")),
            validate.metadata_object(body.get("custom_metadata"), "custom_metadata"),
        )
        return self.store.add_secret(str(secret_type), name, version, details)

    def create_version(self, secret: Secret, body: dict[str, Any], caller: str) -> Version:
        """`POST /secrets/{id}/versions`: a rotation by the caller."""
        if secret.secret_type in ("public_cert", "private_cert"):
            # Real: an ACME re-order / CA re-issue. Not emulated; rotate via the control plane.
            raise BadRequest(
                f"Rotating a {secret.secret_type} through the API is not supported by the "
                "emulator; use /_localcloud/secrets_manager/secrets/{id}/rotate"
            )
        validate.reject_unknown(body, validate.VERSION_FIELDS[secret.secret_type])
        version = self._new_version(secret.secret_type, body, caller)
        custom = body.get("custom_metadata")
        if custom is not None:
            secret.custom_metadata = validate.metadata_object(custom, "custom_metadata")
        self._add_version(secret, version, caller)
        return version

    def _new_version(self, secret_type: str, body: dict[str, Any], caller: str) -> Version:
        meta = validate.metadata_object(
            body.get("version_custom_metadata"), "version_custom_metadata"
        )
        if secret_type == "arbitrary":
            payload = {"payload": validate.arbitrary_payload(body)}
            expires = validate.expiration(body.get("expiration_date"))
            return Version(
                str(uuid.uuid4()), now(), caller, payload, None, meta, expiration=expires
            )
        parts = CertificateParts(
            validate.optional_text(body, "certificate"),
            validate.optional_text(body, "private_key"),
            validate.optional_text(body, "intermediate"),
        )
        payload, info = validate.cert_payload(secret_type, parts)
        return Version(str(uuid.uuid4()), now(), caller, payload, info, meta)

    def _add_version(self, secret: Secret, version: Version, triggered_by: str) -> None:
        """Append a version; for certificates publish `secret_rotated` (outside the lock)."""
        self.store.add_version(secret, version)
        if version.cert is None:
            return
        item = {
            "secret_id": secret.crn,
            "secret_name": secret.name,
            "secret_group_id": secret.group_id,
            "serial_number": version.cert.serial_number,
            "domains": version.cert.domains,
            "secret_expiration": timestamp(version.cert.not_after),
            "event_time": timestamp(version.created_at),
            "event_triggered_by": triggered_by,
        }
        self._events().publish_secret_event(
            event_sub_type="secret_rotated", secret_type=secret.secret_type, secrets=[item]
        )
