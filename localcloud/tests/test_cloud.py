"""The core in front of every service: bearer tokens, faults, the request log, unknown paths, and
`python -m localcloud` (with the Code Engine router's port)."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.serialization import Encoding
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_cloud_sdk_core.token_managers.iam_token_manager import IAMTokenManager
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2

from localcloud import Fault, LocalCloud
from localcloud.code_engine.tests.support import VERSION, tls_secret_data, wait_until
from localcloud.pki import make_chain

pytestmark = pytest.mark.integration

SECRETS = "/api/v2/secrets"


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as running:
        running.iam.add_apikey("core-test-apikey")
        yield running


def bearer(cloud: LocalCloud) -> dict[str, str]:
    token = IAMTokenManager("core-test-apikey", url=cloud.iam_url).get_token()
    return {"Authorization": f"Bearer {token}"}


def test_a_call_without_a_valid_token_is_401_in_the_platform_envelope(cloud: LocalCloud) -> None:
    for headers in ({}, {"Authorization": "Bearer forged"}):
        response = requests.get(f"{cloud.url}{SECRETS}", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert body["errors"][0]["code"] == "not_authorized"
        assert response.headers["X-Correlation-Id"] == body["trace"]
    assert requests.get(f"{cloud.url}{SECRETS}", headers=bearer(cloud), timeout=10).ok


def test_unknown_paths_and_methods_answer_in_the_platform_envelope(cloud: LocalCloud) -> None:
    missing = requests.get(f"{cloud.url}/api/v2/nothing", headers=bearer(cloud), timeout=10)
    assert (missing.status_code, missing.json()["errors"][0]["code"]) == (404, "not_found")
    wrong = requests.put(f"{cloud.url}{SECRETS}", headers=bearer(cloud), timeout=10)
    assert (wrong.status_code, wrong.json()["errors"][0]["code"]) == (405, "method_not_allowed")


def test_faults_answer_in_the_shape_of_the_service_they_stand_in_for(cloud: LocalCloud) -> None:
    headers = bearer(cloud)
    cloud.faults.add(Fault(path="^/identity/token$", status=503, retry_after=2))
    cloud.faults.add(Fault(path=SECRETS, method="GET", status=429, retry_after=1, times=2))
    iam = requests.post(f"{cloud.url}/identity/token", timeout=10)
    assert (iam.status_code, iam.json()["errorCode"]) == (503, "injected_fault")
    assert iam.headers["Retry-After"] == "2"
    for _ in range(2):
        sm = requests.get(f"{cloud.url}{SECRETS}", headers=headers, timeout=10)
        assert (sm.status_code, sm.json()["status_code"]) == (429, 429)
    assert requests.get(f"{cloud.url}{SECRETS}", headers=headers, timeout=10).ok
    assert cloud.faults.active() == []
    cloud.faults.add(Fault(path=SECRETS, drop=True))
    with pytest.raises(requests.RequestException, match="ended prematurely"):
        requests.get(f"{cloud.url}{SECRETS}", headers=headers, timeout=10)


def test_the_request_log_records_calls_but_never_the_authorization_header(
    cloud: LocalCloud,
) -> None:
    requests.get(f"{cloud.url}{SECRETS}?limit=1", headers=bearer(cloud), timeout=10)
    requests.get(f"{cloud.url}/_localcloud/event_notifications/deliveries", timeout=10)
    (call,) = cloud.requests.entries("GET", f"^{SECRETS}$")
    assert (call.query, call.status, call.fault) == ("limit=1", 200, False)
    assert "authorization" not in call.headers
    assert cloud.requests.entries(path="^/_localcloud/") == []
    cloud.requests.clear()
    assert cloud.requests.entries() == []


def test_python_m_localcloud_serves_until_sigterm() -> None:
    command = [
        sys.executable,
        "-m",
        "localcloud",
        "--apikey",
        "main-test-apikey",
        "--en-region",
        "eu-de",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        ready = json.loads(process.stdout.readline())
        assert ready["code_engine_url"] == f"{ready['url']}/v2"
        assert set(ready) == {
            "url",
            "iam_url",
            "resource_controller_url",
            "code_engine_url",
            "router_port",
            "project_id",
            "project_name",
            "region",
            "secrets_manager_url",
            "sm_instance_id",
            "sm_instance_crn",
            "event_notifications_url",
            "en_instance_id",
            "en_instance_crn",
        }
        assert ready["sm_instance_crn"].split(":")[5] == ready["region"] == "us-south"
        assert ready["en_instance_crn"].split(":")[5] == "eu-de"
        assert ready["sm_instance_crn"].split(":")[7] == ready["sm_instance_id"]
        assert ready["en_instance_crn"].split(":")[7] == ready["en_instance_id"]
        assert isinstance(ready["router_port"], int)
        assert ready["router_port"] > 0
        assert IAMTokenManager("main-test-apikey", url=ready["iam_url"]).get_token()
        # For a person, on stderr: the same ids and URLs as a certsync.yaml fragment.
        fragment = [process.stderr.readline() for _ in range(14)]
        assert fragment[0].startswith(f"Local IBM Cloud ready at {ready['url']}")
        text = "".join(fragment)
        for value in (
            f"project: {ready['project_name']}   # id {ready['project_id']}",
            f"instance_id: {ready['sm_instance_id']}   # {ready['sm_instance_crn']}",
            f"instance_id: {ready['en_instance_id']}   # {ready['en_instance_crn']}",
            f"url: {ready['secrets_manager_url']}",
            f"url: {ready['event_notifications_url']}",
            f"resource_controller_url: {ready['resource_controller_url']}",
        ):
            assert value in text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_python_m_localcloud_routes_a_custom_domain(tmp_path: Path) -> None:
    """Apps and trusted roots are fixed at start; the ready line names the router's port."""
    chain = make_chain("www.example.com")
    root = tmp_path / "root.pem"
    root.write_text(chain.root_pem)
    command = [sys.executable, "-m", "localcloud", "--apikey", "k"]
    command += ["--app", "web-app", "--trust-root", str(root)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        ready = json.loads(process.stdout.readline())
        ce = CodeEngineV2(authenticator=IAMAuthenticator("k", url=ready["url"]), version=VERSION)
        ce.set_service_url(ready["code_engine_url"])
        pid = ready["project_id"]
        ce.create_secret(project_id=pid, format="tls", name="web-tls", data=tls_secret_data(chain))
        component = {"name": "web-app", "resource_type": "app_v2"}
        ce.create_domain_mapping(
            project_id=pid, component=component, name="www.example.com", tls_secret="web-tls"
        )
        context = ssl.create_default_context(cadata=chain.root_pem)

        def served() -> bytes | None:
            try:
                with (
                    socket.create_connection(("127.0.0.1", ready["router_port"]), timeout=5) as raw,
                    context.wrap_socket(raw, server_hostname="www.example.com") as tls,
                ):
                    return tls.getpeercert(binary_form=True)
            except ssl.SSLError:
                return None  # still deploying

        assert wait_until(lambda: served() is not None)
        assert served() == chain.leaf.cert.public_bytes(Encoding.DER)
        ce.http_client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
