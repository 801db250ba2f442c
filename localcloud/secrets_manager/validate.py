"""Request validation for Secrets Manager v2 and assembly of certificate version payloads.

Limits follow the API reference (name 2..256 chars of letters, digits, `_`, `-`, `.`; up to 30
labels of 2..30 chars; description up to 1024 chars). Unknown body fields are rejected: the real
service's handling of them is undocumented and rejecting is the stricter choice.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from localcloud.http import BadRequest
from localcloud.secrets_manager.model import CertificateParts
from localcloud.secrets_manager.pem import (
    CertInfo,
    cert_info,
    check_chain,
    check_key_matches,
    parse_certificate,
    parse_certificates,
    parse_private_key,
)

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_]*(?:_*-*\.*[A-Za-z0-9]+)*$")
COMMON_FIELDS = frozenset(
    {
        "secret_type",
        "name",
        "description",
        "secret_group_id",
        "labels",
        "custom_metadata",
        "version_custom_metadata",
    }
)
CREATE_FIELDS: dict[str, frozenset[str]] = {
    "imported_cert": COMMON_FIELDS | {"certificate", "intermediate", "private_key"},
    "arbitrary": COMMON_FIELDS | {"payload", "expiration_date"},
}
VERSION_FIELDS: dict[str, frozenset[str]] = {
    "imported_cert": frozenset(
        {"certificate", "intermediate", "private_key", "custom_metadata", "version_custom_metadata"}
    ),
    "arbitrary": frozenset({"payload", "custom_metadata", "version_custom_metadata"}),
}


def reject_unknown(body: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"Invalid request body: unexpected field(s) {', '.join(unknown)}")


def name(value: object, what: str = "name", max_len: int = 256) -> str:
    if not isinstance(value, str) or not 2 <= len(value) <= max_len or not NAME_RE.match(value):
        raise BadRequest(
            f"Invalid {what}: must be 2 to {max_len} characters of letters, digits, "
            "'_', '-' and '.', starting with a letter, digit or '_'"
        )
    return value


def description(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 1024:
        raise BadRequest("Invalid description: must be a string of at most 1024 characters")
    return value


def labels(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 30:
        raise BadRequest("Invalid labels: must be a list of at most 30 strings")
    for label in value:
        if not isinstance(label, str) or not 2 <= len(label) <= 30:
            raise BadRequest("Invalid labels: each label must be 2 to 30 characters")
    return list(value)


def metadata_object(value: object, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid {what}: must be a JSON object")
    return dict(value)


def optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid {key}: must be a string")
    return value


def arbitrary_payload(body: dict[str, Any]) -> str:
    value = body.get("payload")
    if not isinstance(value, str) or not value:
        raise BadRequest("Invalid payload: a non-empty string is required")
    return value


def expiration(value: object) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("Invalid expiration_date: must be an RFC 3339 date-time") from None
    if parsed.tzinfo is None:
        raise BadRequest("Invalid expiration_date: a time zone offset is required")
    return parsed


def cert_payload(secret_type: str, parts: CertificateParts) -> tuple[dict[str, Any], CertInfo]:
    """Validate a certificate bundle for `secret_type`; return the stored payload and metadata.

    The leaf must be one certificate; the key (required for public/private certs) must match it;
    the intermediate (or the issuing CA) must have signed it.
    """
    certificate, private_key = parts.certificate, parts.private_key
    intermediate, issuing_ca, ca_chain = parts.intermediate, parts.issuing_ca, parts.ca_chain
    if certificate is None:
        raise BadRequest("Invalid certificate: the field is required")
    cert = parse_certificate(certificate, "certificate")
    payload: dict[str, Any] = {"certificate": str(certificate)}
    if private_key is not None:
        check_key_matches(cert, parse_private_key(private_key))
        payload["private_key"] = str(private_key)
    elif secret_type != "imported_cert":
        raise BadRequest("Invalid private_key: the field is required")
    if secret_type == "private_cert":
        payload.update(_private_chain(cert, issuing_ca if issuing_ca else intermediate, ca_chain))
    elif intermediate is not None:
        check_chain(cert, parse_certificates(intermediate, "intermediate"), "intermediate")
        payload["intermediate"] = str(intermediate)
    return payload, cert_info(cert)


def _private_chain(cert: Any, issuing_ca: object, ca_chain: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if issuing_ca is not None:
        check_chain(cert, parse_certificates(issuing_ca, "issuing_ca"), "issuing_ca")
        out["issuing_ca"] = str(issuing_ca)
    if ca_chain is not None:
        if not isinstance(ca_chain, list) or not ca_chain:
            raise BadRequest("Invalid ca_chain: must be a non-empty list of PEM certificates")
        for pem in ca_chain:
            parse_certificate(pem, "ca_chain")
        out["ca_chain"] = [str(p) for p in ca_chain]
    elif issuing_ca is not None:
        out["ca_chain"] = [str(issuing_ca)]
    return out
