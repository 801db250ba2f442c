"""What an image built from a Dockerfile runs: its final stage's ENTRYPOINT and CMD."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from localcloud.code_engine.dockerfile import image_from_dockerfile
from localcloud.code_engine.runner import Image


def image(tmp_path: Path, text: str) -> Image:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return image_from_dockerfile(path)


def test_exec_form_entrypoint_with_python_run_by_this_interpreter(tmp_path: Path) -> None:
    built = image(tmp_path, 'FROM python:3.11\nENTRYPOINT ["python", "-m", "job"]\n')
    assert (built.entrypoint, built.cmd) == ([sys.executable, "-m", "job"], [])
    assert built.cwd == str(tmp_path)


def test_cmd_only_is_the_whole_command(tmp_path: Path) -> None:
    built = image(tmp_path, 'FROM python:3.11\nCMD ["python3", "-m", "job"]\n')
    assert (built.entrypoint, built.cmd) == ([], [sys.executable, "-m", "job"])


def test_shell_form_and_continuation_lines(tmp_path: Path) -> None:
    built = image(tmp_path, 'FROM alpine\nENTRYPOINT echo \\\nhello\nCMD ["x"]\n')
    assert built.entrypoint == ["/bin/sh", "-c", "echo hello"]
    assert built.cmd == ["x"]


def test_the_final_stage_counts_and_inherits_from_an_earlier_stage(tmp_path: Path) -> None:
    text = (
        'FROM python:3.11 AS base\nENTRYPOINT ["/app/run"]\nCMD ["--base"]\n'
        'FROM base AS final\nCMD ["--final"]\n'
    )
    assert (image(tmp_path, text).entrypoint, image(tmp_path, text).cmd) == (
        ["/app/run"],
        ["--final"],
    )


def test_an_entrypoint_resets_an_inherited_cmd_but_not_its_own_stages(tmp_path: Path) -> None:
    inherited = 'FROM python:3.11 AS base\nCMD ["--base"]\nFROM base\nENTRYPOINT ["/run"]\n'
    assert image(tmp_path, inherited).cmd == []
    own = 'FROM python:3.11\nCMD ["--own"]\nENTRYPOINT ["/run"]\n'
    assert image(tmp_path, own).cmd == ["--own"]


def test_a_final_stage_without_a_command_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="neither ENTRYPOINT nor CMD"):
        image(tmp_path, 'FROM python:3.11 AS build\nCMD ["x"]\nFROM python:3.11\nUSER 1\n')
