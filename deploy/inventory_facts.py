"""What `deploy inventory` reads (`deploy/inventory_read.py`) and its pure core (`inventory.py`)
reasons over: the Code Engine projects, their TLS secrets and domains, and the Secrets Manager
certificates' list metadata."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509


@dataclass(frozen=True, order=True)
class Place:
    """A Code Engine project: its region, id and name."""

    region: str
    project: str
    name: str


@dataclass(frozen=True)
class TlsSecret:
    place: Place
    name: str
    tls_cert: str
    tls_key: str = field(repr=False)


@dataclass(frozen=True)
class DomainFact:
    place: Place
    domain: str
    app: str
    tls_secret: str
    served: x509.Certificate | None  # the leaf the domain served; None: see `served_error`
    served_error: str | None = None


@dataclass(frozen=True)
class SmCertificate:
    """One certificate's list metadata in Secrets Manager (SDK `SecretMetadata`)."""

    secret_id: str
    name: str
    serial: int | None
    not_after: dt.datetime | None
    names: tuple[str, ...]
    labels: tuple[str, ...] = ()
    custom_metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, body: dict[str, Any]) -> SmCertificate:
        serial = str(body.get("serial_number") or "").replace(":", "")
        expires = body.get("expiration_date")
        alt = [str(n).lower() for n in body.get("alt_names") or []]
        common = str(body.get("common_name") or "").lower()
        return cls(
            secret_id=str(body.get("id") or ""),
            name=str(body.get("name") or ""),
            serial=int(serial, 16) if serial else None,
            not_after=_timestamp(expires) if expires else None,
            names=tuple(alt or ([common] if common else [])),
            labels=tuple(str(x) for x in body.get("labels") or []),
            custom_metadata=dict(body.get("custom_metadata") or {}),
        )


@dataclass(frozen=True)
class Facts:
    places: tuple[Place, ...]
    secrets: tuple[TlsSecret, ...]
    domains: tuple[DomainFact, ...]
    certificates: tuple[SmCertificate, ...]
    problems: tuple[str, ...] = ()  # what could not be read, each naming the object


def _timestamp(value: Any) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
