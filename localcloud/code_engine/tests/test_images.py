"""Code Engine v2 images: a run's command line from the image's ENTRYPOINT and CMD and the
job's and run's commands and arguments (docs `cmd-args.md`), and pulls from private registries
that need a registry `image_secret` (SDK `create_job` / `create_app` `image_secret`)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import APP_SERVER, settled_app

pytestmark = pytest.mark.integration

ARGV_IMAGE = "docker.io/certsync/argv:1"
PRINT_ARGV = "import json, sys; print(json.dumps(sys.argv[1:]))"
PRIVATE = "us.icr.io/team/argv:1"
ICR_CREDENTIALS = {"server": "us.icr.io", "username": "iamapikey", "password": "not-a-real-key"}


def argv_of_run(cloud: LocalCloud, ce: CodeEngineV2, pid: str, **run: Any) -> list[str]:
    created = ce.create_job_run(project_id=pid, job_name="argv", **run).get_result()
    final = cloud.code_engine.job_runs.wait(created["name"])
    assert final["status"] == "completed", cloud.code_engine.job_runs.logs(created["name"])
    printed: list[str] = json.loads(cloud.code_engine.job_runs.logs(created["name"]))
    return printed


@pytest.fixture
def argv_job(cloud: LocalCloud) -> None:
    """An image like `ENTRYPOINT ["python", "-c", PRINT_ARGV, "entry"]` + `CMD ["--debug"]`."""
    cloud.code_engine.register_image(
        ARGV_IMAGE, [sys.executable, "-c", PRINT_ARGV, "entry"], cmd=["--debug"]
    )


@dataclass(frozen=True)
class Row:
    """A row of the docs' table: the job's settings, the run's, and the command line run."""

    job: dict[str, Any]
    run: dict[str, Any]
    argv: list[str]


# The table of docs `cmd-args.md` (image Entrypoint `/myapp`, Command `--debug`), as job runs.
@pytest.mark.parametrize(
    "row",
    [
        pytest.param(Row({}, {}, ["entry", "--debug"]), id="image-entrypoint-and-cmd"),
        pytest.param(Row({"run_arguments": ["-d"]}, {}, ["entry", "-d"]), id="args-replace-cmd"),
        pytest.param(
            Row({}, {"run_arguments": ["-d"]}, ["entry", "-d"]), id="run-args-replace-cmd"
        ),
        pytest.param(
            Row({"run_arguments": ["-j"]}, {"run_arguments": ["-r"]}, ["entry", "-r"]),
            id="run-over-job",
        ),
        pytest.param(
            Row({"run_commands": [sys.executable, "-c", PRINT_ARGV, "cmd2"]}, {}, ["cmd2"]),
            id="command-ignores-image-cmd",
        ),
        pytest.param(
            Row(
                {"run_commands": [sys.executable, "-c", PRINT_ARGV, "cmd2"]},
                {"run_arguments": ["-d"]},
                ["cmd2", "-d"],
            ),
            id="command-and-args",
        ),
    ],
)
@pytest.mark.usefixtures("argv_job")
def test_a_run_builds_its_command_line_as_kubernetes_does(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, row: Row
) -> None:
    ce.create_job(project_id=pid, name="argv", image_reference=ARGV_IMAGE, **row.job)
    assert argv_of_run(cloud, ce, pid, **row.run) == row.argv


def test_arguments_replace_an_image_cmd_that_names_the_program(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    """`CMD ["python", "-m", "job"]` with `--argument --dry-run`: the container runs `--dry-run`."""
    cloud.code_engine.register_image("docker.io/certsync/cmd-only:1", [], cmd=[sys.executable])
    ce.create_job(project_id=pid, name="cmd-only", image_reference="docker.io/certsync/cmd-only:1")
    created = ce.create_job_run(
        project_id=pid, job_name="cmd-only", run_arguments=["--dry-run"], scale_retry_limit=0
    ).get_result()
    final = cloud.code_engine.job_runs.wait(created["name"])
    assert final["status"] == "failed"
    details = final["status_details"]["indices_details"]["0"]
    assert details["last_failure_reason"] == "ContainerExitedCode128"
    assert 'exec: "--dry-run"' in cloud.code_engine.job_runs.logs(created["name"])


def test_a_private_image_without_a_registry_secret_fails_to_pull(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    cloud.code_engine.register_image(PRIVATE, [sys.executable, "-c", PRINT_ARGV])
    ce.create_job(project_id=pid, name="private", image_reference=PRIVATE)  # accepted
    created = ce.create_job_run(project_id=pid, job_name="private").get_result()
    final = cloud.code_engine.job_runs.wait(created["name"])
    assert final["status"] == "failed"
    details = final["status_details"]["indices_details"]["0"]
    assert details["last_failure_reason"] == "ImagePullBackOff"
    assert f'Failed to pull image "{PRIVATE}"' in cloud.code_engine.job_runs.logs(created["name"])


@pytest.mark.parametrize(
    ("secret", "stored"),
    [
        pytest.param("missing", None, id="no-such-secret"),
        pytest.param("plain", ("generic", {"server": "us.icr.io"}), id="not-a-registry-secret"),
        pytest.param("other", ("registry", {**ICR_CREDENTIALS, "server": "de.icr.io"}), id="host"),
    ],
)
def test_a_private_image_needs_a_registry_secret_for_its_host(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, secret: str, stored: tuple[str, Any] | None
) -> None:
    """`stored`: the format and data of the secret the job names (None: there is none)."""
    cloud.code_engine.register_image(PRIVATE, [sys.executable, "-c", PRINT_ARGV])
    if stored is not None:
        cloud.code_engine.secrets.put(secret, *stored)
    ce.create_job(project_id=pid, name="private", image_reference=PRIVATE, image_secret=secret)
    created = ce.create_job_run(project_id=pid, job_name="private").get_result()
    assert cloud.code_engine.job_runs.wait(created["name"])["status"] == "failed"


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(PRIVATE, id="private-with-secret"),
        pytest.param("icr.io/codeengine/argv", id="ibm-public-samples"),
        pytest.param("docker.io/certsync/argv:2", id="docker-hub"),
    ],
)
def test_a_pull_succeeds_with_the_secret_or_from_a_public_registry(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, image: str
) -> None:
    cloud.code_engine.register_image(image, [sys.executable, "-c", PRINT_ARGV])
    cloud.code_engine.secrets.put("icr", "registry", ICR_CREDENTIALS)
    ce.create_job(project_id=pid, name="argv", image_reference=image, image_secret="icr")
    assert argv_of_run(cloud, ce, pid) == []


def test_a_private_app_image_without_a_pull_secret_never_gets_ready(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    cloud.code_engine.register_image(PRIVATE, [sys.executable, "-c", APP_SERVER])
    response = ce.create_app(project_id=pid, name="web", image_reference=PRIVATE)
    assert response.get_status_code() == 201  # "the app will be created but cannot reach ready"
    app = settled_app(ce, pid, "web")
    assert app["status"] == "failed"
    revision = ce.get_app_revision(project_id=pid, app_name="web", name="web-00001").get_result()
    assert revision["status_details"]["reason"] == "fetch_image_failed_missing_pull_credentials"

    cloud.code_engine.secrets.put("icr", "registry", ICR_CREDENTIALS)
    ce.update_app(project_id=pid, name="web", if_match="*", app={"image_secret": "icr"})
    assert settled_app(ce, pid, "web")["status"] == "ready"
