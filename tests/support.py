"""What the integration tests share: run the job as Code Engine would, and read its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakecloud import FakeCloud

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


def job_env(cloud: FakeCloud, mappings: list[dict[str, str]], **extra: str) -> dict[str, str]:
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


def assert_no_secret_material(text: str, *secrets: str) -> None:
    """No PEM block, no JWT, and none of the given secret strings; the failure names which."""
    assert "-----BEGIN" not in text, "PEM material in output"
    assert "eyJ" not in text, "something like a JWT in output"
    for index, secret in enumerate(secrets):
        assert secret not in text, f"secret #{index} in output"
