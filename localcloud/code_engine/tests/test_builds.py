"""Code Engine v2 builds and build runs through the SDK: a successful run makes its image
runnable; unknown sources fail; a build without its registry secret is not registered."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from ibm_code_engine_sdk.code_engine_v2 import (
    Build,
    BuildList,
    BuildRun,
    BuildRunList,
    CodeEngineV2,
)

from localcloud import LocalCloud
from localcloud.code_engine.runner import Image
from localcloud.code_engine.tests.support import api_error, wait_until

pytestmark = pytest.mark.integration

REPO = "https://github.com/example/certsync"
OUTPUT = "private.us-south.icr.io/certsync/job:1"
REGISTRY = {"server": "private.us-south.icr.io", "username": "iamapikey", "password": "k"}


@pytest.fixture
def source(cloud: LocalCloud) -> None:
    job = Image([sys.executable, "-c", "print('built job ran')"])
    cloud.code_engine.builds.register_source(REPO, {"Dockerfile.job": job}, revisions=["main"])
    cloud.code_engine.secrets.put("icr", "registry", REGISTRY)
    cloud.code_engine.builds.build_seconds = 0.1


def create_build(ce: CodeEngineV2, pid: str, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "name": "job-build", "output_image": OUTPUT, "output_secret": "icr",
        "strategy_type": "dockerfile", "source_url": REPO, "source_revision": "main",
        "strategy_spec_file": "Dockerfile.job", **overrides,
    }  # fmt: skip
    response = ce.create_build(project_id=pid, **settings)
    assert response.get_status_code() == 201
    result: dict[str, Any] = response.get_result()
    return result


def finished_run(ce: CodeEngineV2, pid: str, name: str) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def done() -> bool:
        seen.append(ce.get_build_run(project_id=pid, name=name).get_result())
        return seen[-1]["status"] in ("succeeded", "failed")

    assert wait_until(done), f"build run {name} still {seen[-1]['status']}"
    return seen[-1]


def test_build_run_registers_the_image_a_job_then_runs(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, source: None
) -> None:
    build = create_build(ce, pid)
    Build.from_dict(build)
    assert (build["status"], build["status_details"]["reason"]) == ("ready", "registered")
    assert (build["strategy_size"], build["timeout"], build["source_type"]) == (
        "medium",
        600,
        "git",
    )
    response = ce.create_build_run(project_id=pid, build_name="job-build", name="first")
    assert response.get_status_code() == 202
    assert response.get_result()["status"] == "pending"
    run = finished_run(ce, pid, "first")
    BuildRun.from_dict(run)
    assert (run["status"], run["status_details"]["reason"]) == ("succeeded", "succeeded")
    assert run["status_details"]["output_digest"].startswith("sha256:")
    BuildRunList.from_dict(ce.list_build_runs(project_id=pid, build_name="job-build").get_result())
    BuildList.from_dict(ce.list_builds(project_id=pid).get_result())
    ce.create_job(project_id=pid, name="sync", image_reference=OUTPUT, image_secret="icr")
    job_run = ce.create_job_run(project_id=pid, job_name="sync").get_result()
    assert cloud.code_engine.job_runs.wait(job_run["name"])["status"] == "completed"
    assert "built job ran" in cloud.code_engine.job_runs.logs(job_run["name"])


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"source_url": "https://github.com/example/unknown"}, "missing_code_repo_access"),
        ({"source_revision": "v9"}, "failed"),
        ({"strategy_spec_file": "Dockerfile.nope"}, "failed"),
    ],
)
def test_unknown_source_revision_or_recipe_fails_the_run(
    ce: CodeEngineV2, pid: str, source: None, override: dict[str, str], reason: str
) -> None:
    create_build(ce, pid, **override)
    ce.create_build_run(project_id=pid, build_name="job-build", name="bad")
    run = finished_run(ce, pid, "bad")
    assert (run["status"], run["status_details"]["reason"]) == ("failed", reason)
    assert api_error(ce.get_build_run, project_id=pid, name="nope").status_code == 404


def test_missing_registry_secret_leaves_the_build_unregistered(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, source: None
) -> None:
    build = create_build(ce, pid, output_secret="absent")
    assert (build["status"], build["status_details"]["reason"]) == (
        "failed",
        "spec_output_secret_ref_not_found",
    )
    ce.create_build_run(project_id=pid, build_name="job-build", name="unregistered")
    run = finished_run(ce, pid, "unregistered")
    assert (run["status"], run["status_details"]["reason"]) == (
        "failed",
        "invalid_build_configuration",
    )
    cloud.code_engine.secrets.put("absent", "generic", {"k": "v"})  # not a registry secret
    assert ce.get_build(project_id=pid, name="job-build").get_result()["status"] == "failed"
    current = ce.get_build(project_id=pid, name="job-build")
    updated = ce.update_build(
        project_id=pid, name="job-build", if_match=current.get_headers()["ETag"],
        build={"output_secret": "icr"},
    )  # fmt: skip
    assert updated.get_result()["status"] == "ready"


def test_build_requests_are_checked(ce: CodeEngineV2, pid: str, source: None) -> None:
    assert api_error(create_build, ce, pid, source_url=None).status_code == 400
    assert api_error(create_build, ce, pid, strategy_type="kaniko").status_code == 400
    create_build(ce, pid)
    assert api_error(create_build, ce, pid).status_code == 409
    stale = api_error(
        ce.update_build, project_id=pid, name="job-build", if_match="1", build={"timeout": 60}
    )
    assert stale.status_code == 412
    missing = api_error(ce.create_build_run, project_id=pid, build_name="other")
    assert missing.status_code == 404
    assert ce.delete_build(project_id=pid, name="job-build").get_status_code() == 202
