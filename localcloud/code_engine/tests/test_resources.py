"""CPU and memory of jobs, job runs and apps: only the combinations of mem-cpu-combo.md."""

from __future__ import annotations

from typing import Any

import pytest
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2

from localcloud.code_engine.tests.support import ENV_IMAGE, api_error

pytestmark = pytest.mark.integration

VALID = [("0.125", "0.25G"), ("0.125", "250M"), ("0.25", "0.5G"), ("0.5", "4G"), ("12", "48G")]
INVALID = [
    {"scale_cpu_limit": "0.125", "scale_memory_limit": "4G"},  # 4 GB needs 0.5 vCPU or more
    {"scale_cpu_limit": "0.3", "scale_memory_limit": "1G"},  # no such vCPU amount
    {"scale_cpu_limit": "8", "scale_memory_limit": "64G"},  # the table has no 8 x 64
    {"scale_cpu_limit": "0.25", "scale_memory_limit": "512Mi"},  # binary units: not documented
    {"scale_cpu_limit": "1", "scale_memory_limit": "4096"},  # no unit
    # ephemeral storage above both 400M and the memory
    {
        "scale_cpu_limit": "0.125",
        "scale_memory_limit": "0.25G",
        "scale_ephemeral_storage_limit": "1G",
    },
]


@pytest.mark.parametrize(("cpu", "memory"), VALID)
def test_a_documented_combination_is_accepted(
    ce: CodeEngineV2, pid: str, cpu: str, memory: str
) -> None:
    job = ce.create_job(
        project_id=pid,
        name="sized",
        image_reference=ENV_IMAGE,
        scale_cpu_limit=cpu,
        scale_memory_limit=memory,
    ).get_result()
    assert (job["scale_cpu_limit"], job["scale_memory_limit"]) == (cpu, memory)


@pytest.mark.parametrize("limits", INVALID)
def test_any_other_combination_is_refused_for_jobs_and_apps(
    ce: CodeEngineV2, pid: str, limits: dict[str, Any]
) -> None:
    job = api_error(ce.create_job, project_id=pid, name="j", image_reference=ENV_IMAGE, **limits)
    app = api_error(ce.create_app, project_id=pid, name="a", image_reference=ENV_IMAGE, **limits)
    assert (job.status_code, app.status_code) == (400, 400)
    assert "scale_" in job.message


def test_an_update_or_a_run_that_leaves_a_bad_combination_is_refused(
    ce: CodeEngineV2, pid: str
) -> None:
    created = ce.create_job(project_id=pid, name="j", image_reference=ENV_IMAGE).get_result()
    # the default is 1 vCPU with 4 GB: 0.125 vCPU alone would leave 0.125 x 4 GB
    patch = {"scale_cpu_limit": "0.125"}
    refused = api_error(
        ce.update_job, project_id=pid, name="j", if_match=created["entity_tag"], job=patch
    )
    assert refused.status_code == 400
    run = api_error(ce.create_job_run, project_id=pid, job_name="j", scale_cpu_limit="0.125")
    assert run.status_code == 400
    both = {"scale_cpu_limit": "0.125", "scale_memory_limit": "0.25G"}
    updated = ce.update_job(
        project_id=pid, name="j", if_match=created["entity_tag"], job=both
    ).get_result()
    assert (updated["scale_cpu_limit"], updated["scale_memory_limit"]) == ("0.125", "0.25G")
