"""Code Engine v2 jobs through the unmodified SDK: defaults, updates, validation."""

from __future__ import annotations

from typing import Any

import pytest
from ibm_code_engine_sdk.code_engine_v2 import (
    CodeEngineV2,
    EnvVarPrototype,
    Job,
    JobList,
    JobPatch,
)

from localcloud.code_engine.tests.support import (
    ENV_IMAGE,
    api_error,
    literal,
)

pytestmark = pytest.mark.integration


def test_job_create_get_list_update_delete(ce: CodeEngineV2, pid: str) -> None:
    created = ce.create_job(
        project_id=pid,
        image_reference=ENV_IMAGE,
        name="sync",
        run_env_variables=[literal("MODE", "job")],
    )
    assert created.get_status_code() == 201
    job = Job.from_dict(created.get_result())
    assert created.get_headers()["ETag"] == job.entity_tag
    assert (job.run_mode, job.scale_retry_limit, job.scale_max_execution_time) == ("task", 3, 7200)
    assert job.scale_array_spec == "0"
    assert job.resource_type == "job_v2"
    assert job.run_env_variables[0].to_dict() == {"name": "MODE", "type": "literal", "value": "job"}
    assert {e.name for e in job.computed_env_variables} >= {"CE_JOB", "CE_PROJECT_ID"}
    dup = api_error(ce.create_job, project_id=pid, image_reference=ENV_IMAGE, name="sync")
    assert dup.status_code == 409

    patch = JobPatch(scale_retry_limit=1).to_dict()
    stale = api_error(ce.update_job, project_id=pid, name="sync", if_match="1", job=patch)
    assert stale.status_code == 412
    updated = ce.update_job(project_id=pid, name="sync", if_match=job.entity_tag, job=patch)
    assert updated.get_result()["scale_retry_limit"] == 1
    assert updated.get_result()["entity_tag"] != job.entity_tag

    listed = JobList.from_dict(ce.list_jobs(project_id=pid).get_result())
    assert [j.name for j in listed.jobs] == ["sync"]
    assert ce.delete_job(project_id=pid, name="sync").get_status_code() == 202
    assert api_error(ce.get_job, project_id=pid, name="sync").status_code == 404


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "Bad_Name"},
        {"image_reference": "UPPER/case"},
        {"scale_array_spec": "3-1"},
        {"scale_retry_limit": 99},
        {"run_mode": "daemon", "scale_retry_limit": 1},
        {"run_env_variables": [EnvVarPrototype(type="literal", name="X")]},
        {"run_env_variables": [EnvVarPrototype(type="secret_key_reference", name="X")]},
    ],
)
def test_invalid_jobs_are_400(ce: CodeEngineV2, pid: str, changes: dict[str, Any]) -> None:
    fields: dict[str, Any] = {"image_reference": ENV_IMAGE, "name": "job", **changes}
    assert api_error(ce.create_job, project_id=pid, **fields).status_code == 400
