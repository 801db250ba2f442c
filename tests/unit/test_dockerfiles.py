"""The images, checked without building them (base images cannot be pulled here).

One row per Dockerfile: what it copies exists, dependencies come only from the hash-pinned lock,
the final stage runs as a non-root user, and its entry module imports without side effects and
needs no first-party package the image lacks.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


@dataclass(frozen=True)
class Image:
    dockerfile: str
    module: str  # what `python -m` runs

    def instructions(self) -> list[Instruction]:
        text = (ROOT / self.dockerfile).read_text()
        joined = re.sub(r"\\\n", " ", text)  # line continuations
        out = []
        for raw in joined.splitlines():
            line = raw.strip()
            if line and not line.startswith("#"):
                keyword, _, args = line.partition(" ")
                out.append(Instruction(keyword.upper(), args.strip()))
        return out

    def stages(self) -> list[list[Instruction]]:
        stages: list[list[Instruction]] = []
        for instruction in self.instructions():
            if instruction.keyword == "FROM":
                stages.append([])
            if stages:
                stages[-1].append(instruction)
        return stages

    def final(self) -> list[Instruction]:
        return self.stages()[-1]


IMAGES = [
    pytest.param(Image("Dockerfile.job", "job"), id="job"),
    pytest.param(Image("Dockerfile.trigger", "trigger"), id="trigger"),
]


def copies(stage: list[Instruction]) -> list[tuple[list[str], str, bool]]:
    """(sources, destination, from another stage) per COPY."""
    out = []
    for instruction in stage:
        if instruction.keyword != "COPY":
            continue
        words = instruction.args.split()
        from_stage = any(w.startswith("--from=") for w in words)
        paths = [w for w in words if not w.startswith("--")]
        out.append((paths[:-1], paths[-1], from_stage))
    return out


@pytest.mark.parametrize("image", IMAGES)
def test_every_copied_path_exists(image: Image) -> None:
    for stage in image.stages():
        for sources, _, from_stage in copies(stage):
            if from_stage:
                continue
            for source in sources:
                assert (ROOT / source).exists(), f"{image.dockerfile} copies missing {source!r}"


@pytest.mark.parametrize("image", IMAGES)
def test_dependencies_come_only_from_the_hash_pinned_lock(image: Image) -> None:
    build, *_ = image.stages()
    installs = [i.args for i in build if i.keyword == "RUN" and "pip install" in i.args]
    assert installs, f"{image.dockerfile}: the build stage installs nothing"
    for command in installs:
        assert "--require-hashes" in command
        assert "--no-deps" in command
        assert re.search(r"-r \S*requirements\.lock\b", command)
    assert any("requirements.lock" in sources for sources, _, _ in copies(build))


def test_every_locked_requirement_has_a_hash() -> None:
    text = re.sub(r"\\\n", " ", (ROOT / "requirements.lock").read_text())
    requirements = [line for line in text.splitlines() if line.strip() and line[0].isalnum()]
    assert requirements
    for line in requirements:
        assert "==" in line, line
        assert "--hash=sha256:" in line, line


@pytest.mark.parametrize("image", IMAGES)
def test_the_final_stage_is_slim_and_gets_the_venv_from_the_build(image: Image) -> None:
    stages = image.stages()
    assert len(stages) >= 2, "multi-stage: the final image has no build tools"
    final = image.final()
    assert not any(i.keyword == "RUN" and "pip install" in i.args for i in final)
    assert any(from_stage for _, _, from_stage in copies(final))
    first = next(i for i in image.instructions() if i.keyword in {"ARG", "FROM"})
    assert "slim" in first.args


@pytest.mark.parametrize("image", IMAGES)
def test_the_final_stage_runs_as_a_non_root_user(image: Image) -> None:
    users = [i.args for i in image.final() if i.keyword == "USER"]
    assert users, f"{image.dockerfile}: no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


@pytest.mark.parametrize("image", IMAGES)
def test_the_entrypoint_runs_the_entry_module_so_arguments_append(image: Image) -> None:
    """Code Engine's `run_arguments` replace the image's CMD (docs `cmd-args.md`): the module
    is the ENTRYPOINT, so `jobrun submit --argument --dry-run` runs `python -m job --dry-run`."""
    [entrypoint] = [i.args for i in image.final() if i.keyword == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["python", "-m", image.module]
    assert [i.args for i in image.final() if i.keyword == "CMD"] == []


@pytest.mark.parametrize("image", IMAGES)
def test_the_entry_module_imports_without_starting_anything(image: Image) -> None:
    module = importlib.import_module(f"{image.module}.__main__")

    assert callable(module.main)


@pytest.mark.parametrize("image", IMAGES)
def test_the_image_holds_every_first_party_package_the_entry_module_imports(image: Image) -> None:
    probe = textwrap.dedent(
        f"""
        import importlib, json, pathlib, sys
        importlib.import_module({image.module + ".__main__"!r})
        root, venv = pathlib.Path({str(ROOT)!r}), pathlib.Path({str(ROOT / ".venv")!r})
        files = [pathlib.Path(m.__file__).resolve() for m in list(sys.modules.values())
                 if getattr(m, "__file__", None)]
        ours = {{f.relative_to(root).parts[0] for f in files
                if f.is_relative_to(root) and not f.is_relative_to(venv)}}
        print(json.dumps(sorted(ours)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    imported = set(json.loads(result.stdout))
    assert image.module in imported
    copied = {
        source.strip("/").split("/")[0]
        for sources, _, from_stage in copies(image.final())
        if not from_stage
        for source in sources
    }
    assert imported <= copied, f"{image.dockerfile} lacks {sorted(imported - copied)}"


@pytest.mark.parametrize("image", IMAGES)
def test_the_app_ships_compiled_and_after_its_code_is_copied(image: Image) -> None:
    final = image.final()
    compiles = [n for n, i in enumerate(final) if i.keyword == "RUN" and "compileall" in i.args]
    copies_app = [n for n, i in enumerate(final) if i.keyword == "COPY" and "/app/" in i.args]
    assert compiles, f"{image.dockerfile}: the app's bytecode is not compiled in the image"
    assert compiles[-1] > max(copies_app)
