"""What `test_zygote` runs, as `python -m localcloud.tests.zygote_probe <what>`, both exec'd and
forked by the zygote: it prints what a program can see of how it was started, or ends in a
given way."""

from __future__ import annotations

import atexit
import json
import os
import sys
import time

if __name__ != "__main__":  # only where the zygote imports it ahead of time
    atexit.register(print, "the zygote's atexit handler ran")


def facts() -> dict[str, object]:
    open_fds = []
    for fd in range(256):
        try:
            os.fstat(fd)
        except OSError:
            continue
        open_fds.append(fd)
    return {
        "argv": sys.argv,
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "path0": sys.path[0],
        "fds": open_fds,
        "own_group": os.getpgid(0) == os.getpid(),
        "own_session": os.getsid(0) == os.getpid(),
        "main": __name__,
    }


def main(what: str) -> None:
    if what == "facts":
        print(json.dumps(facts()))
    elif what == "echo":  # stdin to stdout, a line to stderr, nothing flushed
        sys.stdout.write(sys.stdin.read())
        sys.stderr.write("to stderr\n")
    elif what == "exit":
        sys.exit(int(sys.argv[2]))
    elif what == "exit-text":
        sys.exit("ended with a message")
    elif what == "raise":
        raise ValueError("an uncaught exception")
    elif what == "sleep":
        print("sleeping", flush=True)
        time.sleep(60)


if __name__ == "__main__":
    main(sys.argv[1])
