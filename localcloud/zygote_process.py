"""The caller's handle on a program forked by the zygote (`localcloud.zygote`): a
`subprocess.Popen` for the calls the emulator and the tests make (`pid`, `returncode`, `poll`,
`wait`, `communicate`, `send_signal`, `terminate`, `kill`).

The program's pid is its own (the supervisor between the server and it only waits), so a signal
to the pid or to its process group reaches it directly. Its exit status comes over the request's
channel as `os.waitstatus_to_exitcode` gives it (negative: killed by that signal).
"""

from __future__ import annotations

import contextlib
import errno
import json
import locale
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.zygote_server import HEADER, REPLY

START_SECONDS = 60.0  # for the program's pid: the supervisor forks it at once


@dataclass(frozen=True)
class Request:
    """What the supervisor needs to start `python -m <module> <args>`."""

    module: str
    args: list[str]
    cwd: str
    env: dict[str, str]
    new_session: bool

    @classmethod
    def of(cls, module: str, args: Sequence[str], options: Mapping[str, Any]) -> Request:
        cwd = str(Path(options.get("cwd") or os.getcwd()).resolve())
        env = dict(options["env"])
        return cls(module, list(args), cwd, env, bool(options.get("start_new_session")))

    def encode(self) -> bytes:
        return json.dumps(self.__dict__).encode()


@dataclass
class Stdio:
    """The program's fds 0, 1 and 2; which of them to close here once sent; the read ends of
    PIPEs (1 and 2) and whether they are read as text (`errors`: None for bytes)."""

    fds: list[int]
    close: list[int] = field(default_factory=list)
    pipes: dict[int, int] = field(default_factory=dict)
    errors: str | None = None


def open_stdio(options: Mapping[str, Any]) -> Stdio:
    """`Popen`'s stdio options as fds: None inherits ours, DEVNULL, PIPE, STDOUT (stderr only),
    an fd, or a file object."""
    text = options.get("text") or options.get("errors") is not None
    stdio = Stdio([], errors=(options.get("errors") or "strict") if text else None)
    for target, name in enumerate(("stdin", "stdout", "stderr")):
        value = options.get(name)
        if value is None:
            stdio.fds.append(target)
        elif value == subprocess.DEVNULL:
            fd = os.open(os.devnull, os.O_RDWR)
            stdio.fds.append(fd)
            stdio.close.append(fd)
        elif value == subprocess.PIPE and target > 0:
            read, write = os.pipe()
            stdio.pipes[target] = read
            stdio.fds.append(write)
            stdio.close.append(write)
        elif value == subprocess.STDOUT and target == 2:
            stdio.fds.append(stdio.fds[1])
        elif isinstance(value, int) and value >= 0:
            stdio.fds.append(value)
        elif hasattr(value, "fileno"):
            stdio.fds.append(value.fileno())
        else:
            raise ValueError(f"{name}={value!r} is not supported by the zygote")
    return stdio


class ZygoteProcess:
    def __init__(self, args: list[str], channel: socket.socket, stdio: Stdio) -> None:
        self.args = args
        self.pid = 0
        self.returncode: int | None = None
        self._channel = channel
        self._buffer = b""
        self._stdio = stdio
        self._output: dict[int, list[bytes]] = {fd: [] for fd in stdio.pipes}
        self._wait_lock = threading.Lock()

    @classmethod
    def start(cls, channel: socket.socket, request: Request, stdio: Stdio) -> ZygoteProcess:
        """Send `request` with its fds over `channel` and wait for the program's pid."""
        proc = cls([sys.executable, "-m", request.module, *request.args], channel, stdio)
        try:
            payload = request.encode()
            socket.send_fds(channel, [HEADER.pack(len(payload))], stdio.fds)
            channel.sendall(payload)
            kind, value = proc._reply(START_SECONDS)
        except BaseException:
            proc._close()
            raise
        finally:
            for fd in stdio.close:
                os.close(fd)
        if kind == b"e":
            proc._close()
            raise OSError(value, os.strerror(value), request.cwd)
        proc.pid = value
        return proc

    def poll(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.wait(0)
        return None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is not None:
            return self.returncode
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._wait_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        try:
            if self.returncode is None:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                _, code = self._reply(left)
                self.returncode = code
                self._channel.close()  # the supervisor may reap the program now
            return self.returncode
        finally:
            self._wait_lock.release()

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
        """Read the PIPEs to their end, then wait; on a timeout, what was read is kept for the
        next call (as `Popen.communicate`). No input: the program's stdin is never a PIPE."""
        assert input is None
        deadline = None if timeout is None else time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            for fd in self._stdio.pipes.values():
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0)
                for key, _ in selector.select(left):
                    self._read(selector, int(key.fd))
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return self._text(1), self._text(2)

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:  # not reaped before we know its status: the pid is its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    # -- internals ------------------------------------------------------------------------------
    def _reply(self, timeout: float | None) -> tuple[bytes, int]:
        self._channel.settimeout(timeout)
        while len(self._buffer) < REPLY.size:
            try:
                chunk = self._channel.recv(REPLY.size - len(self._buffer))
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
            except BlockingIOError:  # timeout 0: nothing yet
                raise subprocess.TimeoutExpired(self.args, 0) from None
            if not chunk:
                raise ChildProcessError(errno.ECHILD, f"the zygote lost {self.args}")
            self._buffer += chunk
        reply, self._buffer = self._buffer[: REPLY.size], self._buffer[REPLY.size :]
        kind, value = REPLY.unpack(reply)
        return kind, value

    def _read(self, selector: selectors.BaseSelector, fd: int) -> None:
        target = next(t for t, read in self._stdio.pipes.items() if read == fd)
        chunk = os.read(fd, 65536)
        if chunk:
            self._output[target].append(chunk)
            return
        selector.unregister(fd)
        os.close(fd)
        del self._stdio.pipes[target]

    def _text(self, target: int) -> Any:
        if target not in self._output:
            return None
        data = b"".join(self._output[target])
        if self._stdio.errors is None:
            return data
        text = data.decode(locale.getencoding(), self._stdio.errors)
        return text.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as Popen

    def _close(self) -> None:
        self._channel.close()
        for fd in self._stdio.pipes.values():
            os.close(fd)
        self._stdio.pipes.clear()

    def __repr__(self) -> str:
        return f"<ZygoteProcess: returncode: {self.returncode} args: {self.args!r}>"
