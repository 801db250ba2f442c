"""Code Engine v2 job runs executed as local processes: env, retries, arrays, timeouts."""

from __future__ import annotations

import re
import sys
import time

import pytest
from ibm_code_engine_sdk.code_engine_v2 import (
    CodeEngineV2,
    EnvVarPrototype,
    JobRun,
    JobRunList,
)

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import (
    ENV_IMAGE,
    api_error,
    env_lines,
    literal,
)
from localcloud.http import BadRequest

pytestmark = pytest.mark.integration


def test_job_run_injected_env_and_overrides(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    cloud.code_engine.secrets.put("cfg", "generic", {"REGION_HINT": "south", "COLOR": "blue"})
    ce.create_job(
        project_id=pid,
        image_reference=ENV_IMAGE,
        name="sync",
        run_env_variables=[
            literal("MODE", "job"),
            literal("KEEP", "kept"),
            EnvVarPrototype(
                type="secret_key_reference", name="PICKED", reference="cfg", key="COLOR"
            ),
            EnvVarPrototype(type="secret_full_reference", reference="cfg", prefix="CFG_"),
        ],
    )
    response = ce.create_job_run(
        project_id=pid, job_name="sync", run_env_variables=[literal("MODE", "run")]
    )
    assert response.get_status_code() == 202
    run = response.get_result()
    assert re.fullmatch(r"sync-jobrun-[bcdfghjklmnpqrstvwxz2456789]{5}", run["name"])
    assert run["job_name"] == "sync"
    final = cloud.code_engine.job_runs.wait(run["name"], timeout=30)
    assert final["status"] == "completed"
    (env,) = env_lines(cloud, run["name"])
    assert env["MODE"] == "run"
    assert env["KEEP"] == "kept"
    assert env["PICKED"] == "blue"
    assert (env["CFG_REGION_HINT"], env["CFG_COLOR"]) == ("south", "blue")
    assert env["CE_PROJECT_ID"] == pid
    assert env["CE_REGION"] == cloud.identity.region
    assert env["CE_API_BASE_URL"] == cloud.url
    assert (env["CE_JOB"], env["CE_JOBRUN"]) == ("sync", run["name"])
    assert (env["JOB_INDEX"], env["JOB_INDEX_RETRY_COUNT"], env["JOB_ARRAY_SIZE"]) == (
        "0",
        "0",
        "1",
    )
    assert {"PATH", "HOME", "LANG"} <= set(env)
    assert "PYTEST_CURRENT_TEST" not in env


def test_job_run_retries_until_success(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    script = (
        "import os, sys; n = int(os.environ['JOB_INDEX_RETRY_COUNT']); print(n); sys.exit(n < 2)"
    )
    cloud.code_engine.register_image("docker.io/certsync/flaky:1", [sys.executable, "-c", script])
    ce.create_job(project_id=pid, image_reference="docker.io/certsync/flaky:1", name="flaky")
    ok = ce.create_job_run(project_id=pid, job_name="flaky", scale_retry_limit=2).get_result()
    done = cloud.code_engine.job_runs.wait(ok["name"], timeout=30)
    assert done["status"] == "completed"
    assert cloud.code_engine.job_runs.logs(ok["name"]).split() == ["0", "1", "2"]
    details = done["status_details"]
    assert (details["succeeded"], details["failed"], details["succeeded_indices"]) == (1, 0, "0")
    assert "completion_time" in details
    assert "start_time" in details

    bad = ce.create_job_run(project_id=pid, job_name="flaky", scale_retry_limit=1).get_result()
    failed = cloud.code_engine.job_runs.wait(bad["name"], timeout=30)
    assert failed["status"] == "failed"
    assert failed["status_details"]["failed_indices"] == "0"
    attempts = cloud.code_engine.job_runs.attempts(bad["name"])
    assert [(a["retry"], a["exit_code"]) for a in attempts] == [(0, 1), (1, 1)]


def test_job_run_array_indices(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    script = "import os, sys; sys.exit(os.environ['JOB_INDEX'] == '3')"
    cloud.code_engine.register_image("docker.io/certsync/arr:1", [sys.executable, "-c", script])
    ce.create_job(project_id=pid, image_reference="docker.io/certsync/arr:1", name="arr")
    run = ce.create_job_run(
        project_id=pid, job_name="arr", scale_array_spec="0-1,3", scale_retry_limit=0
    ).get_result()
    assert run["status_details"]["requested"] == 3
    done = cloud.code_engine.job_runs.wait(run["name"], timeout=30)
    details = done["status_details"]
    assert done["status"] == "failed"
    assert (details["succeeded_indices"], details["failed_indices"]) == ("0-1", "3")
    assert (details["requested"], details["succeeded"], details["failed"]) == (3, 2, 1)


def test_job_run_max_execution_time_kills(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    script = "import time; print('started', flush=True); time.sleep(60)"
    cloud.code_engine.register_image("docker.io/certsync/slow:1", [sys.executable, "-c", script])
    ce.create_job(project_id=pid, image_reference="docker.io/certsync/slow:1", name="slow")
    run = ce.create_job_run(
        project_id=pid, job_name="slow", scale_max_execution_time=1, scale_retry_limit=0
    ).get_result()
    began = time.monotonic()
    done = cloud.code_engine.job_runs.wait(run["name"], timeout=30)
    assert time.monotonic() - began < 20
    assert done["status"] == "failed"
    (attempt,) = cloud.code_engine.job_runs.attempts(run["name"])
    assert attempt["timed_out"] is True
    assert attempt["stdout"] == "started\n"


def test_job_run_names_conflicts_and_unknown_job(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    ce.create_job(project_id=pid, image_reference=ENV_IMAGE, name="sync")
    ce.create_job_run(project_id=pid, job_name="sync", name="fixed")
    assert (
        api_error(ce.create_job_run, project_id=pid, job_name="sync", name="fixed").status_code
        == 409
    )
    assert api_error(ce.create_job_run, project_id=pid, job_name="nope").status_code == 404
    assert (
        api_error(ce.create_job_run, project_id=pid, job_name="sync", name="Bad").status_code == 400
    )
    no_job = api_error(ce.create_job_run, project_id=pid, image_reference=ENV_IMAGE)
    assert no_job.status_code == 400
    secret_on_run = api_error(
        ce.create_job_run, project_id=pid, job_name="sync", image_secret="reg"
    )
    assert secret_on_run.status_code == 400
    assert api_error(ce.get_job_run, project_id=pid, name="nope").status_code == 404
    cloud.code_engine.job_runs.wait("fixed", timeout=30)
    assert ce.delete_job_run(project_id=pid, name="fixed").get_status_code() == 202
    assert api_error(ce.get_job_run, project_id=pid, name="fixed").status_code == 404


def test_list_job_runs_filters_and_pages(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    for job in ("a", "b"):
        ce.create_job(project_id=pid, image_reference=ENV_IMAGE, name=job)
    for i in range(3):
        ce.create_job_run(project_id=pid, job_name="a", name=f"a-{i}")
    ce.create_job_run(project_id=pid, job_name="b", name="b-0")
    first = ce.list_job_runs(project_id=pid, job_name="a", limit=2).get_result()
    JobRunList.from_dict(first)
    assert [r["name"] for r in first["job_runs"]] == ["a-0", "a-1"]
    assert "job_name=a" in first["next"]["href"]
    second = ce.list_job_runs(
        project_id=pid, job_name="a", limit=2, start=first["next"]["start"]
    ).get_result()
    assert [r["name"] for r in second["job_runs"]] == ["a-2"]
    everything = ce.list_job_runs(project_id=pid).get_result()
    assert len(everything["job_runs"]) == 4
    for name in [run["name"] for run in cloud.code_engine.job_runs.list()]:
        cloud.code_engine.job_runs.wait(name, timeout=30)


def test_unknown_image_and_missing_secret_fail_the_run(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    ce.create_job(project_id=pid, image_reference="docker.io/certsync/unknown:1", name="noimg")
    run = ce.create_job_run(project_id=pid, job_name="noimg").get_result()
    assert cloud.code_engine.job_runs.wait(run["name"], timeout=30)["status"] == "failed"
    assert "not registered" in cloud.code_engine.job_runs.logs(run["name"])

    ce.create_job(project_id=pid, image_reference=ENV_IMAGE, name="nosecret")
    ref = EnvVarPrototype(type="secret_key_reference", name="X", reference="absent", key="k")
    run = ce.create_job_run(project_id=pid, job_name="nosecret", run_env_variables=[ref])
    name = run.get_result()["name"]
    assert cloud.code_engine.job_runs.wait(name, timeout=30)["status"] == "failed"
    assert "secret 'absent' not found" in cloud.code_engine.job_runs.logs(name)


def test_submit_job_run_in_process(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    ce.create_job(project_id=pid, image_reference=ENV_IMAGE, name="sync")
    run = cloud.code_engine.job_runs.submit(
        "sync", run_env_variables=[{"type": "literal", "name": "FROM", "value": "en"}]
    )
    JobRun.from_dict(run)
    cloud.code_engine.job_runs.wait(run["name"], timeout=30)
    assert env_lines(cloud, run["name"])[0]["FROM"] == "en"
    got = ce.get_job_run(project_id=pid, name=run["name"]).get_result()
    assert got["status"] == "completed"
    with pytest.raises(BadRequest) as info:
        cloud.code_engine.job_runs.submit("missing")
    assert info.value.status == 404


def test_shutdown_kills_running_instances() -> None:
    fake = LocalCloud().start()
    script = "import time; time.sleep(120)"
    fake.code_engine.register_image("docker.io/certsync/sleep:1", [sys.executable, "-c", script])
    fake.code_engine.secrets.put("unused", "generic", {})
    fake.code_engine.jobs.create(
        {"name": "sleeper", "image_reference": "docker.io/certsync/sleep:1"}
    )
    run = fake.code_engine.job_runs.submit("sleeper")
    deadline = time.monotonic() + 10
    while fake.code_engine.job_runs.get(run["name"])["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    began = time.monotonic()
    fake.stop()
    assert time.monotonic() - began < 10
    final = fake.code_engine.job_runs.wait(run["name"], timeout=1)
    assert final["status"] == "failed"
    assert fake.code_engine.job_runs.attempts(run["name"])[0]["exit_code"] == -9
