"""Code Engine v2's documented limits: size, names, quota, retention, queueing."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from ibm_code_engine_sdk.code_engine_v2 import (
    CodeEngineV2,
    JobRun,
    JobRunsPager,
)

from localcloud import LocalCloud
from localcloud.code_engine import Clock
from localcloud.code_engine.tests.support import (
    NO_IMAGE,
    START,
    api_error,
    error_code,
    job_bytes,
    padding,
)
from localcloud.http import BadRequest

pytestmark = pytest.mark.integration


def test_a_job_is_at_most_10_kib_env_variables_included(ce: CodeEngineV2, pid: str) -> None:
    body = {"image_reference": NO_IMAGE, "name": "big"}
    fits = ce.create_job(project_id=pid, **body, run_env_variables=padding(body, 10240))
    assert fits.get_status_code() == 201
    body = {"image_reference": NO_IMAGE, "name": "bigger"}
    error = api_error(ce.create_job, project_id=pid, **body, run_env_variables=padding(body, 10241))
    assert error.status_code == 400
    assert error_code(error) == "request_too_large"
    assert error.message == (
        "The job is 10241 bytes; the maximum size of a job is 10 KiB (10240 bytes), "
        "environment variables included"
    )
    assert api_error(ce.get_job, project_id=pid, name="bigger").status_code == 404


def test_a_job_update_is_at_most_10_kib(ce: CodeEngineV2, pid: str) -> None:
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="sync")
    patch: dict[str, Any] = {"run_env_variables": padding({}, 10241)}
    error = api_error(ce.update_job, project_id=pid, name="sync", if_match="*", job=patch)
    assert (error.status_code, error_code(error)) == (400, "request_too_large")
    assert "10241 bytes" in error.message
    patch["run_env_variables"] = padding({}, 10240)
    updated = ce.update_job(project_id=pid, name="sync", if_match="*", job=patch)
    assert updated.get_status_code() == 200


def test_a_job_run_is_at_most_10_kib_counting_the_job_it_runs(ce: CodeEngineV2, pid: str) -> None:
    job = ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="sync").get_result()
    inherited = job_bytes(job)
    body = {"job_name": "sync"}
    fits = padding(body, 10240 - inherited)
    assert (
        ce.create_job_run(project_id=pid, **body, run_env_variables=fits).get_status_code() == 202
    )
    over = padding(body, 10241 - inherited)
    error = api_error(ce.create_job_run, project_id=pid, **body, run_env_variables=over)
    assert (error.status_code, error_code(error)) == (400, "request_too_large")
    assert error.message.startswith(
        f"The job run is 10241 bytes with the {inherited} bytes of job 'sync'; "
        "the maximum size of a job run"
    )
    assert len(ce.list_job_runs(project_id=pid).get_result()["job_runs"]) == 1
    # A run that references no job is measured alone.
    alone = {"name": "solo", "image_reference": NO_IMAGE}
    solo = ce.create_job_run(project_id=pid, **alone, run_env_variables=padding(alone, 10240))
    assert solo.get_status_code() == 202


def test_submit_job_run_in_process_is_at_most_10_kib(cloud: LocalCloud) -> None:
    """Event Notifications' job destination puts the whole notification into `ibmendata`."""
    job = cloud.code_engine.jobs.create({"name": "sync", "image_reference": NO_IMAGE})
    base = {"job_name": "sync"}
    (fits,) = padding(base, 10240 - job_bytes(job))
    assert cloud.code_engine.job_runs.submit("sync", run_env_variables=[fits])["name"]
    notification = {"id": "n-1", "data": "y" * 10300}
    env = [{"type": "literal", "name": "ibmendata", "value": json.dumps(notification)}]
    size = len(json.dumps({**base, "run_env_variables": env}).encode()) + job_bytes(job)
    with pytest.raises(BadRequest) as info:
        cloud.code_engine.job_runs.submit("sync", run_env_variables=env)
    assert (info.value.status, info.value.code) == (400, "request_too_large")
    assert f"The job run is {size} bytes" in info.value.message
    assert len(cloud.code_engine.job_runs.list()) == 1


def test_job_run_names_are_at_most_53_characters(ce: CodeEngineV2, pid: str) -> None:
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="j" * 63)
    longest = ce.create_job_run(project_id=pid, job_name="j" * 63, name="r" * 53)
    assert longest.get_result()["name"] == "r" * 53
    error = api_error(ce.create_job_run, project_id=pid, job_name="j" * 63, name="r" * 54)
    assert error.status_code == 400
    assert "53" in error.message
    generated = ce.create_job_run(project_id=pid, job_name="j" * 63).get_result()["name"]
    assert re.fullmatch(r"j{40}-jobrun-[bcdfghjklmnpqrstvwxz2456789]{5}", generated)


def test_the_101st_job_run_is_refused_naming_the_limit(ce: CodeEngineV2, pid: str) -> None:
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="sync")
    for i in range(100):
        ce.create_job_run(project_id=pid, job_name="sync", name=f"run-{i:03}")
    error = api_error(ce.create_job_run, project_id=pid, job_name="sync")
    # Undocumented status and wording: a stricter guess than Kubernetes' 403 "exceeded quota".
    assert error.status_code == 400
    assert error_code(error) == "limit_exceeded"
    assert error.message == (
        "You are limited to 100 job runs per project and the project holds 100; "
        "delete finished job runs or wait for them to be deleted"
    )
    # The quota is admitted before the name is stored, as in Kubernetes: not 409.
    duplicate = api_error(ce.create_job_run, project_id=pid, job_name="sync", name="run-000")
    assert duplicate.status_code == 400
    ce.delete_job_run(project_id=pid, name="run-000")
    assert ce.create_job_run(project_id=pid, job_name="sync").get_status_code() == 202


def test_finished_job_runs_are_deleted_after_one_week(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    code_engine = cloud.code_engine
    code_engine.clock = Clock(lambda: START)
    code_engine.job_runs.max_job_runs = 2
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="sync")
    done = ce.create_job_run(project_id=pid, job_name="sync", name="done").get_result()
    assert code_engine.job_runs.wait("done")["status"] == "failed"
    code_engine.job_runs.pending_seconds = 3600  # stays pending: not final, never swept
    ce.create_job_run(project_id=pid, job_name="sync", name="waiting")
    assert done["created_at"] == "2030-01-02T03:04:05Z"
    assert api_error(ce.create_job_run, project_id=pid, job_name="sync").status_code == 400

    code_engine.clock.advance(dt.timedelta(days=7, seconds=-1))
    details = ce.get_job_run(project_id=pid, name="done").get_result()["status_details"]
    assert details["completion_time"] == "2030-01-02T03:04:05Z"
    code_engine.clock.advance(dt.timedelta(seconds=1))
    listed = ce.list_job_runs(project_id=pid).get_result()["job_runs"]
    assert [r["name"] for r in listed] == ["waiting"]
    assert api_error(ce.get_job_run, project_id=pid, name="done").status_code == 404
    assert api_error(ce.delete_job_run, project_id=pid, name="done").status_code == 404
    later = ce.create_job_run(project_id=pid, job_name="sync", name="later").get_result()
    assert later["created_at"] == "2030-01-09T03:04:05Z"


def test_instances_beyond_the_cap_stay_pending_until_a_slot_frees(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, tmp_path: Path
) -> None:
    script = (
        "import os, pathlib, sys, time; d = pathlib.Path(sys.argv[1]); "
        "(d / os.environ['CE_JOBRUN']).touch(); deadline = time.monotonic() + 30\n"
        "while not (d / 'go').exists() and time.monotonic() < deadline: time.sleep(0.02)"
    )
    image = "docker.io/certsync/gate:1"
    cloud.code_engine.register_image(image, [sys.executable, "-c", script, str(tmp_path)])
    cloud.code_engine.job_runs.max_running_instances = 2
    ce.create_job(project_id=pid, image_reference=image, name="gate")
    for name in ("first", "second"):
        ce.create_job_run(project_id=pid, job_name="gate", name=name)
    deadline = time.monotonic() + 20
    while len(list(tmp_path.iterdir())) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    for name in ("third", "fourth"):
        ce.create_job_run(project_id=pid, job_name="gate", name=name)
    time.sleep(0.5)  # time enough for a third process, were one allowed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "second"]
    queued = ce.get_job_run(project_id=pid, name="third").get_result()
    assert queued["status"] == "pending"
    assert "start_time" not in queued["status_details"]
    assert (queued["status_details"]["pending"], queued["status_details"]["running"]) == (1, 0)

    (tmp_path / "go").touch()
    for name in ("first", "second", "third", "fourth"):
        assert cloud.code_engine.job_runs.wait(name)["status"] == "completed"
    assert {p.name for p in tmp_path.iterdir()} == {"first", "second", "third", "fourth", "go"}


def test_a_burst_of_150_job_runs_is_queued_paged_and_deleted(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    # 20 ms each, so that the sampler sees instances running; sh and sleep are cheap processes.
    cloud.code_engine.register_image("docker.io/certsync/nap:1", ["sh", "-c", "sleep 0.02"])
    cloud.code_engine.job_runs.max_running_instances = 4
    cloud.code_engine.job_runs.max_job_runs = 150
    ce.create_job(project_id=pid, image_reference="docker.io/certsync/nap:1", name="burst")
    most_running = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal most_running
        while not stop.is_set():
            runs = cloud.code_engine.job_runs.list()
            most_running = max(most_running, sum(r["status_details"]["running"] for r in runs))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        names = {
            ce.create_job_run(project_id=pid, job_name="burst").get_result()["name"]
            for _ in range(150)
        }
        for name in names:
            cloud.code_engine.job_runs.wait(name)
    finally:
        stop.set()
        sampler.join()
    assert len(names) == 150
    assert 1 <= most_running <= 4

    pager = JobRunsPager(client=ce, project_id=pid, job_name="burst", limit=100)
    first_page = pager.get_next()
    assert len(first_page) == 100
    listed = first_page + pager.get_next()
    assert not pager.has_next()
    assert sorted(r["name"] for r in listed) == sorted(names)
    for run in listed:
        assert run["status"] == "completed"
        assert {"start_time", "completion_time"} <= set(run["status_details"])
        assert "created_at" in run
        ce.delete_job_run(project_id=pid, name=run["name"])
    assert ce.list_job_runs(project_id=pid, limit=100).get_result()["job_runs"] == []


def test_paging_job_runs_survives_deleting_the_page_just_read(ce: CodeEngineV2, pid: str) -> None:
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="sync")
    for i in range(5):
        ce.create_job_run(project_id=pid, job_name="sync", name=f"r-{i}")
    seen: list[str] = []
    start: str | None = None
    while True:
        page = ce.list_job_runs(project_id=pid, limit=2, start=start).get_result()
        for run in page["job_runs"]:
            seen.append(run["name"])
            ce.delete_job_run(project_id=pid, name=run["name"])
        if "next" not in page:
            break
        start = page["next"]["start"]
    assert seen == [f"r-{i}" for i in range(5)]
    whole = ce.list_job_runs(project_id=pid, limit=100).get_result()
    assert (whole["job_runs"], "next" in whole) == ([], False)


def test_status_details_carry_times_and_index_details(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    cloud.code_engine.clock = Clock(lambda: START)
    cloud.code_engine.register_image("docker.io/certsync/sh:1", ["sh", "-c", 'exit "$JOB_INDEX"'])
    ce.create_job(project_id=pid, image_reference="docker.io/certsync/sh:1", name="arr")
    ce.create_job_run(
        project_id=pid, job_name="arr", name="arr", scale_array_spec="0-1", scale_retry_limit=1
    )
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="noimg")
    ce.create_job_run(project_id=pid, job_name="noimg", name="noimg")
    for name in ("arr", "noimg"):
        cloud.code_engine.job_runs.wait(name)
    body = ce.get_job_run(project_id=pid, name="arr").get_result()
    status = JobRun.from_dict(body).status_details
    stamp = "2030-01-02T03:04:05Z"
    assert (body["created_at"], status.start_time, status.completion_time) == (stamp,) * 3
    assert status.indices_details["0"].to_dict() == {
        "finished_at": stamp, "retries": 0, "started_at": stamp, "status": "succeeded",
    }  # fmt: skip
    assert status.indices_details["1"].to_dict() == {
        "finished_at": stamp, "last_failure_reason": "ContainerExitedCode1", "retries": 1,
        "started_at": stamp, "status": "failed",
    }  # fmt: skip
    noimg = ce.get_job_run(project_id=pid, name="noimg").get_result()["status_details"]
    assert noimg["indices_details"]["0"]["last_failure_reason"] == "ImagePullBackOff"
