"""What the Secrets Manager contract tests share: constants and small helpers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ImportedCertificatePrototype,
    SecretsManagerV2,
)

from localcloud import pki

APIKEY = "sm-test-apikey"
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SERIAL_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2})*$")
MISSING_UUID = "00000000-0000-4000-8000-000000000000"

Events = list[dict[str, Any]]


def colon_serial(chain: pki.Chain) -> str:
    n = chain.leaf.cert.serial_number
    return ":".join(f"{b:02x}" for b in n.to_bytes((n.bit_length() + 7) // 8, "big"))


def import_cert(
    sm: SecretsManagerV2, chain: pki.Chain, name: str = "web-cert", **extra: Any
) -> dict[str, Any]:
    proto = ImportedCertificatePrototype(
        secret_type="imported_cert",
        name=name,
        certificate=chain.leaf_pem,
        intermediate=chain.intermediate_pem,
        private_key=chain.key_pem,
        **extra,
    )
    result: dict[str, Any] = sm.create_secret(proto).get_result()
    return result


def api_error(call: Callable[[], Any]) -> ApiException:
    with pytest.raises(ApiException) as info:
        call()
    return info.value
