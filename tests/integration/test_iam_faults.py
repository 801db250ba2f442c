"""IAM misbehaving under the real job: a failed token request costs about one failed API call.

The SDK core paces token requests: without certsync's token managers (shared/clients.py), one
failed request left every other worker asleep for up to 60 s.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.token_managers.iam_token_manager import IAMTokenManager

from localcloud import Fault, LocalCloud
from tests.support import (
    APIKEY,
    JobResult,
    assert_no_secret_material,
    job_env,
    run_job,
    seeded_mappings,
)

pytestmark = pytest.mark.integration

TOKEN_PATH = r"^/identity/token$"


def timed_run(env: dict[str, str], timeout: float) -> tuple[JobResult, float]:
    start = time.monotonic()
    try:
        result = run_job(env, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the job was still running after {timeout:.0f} s")
    return result, time.monotonic() - start


def token_faults_answered(cloud: LocalCloud) -> int:
    return sum(1 for r in cloud.requests.entries("POST", TOKEN_PATH) if r.fault)


def test_failed_token_requests_do_not_stall_the_run(cloud):
    plain, plain_seconds = timed_run(
        job_env(cloud, seeded_mappings(cloud, 20, "plain"), CERTSYNC_CONCURRENCY="8"), timeout=120
    )
    assert plain.returncode == 0, plain.stdout
    assert plain.summary["created"] == 20

    cloud.faults.add(Fault(path=TOKEN_PATH, method="POST", status=503, times=3))
    faulted, faulted_seconds = timed_run(
        job_env(cloud, seeded_mappings(cloud, 20, "faulted"), CERTSYNC_CONCURRENCY="8"),
        timeout=plain_seconds + 30,
    )
    assert faulted.returncode == 0, faulted.stdout
    assert faulted.summary["created"] == 20
    assert token_faults_answered(cloud) == 3
    retried = faulted.events("call_retried")
    assert {r["status"] for r in retried} == {503}
    assert all("injected by the test" in r["error"] for r in retried)  # IAM's errorMessage
    # Side by side, not absolute: the SDK's pacing alone would add up to 60 s.
    assert faulted_seconds <= plain_seconds + 8, (plain_seconds, faulted_seconds)
    assert_no_secret_material(faulted.stdout + faulted.stderr, APIKEY)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "times": 2},
        {"status": 429, "retry_after": 1},
        {"drop": True},
    ],
    ids=["iam-500-twice", "iam-429-retry-after", "iam-dropped-connection"],
)
def test_transient_token_failures_are_retried(cloud, fault):
    injected = cloud.faults.add(Fault(path=TOKEN_PATH, method="POST", **fault))
    expected = injected.times
    result, _ = timed_run(job_env(cloud, seeded_mappings(cloud, 2, "web")), timeout=50)
    assert result.returncode == 0, result.stdout
    assert result.outcomes() == {"web-0": "created", "web-1": "created"}
    assert token_faults_answered(cloud) == expected
    assert len(result.events("call_retried")) == expected


def test_a_refused_api_key_is_not_retried(cloud):
    refused = "certsync-unknown-apikey-0123456789"
    env = job_env(
        cloud,
        seeded_mappings(cloud, 4, "web"),
        SECRETS_MANAGER_APIKEY=refused,
        CODE_ENGINE_APIKEY=refused,
    )
    result, _ = timed_run(env, timeout=50)  # not a 60 s pacing wait per worker
    assert result.returncode == 1, result.stdout
    assert result.events("call_retried") == []
    reasons = [line["reason"] for line in result.events("mapping_failed")]
    assert len(reasons) == 4
    assert all("HTTP 400: Provided API key could not be found." in r for r in reasons)
    # One token request per call the job makes, none retried: the three listings read together
    # before the mappings (the status record, Secrets Manager's list and the project's secrets,
    # for the unchanged-run shortcut, skipped when they fail), one per mapping, and the status
    # record write after them. No call got past IAM.
    assert result.events("snapshot_skipped")
    assert result.events("status_write_failed")
    assert len(cloud.requests.entries("POST", TOKEN_PATH)) == 3 + 4 + 1
    assert len(cloud.requests.entries()) == len(cloud.requests.entries("POST", TOKEN_PATH))
    assert_no_secret_material(result.stdout + result.stderr, APIKEY, refused)


def test_injected_faults_on_iam_answer_in_iams_error_shape(cloud):
    cloud.iam.add_apikey(APIKEY)
    cloud.faults.add(Fault(path=TOKEN_PATH, status=503, retry_after=3))
    with pytest.raises(ApiException) as caught:
        IAMTokenManager(APIKEY, url=cloud.iam_url).request_token()
    assert caught.value.status_code == 503
    assert caught.value.message == "injected by the test"
    body = caught.value.http_response.json()
    assert set(body) == {"errorCode", "errorMessage", "context"}
    assert body["context"]["requestId"]
    assert caught.value.http_response.headers["Retry-After"] == "3"
