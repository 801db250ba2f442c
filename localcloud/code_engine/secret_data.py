"""Code Engine v2 secrets: the formats, and the checks on what a secret holds.

Real behaviour this follows:
- GET returns `data`, including `tls_cert` and `tls_key` for TLS secrets: terraform-provider-ibm's
  TLS acceptance test imports a TLS secret and verifies `data.tls_cert`/`data.tls_key` from a
  plain read (ImportStateVerify), which only works if the read returns them.
- `resource_type` per format (`secret_tls_v2`, `secret_generic_v2`, ...) as the SDK enum and the
  terraform tests show; `generated_by: user` for secrets created through the API.
- PUT (replace) requires `If-Match`; the SDK documents `*` as "update any version".

Unknown, stricter choice made:
- TLS material is validated: `tls_cert` must parse as a PEM certificate chain, `tls_key` as an
  unencrypted PEM private key that matches the first certificate; no other keys are allowed.
- a list response omits `data` (a client must GET a secret to read its material).
- changing `format` on replace is a 400 (terraform marks `format` ForceNew).
- `service_access` / `service_operator` secrets are not emulated (400).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from localcloud.code_engine.checks import invalid
from localcloud.code_engine.model import RESOURCE_TYPES

NOT_EMULATED = {"service_access", "service_operator"}
FORMATS = {*RESOURCE_TYPES, *NOT_EMULATED}
REQUIRED_KEYS: dict[str, tuple[set[str], set[str] | None]] = {
    # format -> (required keys, allowed keys or None for any)
    "tls": ({"tls_cert", "tls_key"}, {"tls_cert", "tls_key"}),
    "basic_auth": ({"username", "password"}, {"username", "password"}),
    "ssh_auth": ({"ssh_key"}, {"ssh_key", "known_hosts"}),
    "registry": ({"server", "username", "password"}, {"server", "username", "password", "email"}),
    "hmac_auth": ({"access_key_id", "secret_access_key"}, {"access_key_id", "secret_access_key"}),
    "generic": (set(), None),
    "other": (set(), None),
}
DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
MAX_KEY = 253
MAX_VALUE = 1048576
TLS_FORMAT = "tls"


def check_format(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid("'format' is required")
    if value in NOT_EMULATED:
        raise invalid(f"Secret format '{value}' is not supported by this emulator")
    return check_format_filter(value)


def check_format_filter(value: str) -> str:
    if value not in FORMATS:
        raise invalid(f"Invalid 'format' '{value}': must be one of {', '.join(sorted(FORMATS))}")
    return value


def check_data(fmt: str, data: Any) -> dict[str, str]:
    """Validate `data` for `fmt`; never puts values into messages."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise invalid("'data' must be an object of string values")
    for key, value in data.items():
        if len(key) > MAX_KEY or not DATA_KEY.fullmatch(key):
            raise invalid(
                f"Invalid data key '{key[:64]}': must be at most {MAX_KEY} characters of "
                "alphanumerics, '-', '_' or '.'"
            )
        if not isinstance(value, str):
            raise invalid(f"The value of data key '{key}' must be a string")
        if len(value) > MAX_VALUE:
            raise invalid(f"The value of data key '{key}' exceeds {MAX_VALUE} characters")
    required, allowed = REQUIRED_KEYS[fmt]
    missing = sorted(required - set(data))
    if missing:
        raise invalid(f"Secret of format '{fmt}' requires data key(s): {', '.join(missing)}")
    if allowed is not None and set(data) - allowed:
        extra = ", ".join(sorted(set(data) - allowed))
        raise invalid(f"Secret of format '{fmt}' does not allow data key(s): {extra}")
    if fmt == TLS_FORMAT:
        check_tls(data["tls_cert"], data["tls_key"])
    return dict(data)


def check_tls(cert_pem: str, key_pem: str) -> None:
    """Both parse and the key belongs to the first certificate of the chain."""
    problem = _tls_problem(cert_pem, key_pem)
    if problem is not None:
        raise invalid(problem)


# Pure in its two strings, and create validates twice (the API's check, then `Secrets.put`'s):
# parsing a key costs more than the rest of the request, so recent answers are kept.
@functools.lru_cache(maxsize=256)
def _tls_problem(cert_pem: str, key_pem: str) -> str | None:
    try:
        chain = x509.load_pem_x509_certificates(cert_pem.encode())
    except ValueError:
        return "The value of 'tls_cert' is not a valid PEM-encoded certificate chain"
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        return "The value of 'tls_key' is not a valid unencrypted PEM-encoded private key"
    if _spki(chain[0].public_key()) != _spki(key.public_key()):
        return "The private key in 'tls_key' does not match the first certificate in 'tls_cert'"
    return None


def _spki(public_key: Any) -> bytes:
    return bytes(
        public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
