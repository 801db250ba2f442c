"""The zygote's contract: a program it forks cannot tell it from `python -m <module>` started by
`subprocess.Popen` (environment, argv, working directory, fds, session, exit status), and the
handle answers as a `Popen` does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.zygote import ROOT, Zygote, enabled, popen, run
from localcloud.zygote_process import Request, ZygoteProcess

pytestmark = pytest.mark.integration

PROBE = "localcloud.tests.zygote_probe"
PIPES: dict[str, Any] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    started = Zygote([PROBE])
    yield started
    started.close()


@pytest.fixture
def env() -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "CERTSYNC_PROBE": "x y"}


def fork(zygote: Zygote, *args: str, **options: Any) -> ZygoteProcess:
    return zygote.spawn(Request.of(PROBE, args, options), options)


def test_the_program_sees_what_python_dash_m_gives_it(
    zygote: Zygote, env: dict[str, str], tmp_path: Path
) -> None:
    """Side by side with an exec'd `python -m` from the same folder, with the same environment:
    only the folder differs, and the forked one is in the one it was given."""
    real = subprocess.run(
        [sys.executable, "-m", PROBE, "facts"], cwd=ROOT, env=env, **PIPES, check=True
    )
    forked = fork(zygote, "facts", cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, **PIPES)
    out, err = forked.communicate(timeout=30)
    assert (forked.returncode, err) == (0, "")
    expected = {**json.loads(real.stdout), "cwd": str(tmp_path), "path0": str(tmp_path)}
    assert json.loads(out) == expected
    assert expected["argv"] == [str(ROOT / "localcloud/tests/zygote_probe.py"), "facts"]
    assert expected["env"] == env
    assert expected["fds"] == [0, 1, 2]
    assert expected["main"] == "__main__"


def test_fds_0_1_2_are_the_callers(zygote: Zygote, env: dict[str, str], tmp_path: Path) -> None:
    given = tmp_path / "in.txt"
    given.write_text("from stdin\n")
    with given.open() as stdin, (tmp_path / "err.txt").open("w") as stderr:
        forked = fork(zygote, "echo", env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr)
    out, err = forked.communicate(timeout=30)
    assert (forked.returncode, out, err) == (0, b"from stdin\n", None)
    assert (tmp_path / "err.txt").read_text() == "to stderr\n"
    merged = fork(
        zygote, "echo", env=env, stdin=subprocess.DEVNULL, stdout=-1, stderr=subprocess.STDOUT
    )
    assert merged.communicate(timeout=30) == (b"to stderr\n", None)


@pytest.mark.parametrize(
    ("args", "code", "stderr"),
    [
        (["exit", "0"], 0, ""),
        (["exit", "3"], 3, ""),
        (["exit-text"], 1, "ended with a message\n"),
        (["raise"], 1, "ValueError: an uncaught exception\n"),
    ],
)
def test_exit_status_as_the_interpreter_gives_it(
    zygote: Zygote, env: dict[str, str], args: list[str], code: int, stderr: str
) -> None:
    forked = fork(zygote, *args, env=env, **PIPES)
    out, err = forked.communicate(timeout=30)
    assert forked.returncode == code
    assert err.endswith(stderr)
    assert "Traceback" in err if args == ["raise"] else "Traceback" not in err
    assert "atexit" not in out  # the zygote's own atexit handlers never run in a program


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_signal_reaches_the_program_and_shows_as_a_negative_status(
    zygote: Zygote, env: dict[str, str], sig: signal.Signals
) -> None:
    forked = fork(zygote, "sleep", env=env, **PIPES)
    with pytest.raises(subprocess.TimeoutExpired):
        forked.communicate(timeout=0.5)  # what was read is kept for the next call
    assert forked.poll() is None
    forked.send_signal(sig)
    assert forked.communicate(timeout=30) == ("sleeping\n", "")
    assert forked.returncode == forked.wait() == -sig
    forked.kill()  # a finished program is not signalled again


def test_a_new_session_when_asked(zygote: Zygote, env: dict[str, str]) -> None:
    alone = fork(zygote, "facts", env=env, start_new_session=True, **PIPES)
    shared = fork(zygote, "facts", env=env, **PIPES)
    alone_facts, shared_facts = (json.loads(p.communicate(timeout=30)[0]) for p in (alone, shared))
    assert (alone_facts["own_group"], alone_facts["own_session"]) == (True, True)
    assert (shared_facts["own_group"], shared_facts["own_session"]) == (False, False)


def test_the_process_group_can_be_killed(zygote: Zygote, env: dict[str, str]) -> None:
    forked = fork(zygote, "sleep", env=env, start_new_session=True, **PIPES)
    assert forked.poll() is None
    os.killpg(forked.pid, signal.SIGKILL)
    assert forked.wait(30) == -signal.SIGKILL


def test_a_missing_folder_fails_like_popen(
    zygote: Zygote, env: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError):
        fork(zygote, "facts", env=env, cwd=tmp_path / "missing")


def test_only_job_and_trigger_from_the_project_are_forked(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    version = [sys.executable, "-m", "job", "--version"]
    forked = popen(version, cwd=ROOT, env=env, **PIPES)
    assert isinstance(forked, ZygoteProcess) is enabled()
    assert forked.communicate(timeout=60)[0].startswith("certsync ")
    elsewhere = [
        popen([sys.executable, "-m", "deploy", "--version"], cwd=ROOT, env=env, **PIPES),
        popen(version, cwd=tmp_path, env=env, **PIPES),  # another `job` could be there
        popen(version, cwd=ROOT, env={**env, "PYTHONPATH": str(tmp_path)}, **PIPES),
        popen(version, cwd=ROOT, env=env, close_fds=True, **PIPES),
    ]
    for process in elsewhere:
        assert isinstance(process, subprocess.Popen)
        process.communicate(timeout=60)


def test_run_is_subprocess_run() -> None:
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
    done = run([sys.executable, "-m", "job", "--bogus"], cwd=ROOT, env=env, capture_output=True)
    assert (done.returncode, done.stdout) == (2, b"")
    assert b"unrecognized arguments: --bogus" in done.stderr
    with pytest.raises(subprocess.CalledProcessError):
        run([sys.executable, "-m", "job", "--bogus"], cwd=ROOT, env=env, text=True, check=True)
