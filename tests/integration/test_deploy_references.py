"""`plan` checks what certsync.yaml points at, with the user's key, before promising anything;
`doctor` warns at the one expiry threshold the job uses (issue 17, items 5 and 11)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud import LocalCloud
from localcloud.pki import make_chain
from scripts.deploy_local import admin_key, local_config, register_images, run_deploy, write_config
from tests.support import assert_no_secret_material, seed_certificate

pytestmark = pytest.mark.integration

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as c:
        register_images(c)
        yield c


class Account:
    """A local account with one certificate, `www-example-com`, and a certsync.yaml."""

    def __init__(self, cloud: LocalCloud, tmp_path: Path) -> None:
        self.cloud = cloud
        self.apikey = admin_key(cloud)
        self.chain = make_chain("www.example.com", days=90)
        self.secret_id = seed_certificate(cloud, self.chain, "www-example-com")
        self.config = local_config(cloud, [{"secret": self.secret_id, "target": "tls-www"}])
        self.path = tmp_path / "certsync.yaml"

    def deploy(self, verb: str, *args: str, **changes: Any) -> Any:
        write_config(self.path, {**self.config, **changes})
        done = run_deploy(verb, self.path, self.apikey, *args)
        assert_no_secret_material(done.stdout + done.stderr, self.apikey, self.chain.key_pem)
        return done

    def writes(self) -> list[str]:
        return [
            f"{r.method} {r.path}"
            for r in self.cloud.requests.entries()
            if r.method in WRITES and r.path != "/identity/token"
        ]


@pytest.fixture
def account(cloud: LocalCloud, tmp_path: Path) -> Account:
    return Account(cloud, tmp_path)


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "'mappings[" in line]


def test_plan_and_apply_name_a_missing_secret_and_a_name_given_as_id_and_change_nothing(
    account: Account,
) -> None:
    missing = str(uuid.uuid4())
    mappings = [
        {"secret": account.secret_id, "target": "tls-ok"},
        {"secret": missing, "target": "tls-gone"},
        {"secret": "www-example-com", "target": "tls-named"},
    ]
    account.cloud.requests.clear()
    done = account.deploy("plan", mappings=mappings)
    assert done.returncode == 1, done.stdout + done.stderr
    first, second = problem_lines(done.stderr)  # one line per problem; the good one has none
    assert first.startswith(f"deploy: 'mappings[1].secret' ({missing}): no such secret")
    assert second.startswith("deploy: 'mappings[2].secret' (www-example-com): that is the name")
    assert f"write its id, '{account.secret_id}'" in second
    assert "would create" not in done.stdout  # nothing promised
    assert "+ create" not in done.stdout
    applying = account.deploy("apply", mappings=mappings)
    assert applying.returncode == 1
    assert "deploy: apply: nothing was changed" in applying.stderr
    assert account.writes() == []


def test_plan_json_gives_the_problems_as_one_document(account: Account) -> None:
    other = str(uuid.uuid4())
    crn = account.cloud.identity.secret_crn(account.secret_id).replace(
        account.cloud.identity.sm_instance_id, other
    )
    done = account.deploy("plan", "--json", mappings=[{"secret": crn, "target": "tls-www"}])
    assert done.returncode == 1
    body = json.loads(done.stdout)  # exactly one JSON document
    assert body["ok"] is False
    [problem] = body["problems"]
    assert f"a secret of Secrets Manager instance '{other}'" in problem


def test_both_missing_instances_are_named_one_line_each(account: Account) -> None:
    sm = {"instance_id": str(uuid.uuid4()), "url": account.cloud.secrets_manager_url}
    en = {"instance_id": str(uuid.uuid4()), "url": account.cloud.event_notifications_url}
    done = account.deploy("plan", "--json", secrets_manager=sm, event_notifications=en)
    assert done.returncode == 1
    problems = json.loads(done.stdout)["problems"]
    assert [p.split(":")[0] for p in problems] == [
        "'secrets_manager.instance_id'",
        "'event_notifications.instance_id'",
    ]
    assert all("no service instance" in p for p in problems)


def test_doctor_warns_at_the_configured_expiry_threshold(account: Account) -> None:
    # 90 days left: within a 100-day threshold, outside the default 21
    report = json.loads(account.deploy("doctor", "--json", expiry_warn_days=100).stdout)
    [cert] = [c for c in report["checks"] if c["what"].startswith("certificate ")]
    assert cert["status"] == "warn"
    assert "fewer than 100 (expiry_warn_days)" in cert["detail"]
    report = json.loads(account.deploy("doctor", "--json").stdout)
    [cert] = [c for c in report["checks"] if c["what"].startswith("certificate ")]
    assert cert["status"] == "ok"


def test_doctor_shows_a_missing_secret_once(account: Account) -> None:
    missing = str(uuid.uuid4())
    done = account.deploy("doctor", "--json", mappings=[{"secret": missing, "target": "tls-www"}])
    report = json.loads(done.stdout)
    named = [c for c in report["checks"] if missing in c["what"] + c["detail"]]
    assert [c["status"] for c in named] == ["fail"]
    assert "no such secret" in named[0]["detail"]
