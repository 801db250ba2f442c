"""What the Code Engine contract tests share: constants, an SDK client, small helpers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import (
    CodeEngineV2,
    EnvVarPrototype,
    SecretDataTLSSecretData,
)

from localcloud import LocalCloud
from localcloud.pki import make_chain

APIKEY = "ce-test-apikey"
VERSION = "2025-06-20"
ENV_IMAGE = "icr.io/certsync/print-env:1"
SCRIPT_PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"
# Never registered: its runs fail at once without starting a process (cheap for counting tests).
NO_IMAGE = "icr.io/certsync/not-registered:1"
START = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def client(cloud: LocalCloud, version: str | None = VERSION) -> CodeEngineV2:
    service = CodeEngineV2(
        authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url), version=version
    )
    service.set_service_url(cloud.code_engine_url)
    return service


def api_error(call: Any, *args: Any, **kwargs: Any) -> ApiException:
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    return info.value


def tls_data() -> SecretDataTLSSecretData:
    chain = make_chain("app.example.com")
    return SecretDataTLSSecretData(
        tls_cert=chain.leaf_pem + chain.intermediate_pem, tls_key=chain.key_pem
    )


def env_lines(cloud: LocalCloud, run: str) -> list[dict[str, str]]:
    logs = cloud.code_engine.job_run_logs(run)
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def literal(name: str, value: str) -> EnvVarPrototype:
    return EnvVarPrototype(type="literal", name=name, value=value)


def error_code(error: ApiException) -> str:
    assert error.http_response is not None
    code: str = error.http_response.json()["errors"][0]["code"]
    return code


def padding(body: dict[str, Any], size: int) -> list[dict[str, str]]:
    """`run_env_variables` that make `body` exactly `size` bytes as the SDK sends it (json.dumps
    with default separators, ibm_cloud_sdk_core base_service.prepare_request)."""
    pad = {"name": "PAD", "type": "literal", "value": ""}
    empty = len(json.dumps({**body, "run_env_variables": [pad]}).encode())
    return [{**pad, "value": "x" * (size - empty)}]
