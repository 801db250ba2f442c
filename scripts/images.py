"""`make images`: build the job and trigger images with docker or podman, whichever is present.

Prints the tags it built, the commands that push them and the `images:` section of certsync.yaml
that runs them. Images are built for linux/amd64: Code Engine runs only Intel (x86) images (docs
`codeengine` faq.md, plan-build.md), so an image built on an ARM laptop without it would not run.
Standard library only: it runs with any `python3`, before `make install`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("docker", "podman")
COMPONENTS = ("job", "trigger")
PLATFORM = "linux/amd64"


def version() -> str:
    """The version `shared/__init__.py` declares (read, not imported: no dependencies needed)."""
    for line in (ROOT / "shared" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].split("#", 1)[0].strip().strip("\"'")
    return "latest"


def find_engine(path: str | None) -> str | None:
    """The first of docker and podman on `path`."""
    return next((e for e in ENGINES if shutil.which(e, path=path)), None)


def image(registry: str, component: str, tag: str) -> str:
    name = f"certsync-{component}:{tag}"
    return f"{registry.rstrip('/')}/{name}" if registry else name


def build(
    engine: str, registry: str, tag: str, *, environ: Mapping[str, str], out: TextIO
) -> list[str]:
    """Build both images; the tags built, in order. Stops at the first failing build."""
    built: list[str] = []
    for component in COMPONENTS:
        ref = image(registry, component, tag)
        command = [
            engine,
            "build",
            "--platform",
            PLATFORM,
            "-f",
            f"Dockerfile.{component}",
            "-t",
            ref,
            ".",
        ]
        print(f"$ {' '.join(command)}", file=out, flush=True)
        done = subprocess.run(command, cwd=ROOT, env=dict(environ), check=False)
        if done.returncode != 0:
            raise SystemExit(
                f"make images: {engine} build of Dockerfile.{component} failed (exit "
                f"{done.returncode}); nothing pushed. Built before it: {', '.join(built) or 'none'}"
            )
        built.append(ref)
    return built


def report(engine: str, registry: str, tag: str, built: Sequence[str], out: TextIO) -> None:
    lines = ["", "Built:", *(f"  {ref}" for ref in built), "", "Push them:"]
    if registry:
        lines += [f"  {engine} push {ref}" for ref in built]
    else:
        lines += ["  (no REGISTRY given: tag them for yours first, e.g. us.icr.io/my-namespace)"]
        for ref in built:
            target = f"<registry>/{ref}"
            lines += [f"  {engine} tag {ref} {target}", f"  {engine} push {target}"]
    shown = registry or "<registry>"
    lines += [
        "",
        "Then, in certsync.yaml:",
        "  images:",
        *(f"    {c}: {image(shown, c, tag)}" for c in COMPONENTS),
        "    registry_secret: certsync-registry",
    ]
    print("\n".join(lines), file=out)


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    parser = argparse.ArgumentParser(
        prog="make images", description="Build the job and trigger images with docker or podman."
    )
    parser.add_argument(
        "--registry", default="", help="e.g. us.icr.io/my-namespace (default: none, local tags)"
    )
    parser.add_argument("--tag", default="", help="default: the version in shared/__init__.py")
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    engine = find_engine(environ.get("PATH"))
    if engine is None:
        print(
            "make images: neither docker nor podman is on PATH: install one of them (or build in "
            "Code Engine instead: the `build:` section of certsync.yaml). Nothing was built.",
            file=sys.stderr,
        )
        return 1
    tag = args.tag or version()
    built = build(engine, args.registry, tag, environ=environ, out=out)
    report(engine, args.registry, tag, built, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
