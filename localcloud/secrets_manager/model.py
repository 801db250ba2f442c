"""Secrets Manager v2 state (groups, secrets, versions) and its JSON renderings.

Field names and required fields follow the SDK's model classes (`ImportedCertificate`,
`PublicCertificate`, `PrivateCertificate`, `ArbitrarySecret` and their `*Metadata`, `*Version`,
`*VersionMetadata` forms). Timestamps use the service's format `2024-05-22T15:46:26.000Z`.
Empty `labels` / `custom_metadata` are omitted, as real list responses show.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.secrets_manager.pem import CertInfo

CERT_TYPES = ("imported_cert", "public_cert", "private_cert")
ALL_TYPES = (
    "arbitrary",
    "iam_credentials",
    "imported_cert",
    "kv",
    "private_cert",
    "public_cert",
    "service_credentials",
    "username_password",
    "custom_credentials",
)
# Payload fields per type, in the order the service returns them.
PAYLOAD_FIELDS: dict[str, tuple[str, ...]] = {
    "imported_cert": ("certificate", "intermediate", "private_key"),
    "public_cert": ("certificate", "intermediate", "private_key"),
    "private_cert": ("certificate", "issuing_ca", "ca_chain", "private_key"),
    "arbitrary": ("payload",),
}
STATE_ACTIVE = (1, "active")
STATE_DEACTIVATED = (3, "deactivated")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# A listing formats each secret's dates again on every call, and they seldom change.
@functools.lru_cache(maxsize=4096)
def timestamp(value: dt.datetime) -> str:
    """`2024-05-22T15:46:26.000Z`: UTC, milliseconds, `Z`."""
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class CertificateParts:
    """A certificate version's PEM parts, named as the API names them (`certificate`,
    `private_key`, `intermediate`; a private certificate's `issuing_ca` and `ca_chain`);
    `validate.cert_payload` checks them."""

    certificate: str | None
    private_key: str | None = None
    intermediate: str | None = None
    issuing_ca: str | None = None
    ca_chain: list[str] | None = None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> CertificateParts:
        """The parts a request body holds, unchecked."""
        fields = ("certificate", "private_key", "intermediate", "issuing_ca", "ca_chain")
        return cls(*(body.get(name) for name in fields))


@dataclass(frozen=True)
class Details:
    """What describes a secret besides its versions: its group (a name or id where a secret is
    seeded, the id where it is stored), labels, description and custom metadata."""

    group: str = "default"
    labels: list[str] | None = None
    description: str | None = None
    custom_metadata: dict[str, Any] | None = None


@dataclass
class Group:
    id: str
    name: str
    description: str
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "created_at": timestamp(self.created_at),
            "created_by": self.created_by,
            "updated_at": timestamp(self.updated_at),
        }


@dataclass
class Version:
    id: str
    created_at: dt.datetime
    created_by: str
    payload: dict[str, Any]
    cert: CertInfo | None
    custom_metadata: dict[str, Any] = field(default_factory=dict)
    auto_rotated: bool = False
    downloaded: bool = False
    expiration: dt.datetime | None = None  # arbitrary secrets only

    @property
    def expiration_date(self) -> dt.datetime | None:
        return self.cert.not_after if self.cert else self.expiration


@dataclass
class Secret:
    id: str
    crn: str
    name: str
    secret_type: str
    group_id: str
    created_at: dt.datetime
    created_by: str
    versions: list[Version]
    description: str | None = None
    labels: list[str] = field(default_factory=list)
    custom_metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # type-specific metadata
    updated_at: dt.datetime = field(default_factory=now)
    retrieved_at: dt.datetime | None = None
    downloaded: bool = False

    @property
    def current(self) -> Version:
        return self.versions[-1]

    @property
    def previous(self) -> Version | None:
        return self.versions[-2] if len(self.versions) > 1 else None

    def alias(self, version: Version) -> str | None:
        if version is self.current:
            return "current"
        if version is self.previous:
            return "previous"
        return None

    def payload_available(self, version: Version) -> bool:
        """The service keeps secret data for the current and previous versions only."""
        return self.alias(version) is not None

    def state(self, at: dt.datetime) -> tuple[int, str]:
        # Certificates past `not_after` are reported Deactivated (NIST state 3).
        expires = self.current.expiration_date
        if self.secret_type in CERT_TYPES and expires is not None and expires <= at:
            return STATE_DEACTIVATED
        return STATE_ACTIVE


def _cert_fields(cert: CertInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "serial_number": cert.serial_number,
        "expiration_date": timestamp(cert.not_after),
        "validity": {
            "not_before": timestamp(cert.not_before),
            "not_after": timestamp(cert.not_after),
        },
        "issuer": cert.issuer,
        "key_algorithm": cert.key_algorithm,
        "signing_algorithm": cert.signing_algorithm,
    }
    if cert.common_name is not None:
        out["common_name"] = cert.common_name
    if cert.alt_names:
        out["alt_names"] = list(cert.alt_names)
    return out


def secret_metadata(secret: Secret, at: dt.datetime) -> dict[str, Any]:
    state, description = secret.state(at)
    out: dict[str, Any] = {
        "id": secret.id,
        "crn": secret.crn,
        "name": secret.name,
        "secret_type": secret.secret_type,
        "secret_group_id": secret.group_id,
        "state": state,
        "state_description": description,
        "created_at": timestamp(secret.created_at),
        "created_by": secret.created_by,
        "updated_at": timestamp(secret.updated_at),
        "versions_total": len(secret.versions),
        "locks_total": 0,
        "downloaded": secret.downloaded,
    }
    if secret.retrieved_at is not None:
        out["retrieved_at"] = timestamp(secret.retrieved_at)
    if secret.description is not None:
        out["description"] = secret.description
    if secret.labels:
        out["labels"] = list(secret.labels)
    if secret.custom_metadata:
        out["custom_metadata"] = dict(secret.custom_metadata)
    current = secret.current
    if current.cert is not None:
        out.update(_cert_fields(current.cert))
    elif current.expiration is not None:
        out["expiration_date"] = timestamp(current.expiration)
    if secret.secret_type == "imported_cert":
        out["intermediate_included"] = "intermediate" in current.payload
        out["private_key_included"] = "private_key" in current.payload
    out.update(secret.extra)
    return out


def payload_fields(secret_type: str, version: Version) -> dict[str, Any]:
    return {k: version.payload[k] for k in PAYLOAD_FIELDS[secret_type] if k in version.payload}


def secret_full(secret: Secret, at: dt.datetime) -> dict[str, Any]:
    return {**secret_metadata(secret, at), **payload_fields(secret.secret_type, secret.current)}


def version_metadata(secret: Secret, version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": version.id,
        "secret_id": secret.id,
        "secret_name": secret.name,
        "secret_type": secret.secret_type,
        "secret_group_id": secret.group_id,
        "created_at": timestamp(version.created_at),
        "created_by": version.created_by,
        "payload_available": secret.payload_available(version),
        "downloaded": version.downloaded,
        "auto_rotated": version.auto_rotated,
    }
    alias = secret.alias(version)
    if alias is not None:
        out["alias"] = alias
    if version.custom_metadata:
        out["version_custom_metadata"] = dict(version.custom_metadata)
    if version.cert is not None:
        cert = version.cert
        out["serial_number"] = cert.serial_number
        out["expiration_date"] = timestamp(cert.not_after)
        out["validity"] = {
            "not_before": timestamp(cert.not_before),
            "not_after": timestamp(cert.not_after),
        }
    elif version.expiration is not None:
        out["expiration_date"] = timestamp(version.expiration)
    return out


def version_full(secret: Secret, version: Version) -> dict[str, Any]:
    return {**version_metadata(secret, version), **payload_fields(secret.secret_type, version)}
