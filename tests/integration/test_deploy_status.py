"""`python -m deploy status`: what an operator looks at, read with their own key and the config (no
`CE_PROJECT_ID`): the job's status table, each target's domain mappings and the job's last run.
`python -m deploy` against the local IBM Cloud, as in test_deploy.py."""

from __future__ import annotations

import json

import pytest
from ibm_code_engine_sdk.code_engine_v2 import ComponentRef

from tests.builders import code_engine_sdk
from tests.integration.test_deploy import Account, account, applied, cloud  # noqa: F401
from tests.support import wait_until

pytestmark = pytest.mark.integration


def test_status_before_any_run_says_there_is_no_record_yet(account: Account) -> None:  # noqa: F811
    applied(account)
    done = account.deploy("status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No status record yet: config map 'certsync-status' does not exist" in done.stdout
    assert "  tls-www: none" in done.stdout
    assert "Last run: none" in done.stdout


def test_status_shows_the_record_the_domains_and_the_last_run(account: Account) -> None:  # noqa: F811
    local, project = account.cloud, account.cloud.identity.project_id
    applied(account)
    ce = code_engine_sdk(local, account.apikey)
    run = ce.create_job_run(project, job_name="certsync").get_result()
    assert local.code_engine.job_runs.wait(run["name"], timeout=60)["status"] == "completed"
    assert account.deploy("doctor").returncode == 0  # its dry run is not the last run
    # The user's app serves the target on a custom domain.
    local.code_engine.domain_mappings.trust_root(account.chain.root.cert)
    local.code_engine.apps.seed("web")
    ce.create_domain_mapping(
        project, ComponentRef(name="web", resource_type="app_v2"), "www.example.com", "tls-www"
    )
    assert wait_until(
        lambda: local.code_engine.domain_mappings.get("www.example.com")["status"] == "ready", 10
    )

    done = account.deploy("status", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)  # exactly one document
    assert body["ok"] is True
    target = body["targets"]["tls-www"]
    assert target["outcome"] == "created"
    assert int(target["serial"], 16) == account.chain.leaf.cert.serial_number
    assert body["domains"] == {
        "tls-www": [{"domain": "www.example.com", "component": "web", "status": "ready"}]
    }
    assert body["last_run"]["name"] == run["name"]
    assert body["last_run"]["status"] == "completed"
    assert body["last_run"]["finished_at"]

    text = account.deploy("status").stdout
    assert text.splitlines()[0].startswith("certsync status: project ")
    assert "TARGET   SECRET" in text  # job status's own table
    assert "  tls-www: www.example.com -> web (ready)" in text
    assert f"Last run: {run['name']} completed, started " in text
