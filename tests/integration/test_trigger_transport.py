"""The trigger's submissions over real HTTP: the unmodified SDK, as `python -m trigger` configures
it (`shared.clients`), in the job-runs adapter's worker threads, against the local cloud."""

from __future__ import annotations

import asyncio

import pytest

from localcloud import LocalCloud
from localcloud.faults import Fault
from shared.clients import code_engine_client
from shared.retry import RetryPolicy
from shared.runs import Retention, RunHistory
from shared.settings import SecretValue, ServiceAuth
from trigger.jobruns import AlreadyExists, CodeEngineJobRuns, Job, Submitted

pytestmark = pytest.mark.integration

APIKEY = "transport-test-apikey-0123"
JOB = "certsync"
IMAGE = "docker.io/certsync/unregistered:transport"
POLICY = RetryPolicy(attempts=3, total_seconds=30.0, initial_wait=0.01, max_wait=0.05)


def job_runs(cloud: LocalCloud) -> CodeEngineJobRuns:
    cloud.iam.add_apikey(APIKEY)
    cloud.code_engine.jobs.create({"name": JOB, "image_reference": IMAGE})
    auth = ServiceAuth("CODE_ENGINE", "iam", SecretValue(APIKEY), auth_url=cloud.iam_url)
    client = code_engine_client(cloud.code_engine_url, auth, timeout=5.0, pool_size=2)
    project = cloud.identity.project_id
    history = RunHistory(client, project, JOB, Retention(), policy=RetryPolicy(1))
    return CodeEngineJobRuns(Job(client, project, JOB), policy=POLICY, history=history, workers=2)


def submit_twice(adapter: CodeEngineJobRuns, name: str) -> list[Submitted | AlreadyExists]:
    async def scenario() -> list[Submitted | AlreadyExists]:
        return [await adapter.submit(name, '{"id":"n"}') for _ in range(2)]

    try:
        return asyncio.run(scenario())
    finally:
        adapter.close()


def test_the_sdks_request_creates_a_run_and_a_second_copy_is_already_there(
    cloud: LocalCloud,
) -> None:
    results = submit_twice(job_runs(cloud), "run-1")

    assert results == [Submitted("run-1"), AlreadyExists("run-1")]
    assert [r["name"] for r in cloud.code_engine.job_runs.list()] == ["run-1"]
    [created, _] = cloud.requests.entries("POST", r"/job_runs$")
    assert created.query == "version=2026-09-04"


def test_a_connection_dropped_before_the_answer_is_tried_again(cloud: LocalCloud) -> None:
    adapter = job_runs(cloud)
    cloud.faults.add(Fault(path=r"/job_runs$", method="POST", drop=True))

    results = submit_twice(adapter, "run-2")

    assert results == [Submitted("run-2", attempts=2), AlreadyExists("run-2")]
    assert [r["name"] for r in cloud.code_engine.job_runs.list()] == ["run-2"]
