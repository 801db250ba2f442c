"""`make images` as a person runs it: the real Makefile target and script, with a `docker` or
`podman` on PATH that records its arguments instead of building (base images cannot be pulled
here). Nothing else is on PATH, so the engine found is the fake one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.processes import ROOT
from shared import __version__

pytestmark = pytest.mark.integration

MAKE = shutil.which("make") or "make"


def fake_engine(folder: Path, name: str, exit_code: int = 0) -> Path:
    """An executable `name` that appends its arguments, one call per line, to calls.log."""
    folder.mkdir(exist_ok=True)
    log = folder / "calls.log"
    script = folder / name
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\nexit {exit_code}\n')
    script.chmod(0o755)
    return log


def make_images(path: Path, *variables: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAKE, "-s", "images", f"PYTHON={sys.executable}", *variables],
        cwd=ROOT,
        env={"PATH": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_docker_builds_both_images_for_amd64_and_prints_tags_and_push_commands(
    tmp_path: Path,
) -> None:
    log = fake_engine(tmp_path / "bin", "docker")
    done = make_images(tmp_path / "bin", "REGISTRY=us.icr.io/team", "TAG=1.2.3")
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    assert calls == [
        f"docker build --platform linux/amd64 -f Dockerfile.{c} -t us.icr.io/team/certsync-{c}"
        ":1.2.3 ."
        for c in ("job", "trigger")
    ]
    built = done.stdout.split("Built:")[1]
    assert "  us.icr.io/team/certsync-job:1.2.3" in built
    assert "  docker push us.icr.io/team/certsync-trigger:1.2.3" in built
    assert "    job: us.icr.io/team/certsync-job:1.2.3" in built  # the certsync.yaml section


def test_podman_is_used_when_docker_is_absent_and_the_tag_defaults_to_the_version(
    tmp_path: Path,
) -> None:
    log = fake_engine(tmp_path / "bin", "podman")
    done = make_images(tmp_path / "bin")
    assert done.returncode == 0, done.stderr
    first = log.read_text().splitlines()[0]
    assert first.startswith("podman build ")
    assert first.endswith(f"-t certsync-job:{__version__} .")
    # No registry: the push commands say to tag for one first.
    assert f"podman tag certsync-job:{__version__} <registry>/certsync-job:" in done.stdout
    assert "podman push <registry>/certsync-trigger:" in done.stdout


def test_neither_engine_is_named_clearly_and_nothing_is_built(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = make_images(tmp_path / "empty")
    assert done.returncode != 0
    assert "neither docker nor podman is on PATH" in done.stderr
    assert "Built:" not in done.stdout


def test_a_failing_build_stops_and_pushes_nothing(tmp_path: Path) -> None:
    log = fake_engine(tmp_path / "bin", "docker", exit_code=1)
    done = make_images(tmp_path / "bin", "REGISTRY=us.icr.io/team")
    assert done.returncode != 0
    assert len(log.read_text().splitlines()) == 1  # the trigger was not built after the job failed
    assert "docker build of Dockerfile.job failed" in done.stderr
    assert "push" not in done.stdout
