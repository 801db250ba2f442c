"""What the Code Engine contract tests share: constants, an SDK client, small helpers."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from ibm_cloud_sdk_core import ApiException, DetailedResponse
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import (
    CodeEngineV2,
    ComponentRef,
    DomainMapping,
    EnvVarPrototype,
    SecretDataTLSSecretData,
)

from localcloud import LocalCloud
from localcloud.pki import Chain, make_chain

APIKEY = "ce-test-apikey"
VERSION = "2025-06-20"
ENV_IMAGE = "docker.io/certsync/print-env:1"
SCRIPT_PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"
# Never registered: its runs fail at once without starting a process (cheap for counting tests).
NO_IMAGE = "docker.io/certsync/not-registered:1"
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
    logs = cloud.code_engine.job_runs.logs(run)
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


def job_bytes(job: dict[str, Any]) -> int:
    """What a job (as `get_job` shows it) adds to the size of a run that references it: its
    settings, measured as the SDK sends a body (`checks.check_size`)."""
    settings = {k: v for k, v in job.items() if k.startswith(("image_", "run_", "scale_"))}
    return len(json.dumps(settings).encode())


def tls_secret_data(chain: Chain) -> dict[str, str]:
    """A TLS secret's data as the docs ask for it: the leaf, then its intermediates."""
    return {"tls_cert": chain.leaf_pem + chain.intermediate_pem, "tls_key": chain.key_pem}


def served_leaf(cloud: LocalCloud, domain: str, root_pem: str) -> x509.Certificate:
    """The leaf the Code Engine router serves for `domain` (SNI), verified against `root_pem`
    for that name: what a client connecting to `domain:443` through the router sees."""
    context = ssl.create_default_context(cadata=root_pem)
    with (
        socket.create_connection((cloud.host, cloud.router_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=domain) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


DOMAIN = "www.example.com"
APP = ComponentRef(name="web-app", resource_type="app_v2")


def create_mapping(
    ce: CodeEngineV2, pid: str, name: str = DOMAIN, secret: str = "web-tls"
) -> DetailedResponse:
    return ce.create_domain_mapping(project_id=pid, component=APP, name=name, tls_secret=secret)


def patch_mapping(
    ce: CodeEngineV2, pid: str, patch: dict[str, Any], if_match: str = "*", name: str = DOMAIN
) -> DetailedResponse:
    return ce.update_domain_mapping(
        project_id=pid, name=name, if_match=if_match, domain_mapping=patch
    )


def settled_mapping(ce: CodeEngineV2, pid: str, name: str = DOMAIN) -> DomainMapping:
    """The mapping once its rollout has ended (`ready` or `failed`)."""
    seen: list[DomainMapping] = []

    def settled() -> bool:
        seen.append(
            DomainMapping.from_dict(ce.get_domain_mapping(project_id=pid, name=name).get_result())
        )
        status: str = seen[-1].status
        return status != "deploying"

    assert wait_until(settled), f"domain mapping {name} still deploying"
    return seen[-1]


# A tiny server on $PORT that answers every GET with its environment as JSON.
APP_SERVER = """
import http.server, json, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(dict(os.environ)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
print("listening", flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def settled_app(ce: CodeEngineV2, pid: str, name: str) -> dict[str, Any]:
    """The app once it is no longer `deploying`."""
    seen: list[dict[str, Any]] = []

    def settled() -> bool:
        seen.append(ce.get_app(project_id=pid, name=name).get_result())
        return bool(seen[-1]["status"] != "deploying")

    assert wait_until(settled, 15), f"app {name} still deploying"
    return seen[-1]


def served_env(endpoint: str) -> dict[str, str]:
    with urllib.request.urlopen(endpoint, timeout=5) as response:
        env: dict[str, str] = json.loads(response.read())
    return env
