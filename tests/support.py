"""What the integration tests share: run the job as Code Engine would, and read its output."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path

import uvicorn
from cryptography import x509
from starlette.types import ASGIApp

from localcloud import LocalCloud
from localcloud.secrets_manager.model import CertificateParts
from scripts import processes
from scripts.processes import (
    APIKEY,
    ROOT,
    JobResult,
    Trigger,
    base_env,
    free_port,
    job_env,
    run_job,
)
from tests.builders import with_changes
from tests.pki import Chain, make_chain

# The process helpers the demo and the bench use too, re-exported for the tests.
__all__ = ["APIKEY", "ROOT", "JobResult", "Trigger", "base_env", "free_port", "job_env", "run_job"]


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
    secret = cloud.code_engine.secrets.find(target)
    if secret is None:
        return None
    return x509.load_pem_x509_certificates(secret["data"]["tls_cert"].encode())[0].serial_number


def trigger_env(
    cloud: LocalCloud, *, apikey: str, job: str, token: str, **changes: str | None
) -> dict[str, str]:
    """The environment `python -m trigger` gets on Code Engine; a None change removes a variable."""
    return with_changes(processes.trigger_env(cloud, apikey=apikey, job=job, token=token), changes)


def seed_certificate(
    cloud: LocalCloud, chain: Chain, name: str, secret_type: str = "imported_cert"
) -> str:
    """Put `chain` into the fake Secrets Manager as `secret_type`; returns the secret id."""
    parts = (
        CertificateParts(
            chain.leaf_pem,
            chain.key_pem,
            issuing_ca=chain.intermediate_pem,
            ca_chain=[chain.intermediate_pem, chain.root_pem],
        )
        if secret_type == "private_cert"
        else CertificateParts(chain.leaf_pem, chain.key_pem, chain.intermediate_pem)
    )
    secret = cloud.secrets_manager.seed_certificate(secret_type, name, parts)
    return str(secret["id"])


def seeded_mappings(cloud: LocalCloud, count: int, prefix: str) -> list[dict[str, str]]:
    """`count` certificates (one chain) seeded as `<prefix>-cert-<n>`, mapped to `<prefix>-<n>`."""
    chain = make_chain()
    return [
        {"secret": seed_certificate(cloud, chain, f"{prefix}-cert-{n}"), "target": f"{prefix}-{n}"}
        for n in range(count)
    ]


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
