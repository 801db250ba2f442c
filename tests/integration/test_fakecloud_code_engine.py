"""The Code Engine v2 emulator, driven through the unmodified official SDK over loopback HTTP."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from ibm_cloud_sdk_core import ApiException
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import (
    CodeEngineV2,
    EnvVarPrototype,
    Job,
    JobList,
    JobPatch,
    JobRun,
    JobRunList,
    JobRunsPager,
    Project,
    ProjectList,
    Secret,
    SecretDataGenericSecretData,
    SecretDataTLSSecretData,
    SecretList,
)

from localcloud.ce_common import Clock
from localcloud.cloud import LocalCloud
from localcloud.http import BadRequest
from tests.pki import make_chain, new_key
from tests.support import assert_same_material

pytestmark = pytest.mark.integration

APIKEY = "ce-test-apikey"
VERSION = "2025-06-20"
ENV_IMAGE = "icr.io/certsync/print-env:1"
SCRIPT_PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"
# Never registered: its runs fail at once without starting a process (cheap for counting tests).
NO_IMAGE = "icr.io/certsync/not-registered:1"
START = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as fake:
        fake.iam.add_apikey(APIKEY)
        fake.code_engine.register_image(ENV_IMAGE, [sys.executable, "-c", SCRIPT_PRINT_ENV])
        yield fake


def client(cloud: LocalCloud, version: str | None = VERSION) -> CodeEngineV2:
    service = CodeEngineV2(
        authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url), version=version
    )
    service.set_service_url(cloud.code_engine_url)
    return service


@pytest.fixture
def ce(cloud: LocalCloud) -> Iterator[CodeEngineV2]:
    service = client(cloud)
    yield service
    service.http_client.close()


@pytest.fixture
def pid(cloud: LocalCloud) -> str:
    return cloud.identity.project_id


def api_error(call: Any, *args: Any, **kwargs: Any) -> ApiException:
    with pytest.raises(ApiException) as info:
        call(*args, **kwargs)
    return info.value


def tls_data() -> SecretDataTLSSecretData:
    chain = make_chain("app.example.com")
    return SecretDataTLSSecretData(
        tls_cert=chain.leaf_pem + chain.intermediate_pem, tls_key=chain.key_pem
    )


def env_lines(cloud: LocalCloud, run: str) -> list[dict[str, str]]:
    logs = cloud.code_engine.job_run_logs(run)
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]


def literal(name: str, value: str) -> EnvVarPrototype:
    return EnvVarPrototype(type="literal", name=name, value=value)


def error_code(error: ApiException) -> str:
    assert error.http_response is not None
    code: str = error.http_response.json()["errors"][0]["code"]
    return code


def padding(body: dict[str, Any], size: int) -> list[dict[str, str]]:
    """`run_env_variables` that make `body` exactly `size` bytes as the SDK sends it (json.dumps
    with default separators, ibm_cloud_sdk_core base_service.prepare_request)."""
    pad = {"name": "PAD", "type": "literal", "value": ""}
    empty = len(json.dumps({**body, "run_env_variables": [pad]}).encode())
    return [{**pad, "value": "x" * (size - empty)}]


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


# -- secrets ----------------------------------------------------------------------------------
def test_tls_secret_roundtrip_with_etag(ce: CodeEngineV2, pid: str) -> None:
    data = tls_data()
    created = ce.create_secret(project_id=pid, format="tls", name="app-tls", data=data)
    assert created.get_status_code() == 201
    body = created.get_result()
    assert created.get_headers()["ETag"] == body["entity_tag"]
    assert body["resource_type"] == "secret_tls_v2"
    assert body["generated_by"] == "user"
    got = ce.get_secret(project_id=pid, name="app-tls")
    secret = Secret.from_dict(got.get_result())
    assert got.get_headers()["ETag"] == secret.entity_tag == body["entity_tag"]
    # The real GET returns the material (terraform's TLS import-verify test relies on it).
    assert_same_material(secret.data["tls_cert"], data.tls_cert)
    assert_same_material(secret.data["tls_key"], data.tls_key)


def test_replace_secret_if_match_semantics(ce: CodeEngineV2, pid: str, cloud: LocalCloud) -> None:
    first = ce.create_secret(project_id=pid, format="tls", name="rot", data=tls_data())
    tag = first.get_result()["entity_tag"]
    renewed = tls_data()
    replaced = ce.replace_secret(
        project_id=pid, name="rot", if_match=tag, format="tls", data=renewed
    )
    new_tag = replaced.get_result()["entity_tag"]
    assert new_tag != tag
    assert replaced.get_headers()["ETag"] == new_tag
    stored = cloud.code_engine.secret("rot")
    assert stored is not None
    assert_same_material(stored["data"]["tls_cert"], renewed.tls_cert)
    assert stored["created_at"] == first.get_result()["created_at"]

    stale = api_error(
        ce.replace_secret, project_id=pid, name="rot", if_match=tag, format="tls", data=renewed
    )
    assert stale.status_code == 412
    star = ce.replace_secret(project_id=pid, name="rot", if_match="*", format="tls", data=renewed)
    assert star.get_result()["entity_tag"] not in (tag, new_tag)
    wrong_format = api_error(
        ce.replace_secret,
        project_id=pid,
        name="rot",
        if_match="*",
        format="generic",
        data=SecretDataGenericSecretData(a="b"),
    )
    assert wrong_format.status_code == 400
    missing = api_error(
        ce.replace_secret, project_id=pid, name="nope", if_match="*", format="tls", data=renewed
    )
    assert missing.status_code == 404


def test_replace_secret_without_if_match_is_rejected(
    ce: CodeEngineV2, pid: str, cloud: LocalCloud
) -> None:
    ce.create_secret(project_id=pid, format="generic", name="g", data={"k": "v"})
    authenticator = ce.authenticator
    assert isinstance(authenticator, IAMAuthenticator)
    token = authenticator.token_manager.get_token()
    response = requests.put(
        f"{cloud.code_engine_url}/projects/{pid}/secrets/g",
        params={"version": VERSION},
        json={"format": "generic", "data": {"k": "w"}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "missing_if_match"


def test_every_write_yields_a_new_entity_tag(ce: CodeEngineV2, pid: str) -> None:
    tags = {ce.create_secret(project_id=pid, format="generic", name="t", data={"k": "v"})
            .get_result()["entity_tag"]}  # fmt: skip
    for value in ("a", "b", "c"):
        result = ce.replace_secret(
            project_id=pid, name="t", if_match="*", format="generic", data={"k": value}
        ).get_result()
        tags.add(result["entity_tag"])
    assert len(tags) == 4


def test_duplicate_secret_is_409(ce: CodeEngineV2, pid: str) -> None:
    ce.create_secret(project_id=pid, format="generic", name="dup", data={"k": "v"})
    error = api_error(
        ce.create_secret, project_id=pid, format="generic", name="dup", data={"k": "v"}
    )
    assert error.status_code == 409


@pytest.mark.parametrize("name", ["Upper", "-lead", "trail-", "under_score", "a" * 254, ""])
def test_invalid_secret_names(ce: CodeEngineV2, pid: str, name: str) -> None:
    error = api_error(ce.create_secret, project_id=pid, format="generic", name=name, data={})
    assert error.status_code == 400


def test_longest_dotted_secret_name_is_accepted(ce: CodeEngineV2, pid: str) -> None:
    name = ".".join(["a" * 63] * 4)[:253]
    assert len(name) == 253
    assert ce.create_secret(project_id=pid, format="generic", name=name, data={}).get_status_code()


def _bad_tls_cases() -> dict[str, dict[str, str]]:
    chain, other = make_chain(), make_chain()
    encrypted = new_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    return {
        "garbage cert": {"tls_cert": "not a cert", "tls_key": chain.key_pem},
        "garbage key": {"tls_cert": chain.leaf_pem, "tls_key": "-----BEGIN PRIVATE KEY-----x"},
        "mismatch": {"tls_cert": chain.leaf_pem, "tls_key": other.key_pem},
        "intermediate first": {
            "tls_cert": chain.intermediate_pem + chain.leaf_pem,
            "tls_key": chain.key_pem,
        },
        "encrypted key": {"tls_cert": chain.leaf_pem, "tls_key": encrypted.decode()},
        "missing key": {"tls_cert": chain.leaf_pem},
        "extra key": {"tls_cert": chain.leaf_pem, "tls_key": chain.key_pem, "ca.crt": "x"},
    }


@pytest.mark.parametrize("case", list(_bad_tls_cases()))
def test_tls_material_is_validated_without_echo(ce: CodeEngineV2, pid: str, case: str) -> None:
    data = _bad_tls_cases()[case]
    error = api_error(ce.create_secret, project_id=pid, format="tls", name="bad", data=data)
    assert error.status_code == 400
    assert "BEGIN" not in error.message
    assert "tls" in error.message


def test_list_secrets_pages_filters_and_omits_data(ce: CodeEngineV2, pid: str) -> None:
    for i in range(5):
        ce.create_secret(project_id=pid, format="generic", name=f"g{i}", data={"k": "v"})
    for name in ("t1", "t2"):
        ce.create_secret(project_id=pid, format="tls", name=name, data=tls_data())
    names: list[str] = []
    start: str | None = None
    pages = 0
    while True:
        page = ce.list_secrets(project_id=pid, limit=3, start=start).get_result()
        parsed = SecretList.from_dict(page)
        assert parsed.limit == 3
        assert "limit=3" in page["first"]["href"]
        assert all("data" not in item for item in page["secrets"])
        names += [s.name for s in parsed.secrets]
        pages += 1
        if "next" not in page:
            break
        start = page["next"]["start"]
        assert f"start={start}" in page["next"]["href"]
    assert names == sorted(["g0", "g1", "g2", "g3", "g4", "t1", "t2"])
    assert pages == 3
    tls_only = ce.list_secrets(project_id=pid, format="tls").get_result()
    assert [s["name"] for s in tls_only["secrets"]] == ["t1", "t2"]
    assert "next" not in tls_only
    assert tls_only["limit"] == 50
    for bad in ({"limit": 0}, {"limit": 101}, {"start": "garbage!"}, {"format": "nope"}):
        assert api_error(ce.list_secrets, project_id=pid, **bad).status_code == 400


def test_delete_secret(ce: CodeEngineV2, pid: str) -> None:
    ce.create_secret(project_id=pid, format="generic", name="gone", data={"k": "v"})
    assert ce.delete_secret(project_id=pid, name="gone").get_status_code() == 202
    assert api_error(ce.get_secret, project_id=pid, name="gone").status_code == 404
    assert api_error(ce.delete_secret, project_id=pid, name="gone").status_code == 404


def test_seed_helpers(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    seeded = cloud.code_engine.put_secret("seeded", "generic", {"a": "1"})
    got = ce.get_secret(project_id=pid, name="seeded").get_result()
    assert got["entity_tag"] == seeded["entity_tag"]
    assert cloud.code_engine.secret("absent") is None
    assert set(cloud.code_engine.secrets) == {"seeded"}


# -- jobs -------------------------------------------------------------------------------------
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


# -- job runs ---------------------------------------------------------------------------------
def test_job_run_injected_env_and_overrides(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    cloud.code_engine.put_secret("cfg", "generic", {"REGION_HINT": "south", "COLOR": "blue"})
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
    final = cloud.code_engine.wait_for_job_run(run["name"], timeout=30)
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
    cloud.code_engine.register_image("icr.io/certsync/flaky:1", [sys.executable, "-c", script])
    ce.create_job(project_id=pid, image_reference="icr.io/certsync/flaky:1", name="flaky")
    ok = ce.create_job_run(project_id=pid, job_name="flaky", scale_retry_limit=2).get_result()
    done = cloud.code_engine.wait_for_job_run(ok["name"], timeout=30)
    assert done["status"] == "completed"
    assert cloud.code_engine.job_run_logs(ok["name"]).split() == ["0", "1", "2"]
    details = done["status_details"]
    assert (details["succeeded"], details["failed"], details["succeeded_indices"]) == (1, 0, "0")
    assert "completion_time" in details
    assert "start_time" in details

    bad = ce.create_job_run(project_id=pid, job_name="flaky", scale_retry_limit=1).get_result()
    failed = cloud.code_engine.wait_for_job_run(bad["name"], timeout=30)
    assert failed["status"] == "failed"
    assert failed["status_details"]["failed_indices"] == "0"
    attempts = cloud.code_engine.job_run_attempts(bad["name"])
    assert [(a["retry"], a["exit_code"]) for a in attempts] == [(0, 1), (1, 1)]


def test_job_run_array_indices(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    script = "import os, sys; sys.exit(os.environ['JOB_INDEX'] == '3')"
    cloud.code_engine.register_image("icr.io/certsync/arr:1", [sys.executable, "-c", script])
    ce.create_job(project_id=pid, image_reference="icr.io/certsync/arr:1", name="arr")
    run = ce.create_job_run(
        project_id=pid, job_name="arr", scale_array_spec="0-1,3", scale_retry_limit=0
    ).get_result()
    assert run["status_details"]["requested"] == 3
    done = cloud.code_engine.wait_for_job_run(run["name"], timeout=30)
    details = done["status_details"]
    assert done["status"] == "failed"
    assert (details["succeeded_indices"], details["failed_indices"]) == ("0-1", "3")
    assert (details["requested"], details["succeeded"], details["failed"]) == (3, 2, 1)


def test_job_run_max_execution_time_kills(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    script = "import time; print('started', flush=True); time.sleep(60)"
    cloud.code_engine.register_image("icr.io/certsync/slow:1", [sys.executable, "-c", script])
    ce.create_job(project_id=pid, image_reference="icr.io/certsync/slow:1", name="slow")
    run = ce.create_job_run(
        project_id=pid, job_name="slow", scale_max_execution_time=1, scale_retry_limit=0
    ).get_result()
    began = time.monotonic()
    done = cloud.code_engine.wait_for_job_run(run["name"], timeout=30)
    assert time.monotonic() - began < 20
    assert done["status"] == "failed"
    (attempt,) = cloud.code_engine.job_run_attempts(run["name"])
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
    cloud.code_engine.wait_for_job_run("fixed", timeout=30)
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
    for name in cloud.code_engine.job_runs:
        cloud.code_engine.wait_for_job_run(name, timeout=30)


def test_unknown_image_and_missing_secret_fail_the_run(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    ce.create_job(project_id=pid, image_reference="icr.io/certsync/unknown:1", name="noimg")
    run = ce.create_job_run(project_id=pid, job_name="noimg").get_result()
    assert cloud.code_engine.wait_for_job_run(run["name"], timeout=30)["status"] == "failed"
    assert "not registered" in cloud.code_engine.job_run_logs(run["name"])

    ce.create_job(project_id=pid, image_reference=ENV_IMAGE, name="nosecret")
    ref = EnvVarPrototype(type="secret_key_reference", name="X", reference="absent", key="k")
    run = ce.create_job_run(project_id=pid, job_name="nosecret", run_env_variables=[ref])
    name = run.get_result()["name"]
    assert cloud.code_engine.wait_for_job_run(name, timeout=30)["status"] == "failed"
    assert "secret 'absent' not found" in cloud.code_engine.job_run_logs(name)


def test_submit_job_run_in_process(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    ce.create_job(project_id=pid, image_reference=ENV_IMAGE, name="sync")
    run = cloud.code_engine.submit_job_run(
        "sync", run_env_variables=[{"type": "literal", "name": "FROM", "value": "en"}]
    )
    JobRun.from_dict(run)
    cloud.code_engine.wait_for_job_run(run["name"], timeout=30)
    assert env_lines(cloud, run["name"])[0]["FROM"] == "en"
    got = ce.get_job_run(project_id=pid, name=run["name"]).get_result()
    assert got["status"] == "completed"
    with pytest.raises(BadRequest) as info:
        cloud.code_engine.submit_job_run("missing")
    assert info.value.status == 404


# -- documented limits: size, names, quota, retention, queueing ---------------------------------
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


def test_a_job_run_is_at_most_10_kib(ce: CodeEngineV2, pid: str) -> None:
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="sync")
    body = {"job_name": "sync"}
    fits = ce.create_job_run(project_id=pid, **body, run_env_variables=padding(body, 10240))
    assert fits.get_status_code() == 202
    error = api_error(
        ce.create_job_run, project_id=pid, **body, run_env_variables=padding(body, 10241)
    )
    assert (error.status_code, error_code(error)) == (400, "request_too_large")
    assert error.message.startswith("The job run is 10241 bytes; the maximum size of a job run")
    assert len(ce.list_job_runs(project_id=pid).get_result()["job_runs"]) == 1


def test_submit_job_run_in_process_is_at_most_10_kib(cloud: LocalCloud) -> None:
    """Event Notifications' job destination puts the whole notification into `ibmendata`."""
    cloud.code_engine.create_job({"name": "sync", "image_reference": NO_IMAGE})
    base = {"job_name": "sync"}
    (fits,) = padding(base, 10240)
    assert cloud.code_engine.submit_job_run("sync", run_env_variables=[fits])["name"]
    notification = {"id": "n-1", "data": "y" * 10300}
    env = [{"type": "literal", "name": "ibmendata", "value": json.dumps(notification)}]
    size = len(json.dumps({**base, "run_env_variables": env}).encode())
    with pytest.raises(BadRequest) as info:
        cloud.code_engine.submit_job_run("sync", run_env_variables=env)
    assert (info.value.status, info.value.code) == (400, "request_too_large")
    assert f"The job run is {size} bytes" in info.value.message
    assert len(cloud.code_engine.job_runs) == 1


def test_job_run_names_are_at_most_53_characters(ce: CodeEngineV2, pid: str) -> None:
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="j" * 63)
    longest = ce.create_job_run(project_id=pid, job_name="j" * 63, name="r" * 53)
    assert longest.get_result()["name"] == "r" * 53
    error = api_error(ce.create_job_run, project_id=pid, job_name="j" * 63, name="r" * 54)
    assert error.status_code == 400
    assert "53" in error.message
    generated = ce.create_job_run(project_id=pid, job_name="j" * 63).get_result()["name"]
    assert re.fullmatch(r"j{40}-jobrun-[bcdfghjklmnpqrstvwxz2456789]{5}", generated)


def test_the_101st_job_run_is_refused_with_403_quota(ce: CodeEngineV2, pid: str) -> None:
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="sync")
    for i in range(100):
        ce.create_job_run(project_id=pid, job_name="sync", name=f"run-{i:03}")
    error = api_error(ce.create_job_run, project_id=pid, job_name="sync")
    assert error.status_code == 403
    assert error_code(error) == "exceeded_quota"
    assert error.message == (
        "job run quota exceeded: the project holds 100 job runs (limit 100); "
        "delete finished job runs or wait for them to be deleted"
    )
    # The quota is admitted before the name is stored, as in Kubernetes: 403, not 409.
    duplicate = api_error(ce.create_job_run, project_id=pid, job_name="sync", name="run-000")
    assert duplicate.status_code == 403
    ce.delete_job_run(project_id=pid, name="run-000")
    assert ce.create_job_run(project_id=pid, job_name="sync").get_status_code() == 202


def test_finished_job_runs_are_deleted_after_one_week(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    code_engine = cloud.code_engine
    code_engine.clock = Clock(lambda: START)
    code_engine.max_job_runs = 2
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="sync")
    done = ce.create_job_run(project_id=pid, job_name="sync", name="done").get_result()
    assert code_engine.wait_for_job_run("done")["status"] == "failed"
    code_engine.pending_seconds = 3600  # stays pending: not final, never swept
    ce.create_job_run(project_id=pid, job_name="sync", name="waiting")
    assert done["created_at"] == "2030-01-02T03:04:05Z"
    assert api_error(ce.create_job_run, project_id=pid, job_name="sync").status_code == 403

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
    image = "icr.io/certsync/gate:1"
    cloud.code_engine.register_image(image, [sys.executable, "-c", script, str(tmp_path)])
    cloud.code_engine.max_running_instances = 2
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
        assert cloud.code_engine.wait_for_job_run(name)["status"] == "completed"
    assert {p.name for p in tmp_path.iterdir()} == {"first", "second", "third", "fourth", "go"}


def test_a_burst_of_150_job_runs_is_queued_paged_and_deleted(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str
) -> None:
    # 20 ms each, so that the sampler sees instances running; sh and sleep are cheap processes.
    cloud.code_engine.register_image("icr.io/certsync/nap:1", ["sh", "-c", "sleep 0.02"])
    cloud.code_engine.max_running_instances = 4
    cloud.code_engine.max_job_runs = 150
    ce.create_job(project_id=pid, image_reference="icr.io/certsync/nap:1", name="burst")
    most_running = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal most_running
        while not stop.is_set():
            runs = cloud.code_engine.job_runs.values()
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
            cloud.code_engine.wait_for_job_run(name)
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
    cloud.code_engine.register_image("icr.io/certsync/sh:1", ["sh", "-c", 'exit "$JOB_INDEX"'])
    ce.create_job(project_id=pid, image_reference="icr.io/certsync/sh:1", name="arr")
    ce.create_job_run(
        project_id=pid, job_name="arr", name="arr", scale_array_spec="0-1", scale_retry_limit=1
    )
    ce.create_job(project_id=pid, image_reference=NO_IMAGE, name="noimg")
    ce.create_job_run(project_id=pid, job_name="noimg", name="noimg")
    for name in ("arr", "noimg"):
        cloud.code_engine.wait_for_job_run(name)
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
    cloud.code_engine.register_image("icr.io/certsync/exit:1", [sys.executable, "-c", script])
    cloud.code_engine.pending_seconds = 0.5
    statuses: dict[str, dict[str, Any]] = {}
    for code in ("0", "1"):
        run = ce.create_job_run(
            project_id=pid, image_reference="icr.io/certsync/exit:1", name=f"exit-{code}",
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


def test_shutdown_kills_running_instances() -> None:
    fake = LocalCloud().start()
    script = "import time; time.sleep(120)"
    fake.code_engine.register_image("icr.io/certsync/sleep:1", [sys.executable, "-c", script])
    fake.code_engine.put_secret("unused", "generic", {})
    fake.code_engine.create_job({"name": "sleeper", "image_reference": "icr.io/certsync/sleep:1"})
    run = fake.code_engine.submit_job_run("sleeper")
    deadline = time.monotonic() + 10
    while fake.code_engine.job_runs[run["name"]]["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    began = time.monotonic()
    fake.stop()
    assert time.monotonic() - began < 10
    final = fake.code_engine.wait_for_job_run(run["name"], timeout=1)
    assert final["status"] == "failed"
    assert fake.code_engine.job_run_attempts(run["name"])[0]["exit_code"] == -9
