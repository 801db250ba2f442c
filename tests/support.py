"""What the integration tests share: run the job as Code Engine would, and read its output."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import uvicorn
from cryptography import x509
from starlette.types import ASGIApp

from localcloud import LocalCloud
from tests.builders import with_changes
from tests.pki import Chain, make_chain

ROOT = Path(__file__).resolve().parent.parent
APIKEY = "certsync-test-apikey-0123456789abcdef"


@dataclass
class JobResult:
    returncode: int
    stdout: str
    stderr: str
    lines: list[dict[str, Any]] = field(default_factory=list)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("event") == name]

    def outcomes(self) -> dict[str, str]:
        """target -> outcome, from the one line per mapping."""
        return {line["target"]: line["outcome"] for line in self.lines if "outcome" in line}

    @property
    def summary(self) -> dict[str, Any]:
        (line,) = self.events("run_finished")
        return line


def base_env() -> dict[str, str]:
    """What a container starts with: no developer environment leaking into the job."""
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")
    return {k: os.environ[k] for k in keep if k in os.environ}


def job_env(cloud: LocalCloud, mappings: list[dict[str, str]], **extra: str) -> dict[str, str]:
    cloud.iam.add_apikey(APIKEY)
    env = {
        **base_env(),
        "CE_PROJECT_ID": cloud.identity.project_id,
        "CODE_ENGINE_URL": cloud.code_engine_url,
        "SECRETS_MANAGER_URL": cloud.secrets_manager_url,
        "SECRETS_MANAGER_AUTH_TYPE": "iam",
        "SECRETS_MANAGER_APIKEY": APIKEY,
        "SECRETS_MANAGER_AUTH_URL": cloud.iam_url,
        "CODE_ENGINE_AUTH_TYPE": "iam",
        "CODE_ENGINE_APIKEY": APIKEY,
        "CODE_ENGINE_AUTH_URL": cloud.iam_url,
        "CERTSYNC_MAPPINGS": json.dumps(mappings),
        "CERTSYNC_RETRY_SECONDS": "20",
    }
    return {**env, **extra}


def run_job(env: dict[str, str], *args: str, timeout: float = 120) -> JobResult:
    proc = subprocess.run(
        [sys.executable, "-m", "job", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return JobResult(proc.returncode, proc.stdout, proc.stderr, lines)


def assert_same_material(actual: object, expected: object, what: str = "material") -> None:
    """Equal PEM text (or lists of it), compared so that a failure never prints the material.

    This module is not assertion-rewritten by pytest, so the message below is all a failure shows.
    """

    def digest(value: object) -> object:
        if isinstance(value, list | tuple):
            return [digest(v) for v in value]
        return hashlib.sha256(str(value).strip().encode()).hexdigest()

    assert digest(actual) == digest(expected), f"{what} differs from what was expected"


def assert_no_secret_material(text: str, *secrets: str) -> None:
    """No PEM block, no JWT, and none of the given secret strings; the failure names which."""
    assert "-----BEGIN" not in text, "PEM material in output"
    assert "eyJ" not in text, "something like a JWT in output"
    for index, secret in enumerate(secrets):
        assert secret not in text, f"secret #{index} in output"


class Trigger:
    """`python -m trigger` as a subprocess; its stdout and stderr go to files."""

    def __init__(
        self,
        env: dict[str, str],
        tmp_path: Path,
        *,
        token: str | None = None,
        module: str = "trigger",
    ) -> None:
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.out_path, self.err_path = tmp_path / f"{module}.out", tmp_path / f"{module}.err"
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=out, stderr=err
            )

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"trigger exited: {self.output()}"
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.01)
        raise AssertionError(f"trigger not ready after {timeout}s: {self.output()}")

    def post(self, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return requests.post(f"{self.url}/events", data=data, headers=headers or self.headers)

    def output(self) -> str:
        return self.out_path.read_text() + self.err_path.read_text()

    def events(self) -> list[dict[str, Any]]:
        lines = self.out_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["event"] == event]

    def stop(self, timeout: float = 40.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def started_trigger(env: dict[str, str], tmp_path: Path, *, token: str) -> Iterator[Trigger]:
    """`python -m trigger`, ready to take requests; stopped (SIGTERM) on exit."""
    running = Trigger(env, tmp_path, token=token)
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


@contextlib.contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 in a thread; shut it down gracefully on exit.

    uvicorn's graceful shutdown waits for background tasks: once the block is left, every
    submission a request could have caused has happened.
    """
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only then (without
    # it, Nagle's algorithm and delayed ACKs add 40 ms to every response).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), timeout=5)
        assert server.started, "the app did not start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()


def job_variables(env: Mapping[str, str], exclude: Collection[str] = ()) -> list[dict[str, str]]:
    """The job's settings from `env` as a Code Engine job's literal `run_env_variables`."""
    return [
        {"type": "literal", "name": k, "value": v}
        for k, v in env.items()
        if k.startswith(("SECRETS_MANAGER_", "CODE_ENGINE_", "CERTSYNC_")) and k not in exclude
    ]


def served_serial(cloud: LocalCloud, target: str) -> int | None:
    """The leaf serial number Code Engine secret `target` holds, or None if there is none."""
    secret = cloud.code_engine.secret(target)
    if secret is None:
        return None
    return x509.load_pem_x509_certificates(secret["data"]["tls_cert"].encode())[0].serial_number


@dataclass(frozen=True)
class Endpoints:
    """Where a local cloud answers: in this process (LocalCloud) or another (its ready line)."""

    url: str
    code_engine_url: str
    project_id: str

    @classmethod
    def of(cls, cloud: LocalCloud) -> Endpoints:
        return cls(cloud.url, cloud.code_engine_url, cloud.identity.project_id)

    @classmethod
    def from_ready_line(cls, info: dict[str, Any]) -> Endpoints:
        return cls(info["url"], info["code_engine_url"], info["project_id"])


def trigger_env(
    where: LocalCloud | Endpoints, *, apikey: str, job: str, token: str, **changes: str | None
) -> dict[str, str]:
    """The environment `python -m trigger` gets on Code Engine, pointed at a local cloud."""
    if isinstance(where, LocalCloud):
        where.iam.add_apikey(apikey)
        where = Endpoints.of(where)
    env = {
        **base_env(),
        "PORT": str(free_port()),
        "CE_PROJECT_ID": where.project_id,
        "CODE_ENGINE_URL": where.code_engine_url,
        "CODE_ENGINE_AUTH_TYPE": "iam",
        "CODE_ENGINE_APIKEY": apikey,
        "CODE_ENGINE_AUTH_URL": where.url,
        "CERTSYNC_JOB_NAME": job,
        "CERTSYNC_WEBHOOK_TOKEN": token,
    }
    return with_changes(env, changes)


def seed_certificate(
    cloud: LocalCloud, chain: Chain, name: str, secret_type: str = "imported_cert"
) -> str:
    """Put `chain` into the fake Secrets Manager as `secret_type`; returns the secret id."""
    extra: dict[str, Any] = (
        {"issuing_ca": chain.intermediate_pem, "ca_chain": [chain.intermediate_pem, chain.root_pem]}
        if secret_type == "private_cert"
        else {"intermediate": chain.intermediate_pem}
    )
    secret = cloud.secrets_manager.seed_certificate(
        secret_type, name, chain.leaf_pem, chain.key_pem, **extra
    )
    return str(secret["id"])


def seeded_mappings(cloud: LocalCloud, count: int, prefix: str) -> list[dict[str, str]]:
    """`count` certificates (one chain) seeded as `<prefix>-cert-<n>`, mapped to `<prefix>-<n>`."""
    chain = make_chain()
    return [
        {"secret": seed_certificate(cloud, chain, f"{prefix}-cert-{n}"), "target": f"{prefix}-{n}"}
        for n in range(count)
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
