"""Instances in their own regions: `python -m deploy` on an account whose Event Notifications and
Secrets Manager instances are in eu-de while its Code Engine project is in us-south.

Each instance is looked up in the Resource Controller, so the CRNs deploy registers with Secrets
Manager and hands the trigger as its allowed source are the instances' own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ibm_secrets_manager_sdk.secrets_manager_v2 import ImportedCertificateVersionPrototype

from deploy import clients as client_factory
from deploy.config import parse
from deploy.engine import lookup_facts
from localcloud import LocalCloud
from localcloud.account import Identity
from localcloud.pki import make_chain, renew
from scripts.deploy_local import admin_key, local_config, register_images, run_deploy, write_config
from shared.settings import SecretValue
from tests.builders import secrets_manager_sdk
from tests.support import assert_no_secret_material, seed_certificate, served_serial, wait_until

pytestmark = pytest.mark.integration

ELSEWHERE = "eu-de"


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    identity = Identity(region="us-south", en_region=ELSEWHERE, sm_region=ELSEWHERE)
    with LocalCloud(identity) as c:
        register_images(c)
        c.event_notifications.timeout = 5.0
        c.event_notifications.backoff_min = c.event_notifications.backoff_max = 0.2
        yield c


class Account:
    def __init__(self, cloud: LocalCloud, tmp_path: Path) -> None:
        self.cloud = cloud
        self.apikey = admin_key(cloud)
        self.chain = make_chain("www.example.com")
        self.secret_id = seed_certificate(cloud, self.chain, "www-example-com")
        self.config = local_config(cloud, [{"secret": self.secret_id, "target": "tls-www"}])
        self.path = tmp_path / "certsync.yaml"
        write_config(self.path, self.config)

    def deploy(self, verb: str, **changes: Any) -> Any:
        write_config(self.path, {**self.config, **changes})
        done = run_deploy(verb, self.path, self.apikey)
        assert_no_secret_material(done.stdout + done.stderr, self.apikey, self.chain.key_pem)
        return done


@pytest.fixture
def account(cloud: LocalCloud, tmp_path: Path) -> Account:
    return Account(cloud, tmp_path)


def test_event_notifications_in_another_region_installs_and_a_rotation_syncs(
    account: Account,
) -> None:
    done = account.deploy("apply")
    assert done.returncode == 0, done.stdout + done.stderr
    new = renew(account.chain, days=90)
    secrets_manager_sdk(account.cloud, account.apikey).create_secret_version(
        account.secret_id,
        ImportedCertificateVersionPrototype(
            certificate=new.leaf_pem, intermediate=new.intermediate_pem, private_key=new.key_pem
        ),
    )
    # the notification's source is the eu-de CRN, which the trigger was told to accept
    assert wait_until(
        lambda: served_serial(account.cloud, "tls-www") == new.leaf.cert.serial_number, 60
    )


def test_a_crn_in_the_config_is_checked_against_the_instances_region(account: Account) -> None:
    identity = account.cloud.identity
    assert identity.en_instance_crn.split(":")[5] == ELSEWHERE
    as_written = {
        "instance_id": identity.en_instance_crn,
        "url": account.cloud.event_notifications_url,
    }
    assert account.deploy("plan", event_notifications=as_written).returncode == 0
    stale = identity.en_instance_crn.replace(f":{ELSEWHERE}:", ":us-south:")
    done = account.deploy("plan", event_notifications={**as_written, "instance_id": stale})
    assert done.returncode == 1
    assert "'event_notifications.instance_id'" in done.stderr
    assert "'us-south'" in done.stderr
    assert f"'{ELSEWHERE}'" in done.stderr


def test_a_missing_instance_is_named_by_its_key(account: Account) -> None:
    missing = {"instance_id": str(uuid.uuid4()), "url": account.cloud.secrets_manager_url}
    done = account.deploy("plan", secrets_manager=missing)
    assert done.returncode == 1
    assert "'secrets_manager.instance_id'" in done.stderr
    assert "no service instance" in done.stderr
    swapped = {**missing, "instance_id": account.cloud.identity.en_instance_id}
    done = account.deploy("plan", secrets_manager=swapped)
    assert done.returncode == 1
    assert "not a 'secrets-manager' one" in done.stderr


def test_the_instances_default_urls_come_from_their_own_regions(account: Account) -> None:
    config = parse(
        {
            **account.config,  # the instances' URLs not overridden: the public ones are derived
            "secrets_manager": {"instance_id": account.cloud.identity.sm_instance_id},
            "event_notifications": {"instance_id": account.cloud.identity.en_instance_id},
        }
    )
    facts = lookup_facts(client_factory.account(config, SecretValue(account.apikey)), config)
    sm = account.cloud.identity.sm_instance_id
    assert facts.sm_url == f"https://{sm}.{ELSEWHERE}.secrets-manager.appdomain.cloud"
    assert facts.en_url == (
        f"https://{ELSEWHERE}.event-notifications.cloud.ibm.com/event-notifications"
    )
    assert (facts.sm_crn, facts.en_crn) == (
        account.cloud.identity.sm_instance_crn,
        account.cloud.identity.en_instance_crn,
    )


def test_the_project_is_found_beyond_the_first_page_of_projects(account: Account) -> None:
    for n in range(100):  # all sort before "certsync": it is on the second page of 100
        account.cloud.code_engine.add_project(f"a-{n:03d}")
    config = parse(account.config)
    facts = lookup_facts(client_factory.account(config, SecretValue(account.apikey)), config)
    assert facts.project_id == account.cloud.identity.project_id
