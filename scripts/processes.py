"""certsync's own entry points as real processes, pointed at a local IBM Cloud: the job run once
(`python -m job`, as a Code Engine job run starts it) and the trigger as a server (`python -m
trigger`, as a Code Engine app), each with the environment it would get there.

The demo, the bench and the integration tests start them this way.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from localcloud import LocalCloud, zygote

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
    proc = zygote.run(
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
            self.process = zygote.popen(
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
        return requests.post(
            f"{self.url}/events", data=data, headers=headers or self.headers, timeout=30
        )

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


def trigger_env(
    cloud: LocalCloud, *, apikey: str, job: str, token: str, **extra: str
) -> dict[str, str]:
    """The environment `python -m trigger` gets on Code Engine, pointed at a local cloud."""
    cloud.iam.add_apikey(apikey)
    env = {
        **base_env(),
        "PORT": str(free_port()),
        "CE_PROJECT_ID": cloud.identity.project_id,
        "CODE_ENGINE_URL": cloud.code_engine_url,
        "CODE_ENGINE_AUTH_TYPE": "iam",
        "CODE_ENGINE_APIKEY": apikey,
        "CODE_ENGINE_AUTH_URL": cloud.iam_url,
        "CERTSYNC_JOB_NAME": job,
        "CERTSYNC_WEBHOOK_TOKEN": token,
    }
    return {**env, **extra}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
