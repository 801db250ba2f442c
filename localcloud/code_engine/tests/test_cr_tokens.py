"""Compute-resource tokens: a job run or app with `run_compute_resource_token_enabled` finds its
token where `<PREFIX>_CR_TOKEN_FILENAME` says; without the flag there is neither."""

from __future__ import annotations

import sys

import pytest
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import (
    APP_SERVER,
    env_lines,
    literal,
    served_env,
    settled_app,
)

pytestmark = pytest.mark.integration

IMAGE = "docker.io/certsync/token-reader:1"
# Prints its environment, and the token file's content length (never the token itself).
READER = (
    "import json, os; env = dict(os.environ); path = env.get('SM_CR_TOKEN_FILENAME');"
    "env['TOKEN_CHARS'] = str(len(open(path).read())) if path else '';"
    "print(json.dumps(env))"
)


@pytest.mark.parametrize("enabled", [True, False])
def test_job_run_gets_a_token_file_only_with_the_flag(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, enabled: bool
) -> None:
    cloud.code_engine.register_image(IMAGE, [sys.executable, "-c", READER])
    job = ce.create_job(
        project_id=pid, name="sync", image_reference=IMAGE,
        run_compute_resource_token_enabled=enabled,
        run_env_variables=[
            literal("SM_AUTH_TYPE", "container"),
            literal("CE_AUTH_TYPE", "container"),
            literal("CE_CR_TOKEN_FILENAME", "/mine"),
            literal("OTHER_AUTH_TYPE", "iam"),
        ],
    ).get_result()  # fmt: skip
    assert job["run_compute_resource_token_enabled"] is enabled
    run = ce.create_job_run(project_id=pid, job_name="sync").get_result()
    assert cloud.code_engine.job_runs.wait(run["name"])["status"] == "completed"
    (env,) = env_lines(cloud, run["name"])
    assert "OTHER_CR_TOKEN_FILENAME" not in env
    assert env["CE_CR_TOKEN_FILENAME"] == "/mine"
    if enabled:
        assert int(env["TOKEN_CHARS"]) > 0
    else:
        assert "SM_CR_TOKEN_FILENAME" not in env


def test_update_job_switches_the_flag(ce: CodeEngineV2, pid: str) -> None:
    created = ce.create_job(project_id=pid, name="sync", image_reference=IMAGE).get_result()
    assert "run_compute_resource_token_enabled" not in created
    updated = ce.update_job(
        project_id=pid, name="sync", if_match=created["entity_tag"],
        job={"run_compute_resource_token_enabled": True},
    ).get_result()  # fmt: skip
    assert updated["run_compute_resource_token_enabled"] is True


def test_project_shows_its_crn_and_name(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    project = ce.get_project(id=pid).get_result()
    identity = cloud.identity
    assert project["crn"] == (
        f"crn:v1:bluemix:public:codeengine:{identity.region}:a/{identity.account_id}:{pid}::"
    )
    assert project["name"]
    listed = ce.list_projects().get_result()["projects"][0]
    assert (listed["crn"], listed["name"]) == (project["crn"], project["name"])


def test_app_gets_a_token_file_with_the_flag(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    cloud.code_engine.register_image(IMAGE, [sys.executable, "-c", APP_SERVER])
    ce.create_app(
        project_id=pid, name="trigger", image_reference=IMAGE,
        run_compute_resource_token_enabled=True,
        run_env_variables=[literal("SM_AUTH_TYPE", "CONTAINER")],
    )  # fmt: skip
    app = settled_app(ce, pid, "trigger")
    assert app["run_compute_resource_token_enabled"] is True
    env = served_env(app["endpoint"])
    with open(env["SM_CR_TOKEN_FILENAME"]) as token:
        assert token.read()
