"""`python -m deploy` as scripts use it: `plan --detailed-exitcode` (0 no changes, 2 changes, 1 an
error, as Terraform has it) and `--json`, one document on stdout even while calls are retried."""

from __future__ import annotations

import json

import pytest

from localcloud.faults import Fault
from tests.integration.test_deploy import Account, account, applied, cloud  # noqa: F401

pytestmark = pytest.mark.integration


def test_detailed_exitcode_is_2_with_changes_0_without_and_1_on_an_error(
    account: Account,  # noqa: F811
) -> None:
    assert account.deploy("plan", "--detailed-exitcode").returncode == 2  # an empty account
    assert account.deploy("plan").returncode == 0  # without the flag, changes are not an error
    applied(account)
    assert account.deploy("plan", "--detailed-exitcode").returncode == 0
    account.rewrite(mappings=[{**account.mappings[0], "verify": False}])
    changed = account.deploy("plan", "--detailed-exitcode", "--json")
    assert changed.returncode == 2
    assert json.loads(changed.stdout)["ok"] is True
    account.cloud.faults.add(Fault(path="/v2/projects", method="GET", status=403, times=None))
    failed = account.deploy("plan", "--detailed-exitcode")
    assert failed.returncode == 1, failed.stdout + failed.stderr


def test_json_is_one_document_on_stdout_while_calls_are_retried(
    account: Account,  # noqa: F811
) -> None:
    applied(account)
    account.cloud.faults.add(Fault(path="/v2/projects", method="GET", status=503, times=2))
    done = account.deploy("plan", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)  # the whole of stdout parses as one document
    assert body["ok"] is True
    assert "call_retried" in done.stderr  # the retries were logged, on stderr


def test_json_config_error_is_one_document(account: Account) -> None:  # noqa: F811
    account.rewrite(delivery="carrier-pigeon")
    done = account.deploy("plan", "--json")
    assert done.returncode == 2
    (problem,) = json.loads(done.stdout)["problems"]
    assert "'delivery'" in problem
