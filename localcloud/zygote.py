"""`python -m job` and `python -m trigger` forked from a preloaded interpreter (a "zygote").

Each such process spends about 0.3 s of CPU importing the same libraries (the IBM SDKs,
requests, structlog, cryptography, uvicorn) before it does anything; the tests start hundreds.
`popen` and `run` are `subprocess.Popen` and `subprocess.run` for the emulator's job runs and
apps and the tests' own processes: when the command is exactly `[sys.executable, "-m", "job" or
"trigger", *args]`, run from the project root with an environment that sets no `PYTHON*`
variable, the program is forked from one fork server per process (`zygote_server.py`, started
on first use) instead of exec'd; anything else is exec'd as before. `LOCALCLOUD_ZYGOTE=0` execs
everything (the benchmarks set it: they measure process start).

The forked program sees what `python -m` would give it (environment, `sys.argv`, working
directory, fds 0/1/2, session) and signals to its pid reach it directly; the handle is a
`ZygoteProcess` (`localcloud.zygote_process`). What differs: its modules were imported before its
environment was set, and the interpreter's start-up state (hash seed, locale, flags) is the
server's.
"""

from __future__ import annotations

import atexit
import functools
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from localcloud.zygote_process import Request, ZygoteProcess, open_stdio

ROOT = Path(__file__).resolve().parent.parent
SERVER = Path(__file__).with_name("zygote_server.py")
MODULES = ("job", "trigger")
SWITCH = "LOCALCLOUD_ZYGOTE"
START_SECONDS = 60.0
# What `ZygoteProcess` can stand in for; any other option to `popen` means a real exec.
OPTIONS = {"cwd", "env", "stdin", "stdout", "stderr", "start_new_session", "text", "errors"}


class Process(Protocol):
    """What callers use of a `subprocess.Popen`, and a `ZygoteProcess` provides."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | Any: ...
    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]: ...
    def send_signal(self, sig: int) -> None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...


@functools.cache
def enabled() -> bool:
    """Read once: `LOCALCLOUD_ZYGOTE=0` turns the zygote off."""
    return os.environ.get(SWITCH, "1") != "0"


def popen(args: Sequence[str], **options: Any) -> Process:
    """`subprocess.Popen(args, **options)`, forked from the zygote where it can be."""
    module = _forkable(args, options)
    if module is None:
        return subprocess.Popen(args, **options)
    return _zygote().spawn(Request.of(module, args[3:], options), options)


def run(
    args: Sequence[str], *, timeout: float | None = None, **options: Any
) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run(args, timeout=timeout, **options)` (with `capture_output` and `check`)."""
    capture, check = options.pop("capture_output", False), options.pop("check", False)
    if _forkable(args, options) is None:
        return subprocess.run(args, timeout=timeout, capture_output=capture, check=check, **options)
    if capture:
        options.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc = popen(args, **options)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    done = subprocess.CompletedProcess(list(args), proc.wait(), out, err)
    if check:
        done.check_returncode()
    return done


def _forkable(args: Sequence[str], options: Mapping[str, Any]) -> str | None:
    """The module to fork, or None: exec for real."""
    if len(args) < 3 or args[0] != sys.executable or args[1] != "-m" or args[2] not in MODULES:
        return None
    env = options.get("env")
    if env is None or any(key.startswith("PYTHON") for key in env):  # interpreter settings
        return None
    cwd = Path(options.get("cwd") or os.getcwd()).resolve()
    if cwd != ROOT or not set(options) <= OPTIONS or not enabled():
        return None  # elsewhere `-m` could find another `job`
    return args[2]


class Zygote:
    """One fork server and the socket that asks it for processes."""

    def __init__(self, modules: Sequence[str] = MODULES, cwd: Path = ROOT) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._server = subprocess.Popen(
                [sys.executable, "-E", str(SERVER), *modules],
                cwd=cwd, stdin=theirs.fileno(), stdout=subprocess.DEVNULL,
            )  # fmt: skip
        self._control = ours
        self._lock = threading.Lock()
        ours.settimeout(START_SECONDS)
        try:
            ready = ours.recv(16)
        except TimeoutError:
            ready = b""
        if not ready:
            self.close()
            raise RuntimeError(f"the zygote did not start (exit {self._server.poll()})")
        ours.settimeout(None)

    def spawn(self, request: Request, options: Mapping[str, Any]) -> ZygoteProcess:
        """Start `request`'s program with the stdio `options` name (None, DEVNULL, PIPE,
        STDOUT for stderr, an fd or a file object, as for `Popen`)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with theirs, self._lock:
            socket.send_fds(self._control, [b"r"], [theirs.fileno()])
        stdio = open_stdio(options)
        return ZygoteProcess.start(ours, request, stdio)

    def ended(self) -> bool:
        return self._server.poll() is not None

    def close(self) -> None:
        """The server ends when its control socket closes; its programs run on."""
        self._control.close()
        try:
            self._server.wait(10)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait()


_lock = threading.Lock()
_running: dict[int, Zygote] = {}  # by the pid of the process that started it


def _zygote() -> Zygote:
    with _lock:
        zygote = _running.get(os.getpid())
        if zygote is None or zygote.ended():
            zygote = _running[os.getpid()] = Zygote()
            atexit.register(zygote.close)
        return zygote
