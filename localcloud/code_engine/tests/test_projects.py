"""Code Engine v2 projects, the `version` parameter, and every body through the SDK models."""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

import pytest
from ibm_code_engine_sdk.code_engine_v2 import (
    CodeEngineV2,
    Job,
    JobList,
    JobRun,
    JobRunList,
    Project,
    ProjectList,
    Secret,
    SecretList,
)

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import (
    ENV_IMAGE,
    api_error,
    client,
    tls_data,
)

pytestmark = pytest.mark.integration


# -- projects and the version parameter ---------------------------------------------------------
def test_get_project_and_unknown_project(ce: CodeEngineV2, pid: str) -> None:
    project = ce.get_project(id=pid).get_result()
    assert Project.from_dict(project).id == pid
    assert project["status"] == "active"
    assert ProjectList.from_dict(ce.list_projects().get_result()).projects[0].id == pid
    unknown = "0b5571f7-21e6-42b7-91c5-3f5ac9793a46"
    error = api_error(ce.get_secret, project_id=unknown, name="x")
    assert error.status_code == 404
    assert api_error(ce.get_project, id=unknown).status_code == 404
    assert api_error(ce.list_secrets, project_id="not-a-uuid").status_code == 400


@pytest.mark.parametrize("version", [None, "2025-13-01", "20250101", "2021-03-30", "tomorrow"])
def test_version_missing_malformed_or_out_of_range(
    cloud: LocalCloud, pid: str, version: str | None
) -> None:
    if version == "tomorrow":
        version = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    service = client(cloud, version)
    try:
        error = api_error(service.list_secrets, project_id=pid)
    finally:
        service.http_client.close()
    assert error.status_code == 400
    assert "version" in error.message


def test_oldest_documented_version_is_accepted(cloud: LocalCloud, pid: str) -> None:
    service = client(cloud, "2021-03-31")
    try:
        assert service.list_secrets(project_id=pid).get_status_code() == 200
    finally:
        service.http_client.close()


# -- contract: every body the fake returns parses with the SDK models ---------------------------
def test_contract_every_body_parses_with_sdk_models(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    Project.from_dict(ce.get_project(id=pid).get_result())
    ProjectList.from_dict(ce.list_projects(limit=1).get_result())
    Secret.from_dict(
        ce.create_secret(project_id=pid, format="tls", name="c", data=tls_data()).get_result()
    )
    Secret.from_dict(ce.get_secret(project_id=pid, name="c").get_result())
    SecretList.from_dict(ce.list_secrets(project_id=pid).get_result())
    Job.from_dict(ce.create_job(project_id=pid, image_reference=ENV_IMAGE, name="j").get_result())
    Job.from_dict(ce.get_job(project_id=pid, name="j").get_result())
    JobList.from_dict(ce.list_jobs(project_id=pid).get_result())
    script = "import sys, time; time.sleep(1); sys.exit(int(sys.argv[1]))"
    cloud.code_engine.register_image("docker.io/certsync/exit:1", [sys.executable, "-c", script])
    cloud.code_engine.job_runs.pending_seconds = 0.5
    statuses: dict[str, dict[str, Any]] = {}
    for code in ("0", "1"):
        run = ce.create_job_run(
            project_id=pid, image_reference="docker.io/certsync/exit:1", name=f"exit-{code}",
            run_arguments=[code], scale_retry_limit=0,
        ).get_result()  # fmt: skip
        statuses.setdefault(run["status"], run)
    deadline = time.monotonic() + 30
    while {"running", "completed", "failed"} - set(statuses) and time.monotonic() < deadline:
        for name in ("exit-0", "exit-1"):
            body = ce.get_job_run(project_id=pid, name=name).get_result()
            statuses.setdefault(body["status"], body)
        time.sleep(0.05)
    assert set(statuses) == {"pending", "running", "completed", "failed"}
    for body in statuses.values():
        JobRun.from_dict(body)
        assert body["resource_type"] == "job_run_v2"
    JobRunList.from_dict(ce.list_job_runs(project_id=pid).get_result())
