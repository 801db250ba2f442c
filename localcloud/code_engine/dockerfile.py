"""Code Engine v2: what an image built from a Dockerfile runs, as local commands.

Only what a container's command line depends on is read: the final stage's `ENTRYPOINT` and
`CMD` (Dockerfile reference, docs.docker.com/reference/dockerfile: the exec form is a JSON
array; the shell form runs as `/bin/sh -c "<text>"`; the last of each counts; "If CMD is defined
from the base image, setting ENTRYPOINT will reset CMD to an empty value"). A stage built `FROM`
an earlier stage inherits that stage's. `python`/`python3` as the command becomes this
interpreter (`sys.executable`), so the image runs here; the working directory is the build
context (the Dockerfile's folder) instead of `WORKDIR`, and `ENV` is not applied (a PATH of
`/opt/venv/bin` would find nothing here).

An external base image's own ENTRYPOINT and CMD are not known here: a final stage that sets
neither is refused (ValueError); one that sets only `CMD` is taken to have an empty ENTRYPOINT
(true of the official `python` images certsync builds from).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from localcloud.code_engine.runner import Image

INTERPRETERS = {"python", "python3"}


@dataclass(frozen=True)
class _Stage:
    names: tuple[str, ...] = ()
    entrypoint: list[str] | None = None  # None: not set by this Dockerfile
    cmd: list[str] | None = None
    cmd_set: bool = False  # CMD given in this stage (a later ENTRYPOINT keeps it)


def image_from_dockerfile(dockerfile: Path, *, cwd: Path | None = None) -> Image:
    """The image `dockerfile` builds, run from `cwd` (default: the Dockerfile's folder)."""
    final = _final_stage(dockerfile.read_text())
    if final.entrypoint is None and final.cmd is None:
        raise ValueError(f"{dockerfile}: the final stage sets neither ENTRYPOINT nor CMD")
    entrypoint, cmd = final.entrypoint or [], final.cmd or []
    if entrypoint:
        entrypoint = _local(entrypoint)
    else:
        cmd = _local(cmd)
    return Image(entrypoint=entrypoint, cmd=cmd, cwd=str(cwd or dockerfile.resolve().parent))


def _final_stage(text: str) -> _Stage:
    stages: dict[str, _Stage] = {}
    current: _Stage | None = None
    for keyword, args in _instructions(text):
        if keyword == "FROM":
            current = _from(args, stages)
        elif current is not None and keyword == "ENTRYPOINT":
            cmd = current.cmd if current.cmd_set else None
            current = replace(current, entrypoint=_command(args), cmd=cmd)
        elif current is not None and keyword == "CMD":
            current = replace(current, cmd=_command(args), cmd_set=True)
        if current is not None:
            stages.update((name, current) for name in current.names)
    if current is None:
        raise ValueError("the Dockerfile has no FROM")
    return current


def _from(args: str, stages: dict[str, _Stage]) -> _Stage:
    """`FROM [--platform=...] <image> [AS <name>]`: a new stage, an earlier one's copy when
    `<image>` names it."""
    words = [w for w in args.split() if not w.startswith("--")]
    name = words[2].lower() if len(words) == 3 and words[1].lower() == "as" else None
    base = stages.get(words[0].lower()) if words else None
    names = (name,) if name else ()
    if base is None:
        return _Stage(names=names)
    return replace(base, names=names, cmd_set=False)


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\[ \t]*\n", "", text)  # a continuation joins the lines as they are
    out = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            out.append((keyword.upper(), args.strip()))
    return out


def _command(args: str) -> list[str]:
    """Exec form (a JSON array of strings) or shell form."""
    if args.startswith("["):
        try:
            value = json.loads(args)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", args]  # Docker, too, runs a malformed JSON array as shell form


def _local(command: list[str]) -> list[str]:
    if command and command[0] in INTERPRETERS:
        return [sys.executable, *command[1:]]
    return list(command)
