"""Every entry point answers `--help` and `--version` with an empty environment (no config, no
key), and `destroy` deletes nothing without a yes: real processes, as a user or a script runs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from scripts.processes import ROOT

pytestmark = pytest.mark.integration


def run(*args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env={},  # nothing: no PATH, no key, no CE_* variables
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


@pytest.mark.parametrize(
    "command",
    [
        ("job",),
        ("trigger",),
        ("deploy",),
        ("deploy", "plan"),
        ("deploy", "apply"),
        ("deploy", "doctor"),
        ("deploy", "status"),
        ("deploy", "destroy"),
    ],
)
def test_help_needs_no_configuration(command: tuple[str, ...]) -> None:
    done = run(*command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m " + " ".join(command))
    assert done.stderr == ""


def test_each_verb_lists_its_own_options() -> None:
    plan = run("deploy", "plan", "--help").stdout
    assert "--detailed-exitcode" in plan
    assert "--canary-timeout" in run("deploy", "doctor", "--help").stdout
    assert "--yes" in run("deploy", "destroy", "--help").stdout
    assert "--canary" not in plan


@pytest.mark.parametrize("module", ["job", "trigger", "deploy"])
def test_version_needs_no_configuration(module: str) -> None:
    done = run(module, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"certsync {version()}"


def test_destroy_without_a_terminal_or_yes_refuses_before_any_call(tmp_path) -> None:
    # No config file and no key either: the refusal comes first, and nothing is read.
    done = run("deploy", "destroy", "--config", str(tmp_path / "missing.yaml"), "--json")
    assert done.returncode == 2
    assert "--yes" in done.stderr
    (problem,) = json.loads(done.stdout)["problems"]  # --json: one document, whatever happens
    assert "no terminal" in problem
