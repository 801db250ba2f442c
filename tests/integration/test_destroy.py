"""`python -m deploy destroy` says what it leaves: it also removes what certsync's own runs made
(the job's status record, `doctor --canary`'s certificate and TLS secret) and prints what it
cannot remove (the cron subscription made by hand, the TLS secrets the job wrote for the user's
mappings) with the command that removes each. Against the local IBM Cloud, as in test_deploy.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from ibm_cloud_sdk_core import ApiException

from localcloud.pki import make_chain
from tests.builders import code_engine_sdk, secrets_manager_sdk
from tests.integration.test_deploy import Account, account, applied, cloud  # noqa: F401
from tests.support import seed_certificate

pytestmark = pytest.mark.integration

CRON = "ibmcloud ce subscription cron delete --name certsync-nightly --force --ignore-not-found"


def exists(call: Callable[..., Any], *args: str) -> bool:
    try:
        call(*args)
    except ApiException as exc:
        if exc.status_code == 404:
            return False
        raise
    return True


def test_destroy_removes_what_the_runs_made_and_names_what_it_leaves(account: Account) -> None:  # noqa: F811
    local, project = account.cloud, account.cloud.identity.project_id
    applied(account)
    ce = code_engine_sdk(local, account.apikey)
    run = ce.create_job_run(project, job_name="certsync").get_result()
    assert local.code_engine.job_runs.wait(run["name"], timeout=60)["status"] == "completed"
    canary = account.deploy("doctor", "--canary", "--canary-timeout", "60")
    assert canary.returncode == 0, canary.stdout + canary.stderr
    sm = secrets_manager_sdk(local, account.apikey)
    assert exists(ce.get_config_map, project, "certsync-status")
    assert exists(ce.get_secret, project, "certsync-canary")

    done = account.deploy("destroy", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    for line in (
        "  delete Code Engine config map 'certsync-status' (made by certsync's runs",
        "  delete Code Engine secret 'certsync-canary' (made by certsync's runs",
        "  delete Secrets Manager certificate 'certsync-canary' (made by certsync's runs",
    ):
        assert line in done.stdout
    left = done.stdout.split("Left for you to remove by hand")[1]
    assert CRON in left
    assert "'tls-www'" in left
    assert "ibmcloud ce secret delete --name <secret>" in left

    assert not exists(ce.get_config_map, project, "certsync-status")
    assert not exists(ce.get_secret, project, "certsync-canary")
    names = [s["name"] for s in sm.list_secrets().get_result()["secrets"]]
    assert names == ["www-example-com"]  # the canary is gone, the user's certificate kept
    assert exists(ce.get_secret, project, "tls-www")  # the domains' secret stays


def test_what_is_not_certsyncs_is_left_even_under_the_names_certsyncs_runs_use(
    account: Account,  # noqa: F811
) -> None:
    local, project = account.cloud, account.cloud.identity.project_id
    ce = code_engine_sdk(local, account.apikey)
    ce.create_config_map(project, "my-settings", data={"A": "1"})
    ce.create_config_map(project, "certsync-status", data={"owner": "team-web"})
    seed_certificate(local, make_chain("canary.example.com"), "certsync-canary")  # no label
    identity = account.identity()
    identity.create_profile(name="my-profile", account_id=local.identity.account_id)
    applied(account)

    done = account.deploy("destroy", "--yes", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    body = json.loads(done.stdout)  # exactly one document
    left = {(c["kind"], c["name"]): c for c in body["changes"] if c["action"] == "leave"}
    status = left[("Code Engine config map", "certsync-status")]
    assert status["reasons"] == ["not certsync's: holds more than certsync's status record"]
    assert ("Secrets Manager certificate", "certsync-canary") in left
    assert any(CRON in step for step in body["manual"])
    assert ce.get_config_map(project, "certsync-status").get_result()["data"] == {
        "owner": "team-web"
    }
    sm = secrets_manager_sdk(local, account.apikey)
    assert "certsync-canary" in [s["name"] for s in sm.list_secrets().get_result()["secrets"]]
    assert sm.get_secret_metadata(account.secret_id).get_result()["name"] == "www-example-com"
    # The user's own resources stay; certsync's are gone, so a plan wants them all again.
    assert ce.get_config_map(project, "my-settings").get_result()["data"] == {"A": "1"}
    profiles = identity.list_profiles(account_id=local.identity.account_id).get_result()
    assert [p["name"] for p in profiles.get("profiles", [])] == ["my-profile"]
    assert ce.list_jobs(project).get_result()["jobs"] == []
    plan = account.deploy("plan", "--json")
    assert {c["action"] for c in json.loads(plan.stdout)["changes"]} == {"create"}
