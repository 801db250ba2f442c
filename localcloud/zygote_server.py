"""The fork server behind `localcloud.zygote`: run as a script (`python -E <this file> MODULE...`)
with its stdin a SOCK_SEQPACKET socket to the process that started it.

It imports the given modules once (`job.__main__`, `trigger.__main__`: their libraries are what
costs a new interpreter its first ~0.3 s of CPU), then forks a supervisor per request. The
server stays single-threaded, so forking it is safe. Protocol:
- The client sends one byte and one fd on stdin: its end of a fresh stream socketpair (the
  request's channel). The server forks a supervisor for it and closes its copy; EOF on stdin
  (the client is gone) ends the server. SIGCHLD is ignored, so supervisors are reaped.
- On the channel the client sends a 4-byte length with the program's fds 0, 1 and 2 attached,
  then that many bytes of JSON: module, args, cwd, env, new_session.
- The supervisor changes to `cwd` and forks the program, then answers `p` + its pid, and `x` +
  its exit status once it has exited (`os.waitstatus_to_exitcode`: negative for a signal), or
  `e` + an errno if it could not start. It reaps the program only once the client has closed the
  channel, so the pid cannot be reused while the client may still signal it (as with `Popen`).
- The program is `python -m MODULE ARGS...` as far as it can tell: exactly `env` in
  `os.environ`, `sys.argv` and `sys.path[0]` as `-m` sets them, its own fds 0/1/2 and no others,
  its own session if asked; it ends with `os._exit` so the server's atexit handlers never run.

Nothing here imports `localcloud`: the server holds only what the programs themselves import.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import json
import logging
import os
import runpy
import select
import signal
import socket
import struct
import sys
import threading
from typing import Any

HEADER = struct.Struct("!I")  # length of the request's JSON
REPLY = struct.Struct("!ci")  # b"p" pid, b"x" exit status, b"e" errno
READY = b"ready"


def preload(modules: list[str]) -> None:
    """Import what `python -m` would run (a package's `__main__`) and its imports, then forget the
    modules themselves: `runpy` warns when the module to run is already in `sys.modules`."""
    for name in modules:
        spec = importlib.util.find_spec(name)
        target = f"{name}.__main__" if spec and spec.submodule_search_locations else name
        importlib.import_module(target)
        sys.modules.pop(target, None)


def serve(control: socket.socket) -> None:
    """Fork a supervisor per channel received until the client closes `control`."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        select.select([control], [], [])
        _, fds, _, _ = socket.recv_fds(control, 1, 1)
        if not fds:
            return
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the program
                supervise(socket.socket(fileno=fds[0]))
                status = 0
            finally:
                os._exit(status)
        os.close(fds[0])


def supervise(channel: socket.socket) -> None:
    request, stdio = _receive(channel)
    try:
        os.chdir(request["cwd"])
    except OSError as exc:
        channel.sendall(REPLY.pack(b"e", exc.errno or 0))
        return
    set_up, done = os.pipe()  # closed by the program once it is set up (`Popen`'s exec pipe)
    pid = os.fork()
    if pid == 0:
        try:
            _program(channel, request, stdio)
        finally:
            os._exit(1)  # reached only if the program's set-up failed
    for fd in (done, *stdio):
        os.close(fd)
    os.read(set_up, 1)  # EOF: its session and fds are in place, it may be signalled as a group
    os.close(set_up)
    with contextlib.suppress(OSError):  # the client may be gone; the program runs on
        channel.sendall(REPLY.pack(b"p", pid))
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        assert info is not None
        killed = info.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
        channel.sendall(REPLY.pack(b"x", -info.si_status if killed else info.si_status))
        while channel.recv(4096):  # until the client has the status and closes the channel
            pass
    os.waitpid(pid, 0)


def _receive(channel: socket.socket) -> tuple[dict[str, Any], list[int]]:
    head, stdio, _, _ = socket.recv_fds(channel, HEADER.size, 3)
    head += _read(channel, HEADER.size - len(head))
    (size,) = HEADER.unpack(head)
    return json.loads(_read(channel, size)), stdio


def _read(channel: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = channel.recv(size - len(data))
        if not chunk:
            raise EOFError("the client closed the channel mid-request")
        data += chunk
    return data


def _program(channel: socket.socket, request: dict[str, Any], stdio: list[int]) -> None:
    """Become `python -m <module> <args>` (in the forked child) and exit with its status."""
    channel.close()
    if request["new_session"]:
        os.setsid()
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # as `Popen(close_fds=True)`; ends the set-up
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [request["module"], *request["args"]]  # runpy puts the module's path first
    sys.path[0] = os.getcwd()  # where `-m` looks first
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=sys.stdout.isatty())
    os._exit(_run(request["module"]))


def _run(module: str) -> int:
    """Run the module as `__main__`; its exit status as the interpreter would give it."""
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        _flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Python ends "killed by SIGINT" then
        os.kill(os.getpid(), signal.SIGINT)
        status = 1
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    # What the interpreter's shutdown would do before its atexit handlers.
    for thread in threading.enumerate():
        if not thread.daemon and thread is not threading.current_thread():
            thread.join()
    logging.shutdown()
    _flush()
    return status


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def main() -> None:
    sys.path[0] = os.getcwd()  # not this file's folder: the client starts it in the project root
    control = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    preload(sys.argv[1:])
    control.sendall(READY)
    serve(control)


if __name__ == "__main__":
    main()
