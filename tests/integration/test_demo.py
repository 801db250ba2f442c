"""`make demo` as a person runs it: steps numbered without gaps, the job's log lines readable (one
in full), and `--keep` leaving what it takes to run `python -m deploy` against the running local
cloud by hand, which then works. Real processes, as `make demo` starts them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.processes import ROOT, base_env

pytestmark = pytest.mark.integration


def test_the_demo_numbers_its_steps_without_gaps_and_shows_one_json_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scripts.demo"],
        cwd=ROOT,
        env=base_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    numbers = [int(m) for m in re.findall(r"^(\d+)\. ", done.stdout, flags=re.MULTILINE)]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 8
    json_lines = [ln for ln in done.stdout.splitlines() if ln.strip().startswith('{"')]
    assert len(json_lines) == 1  # the job's log in full, once
    assert "the job's log: target_updated 'tls-www' (outcome updated, serial " in done.stdout
    assert "domain_verified 'www.example.com' (serial " in done.stdout


def until_running(demo: subprocess.Popen[str]) -> str:
    """What the demo printed up to its "Still running" line (or its end)."""
    assert demo.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = demo.stdout.readline()
        lines.append(line)
        if not line or line.startswith("Still running"):
            break
    text = "".join(lines)
    assert "Still running" in text, text
    return text


def test_keep_prints_the_config_and_environment_that_run_deploy_by_hand() -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "scripts.demo", "--keep"],
        cwd=ROOT,
        env=base_env(),
        stdin=subprocess.PIPE,  # held open: the demo waits for Enter
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        text = until_running(demo)
        config = re.search(r"config file: (\S+)", text)
        key_file = re.search(r'export IBMCLOUD_API_KEY="\$\(cat (\S+)\)"', text)
        assert config is not None, text
        assert key_file is not None, text
        assert "-m deploy status --config " + config.group(1) in text
        apikey = Path(key_file.group(1)).read_text()
        assert apikey not in text  # the key is in a file, never printed
        assert os.stat(key_file.group(1)).st_mode & 0o077 == 0
        status = subprocess.run(
            [sys.executable, "-m", "deploy", "status", "--config", config.group(1)],
            cwd=ROOT,
            env={**base_env(), "IBMCLOUD_API_KEY": apikey},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert "  tls-www: www.example.com -> web (ready)" in status.stdout
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.communicate(timeout=60)
