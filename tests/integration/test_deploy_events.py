"""`python -m deploy` against Event Notifications as IBM documents it (issue 16, items 4 and 5):
topic filters in IBM's form, the Secrets Manager source found by listing, a new authorization that
takes time to take effect, an undocumented destination test payload, and a topic whose source rules
must change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ibm_cloud_sdk_core import ApiException
from ibm_secrets_manager_sdk.secrets_manager_v2 import ImportedCertificateVersionPrototype

from deploy.model import MARKER
from localcloud import LocalCloud
from localcloud.pki import renew
from scripts.deploy_local import register_images
from tests.builders import secrets_manager_sdk
from tests.integration.test_deploy import Account, applied
from tests.support import served_serial, wait_until

pytestmark = pytest.mark.integration

AUTHORIZATION_DELAY = 2.0


def _cloud(**options: Any) -> Iterator[LocalCloud]:
    with LocalCloud(**options) as c:
        register_images(c)
        c.event_notifications.timeout = 5.0
        c.event_notifications.backoff_min = c.event_notifications.backoff_max = 0.2
        yield c


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    yield from _cloud()


@pytest.fixture
def account(cloud: LocalCloud, tmp_path: Path) -> Account:
    return Account(cloud, tmp_path)


def topic_named(account: Account, name: str) -> dict[str, Any]:
    en, instance = account.event_notifications(), account.cloud.identity.en_instance_id
    (item,) = [
        t for t in en.list_topics(instance_id=instance).get_result()["topics"] if t["name"] == name
    ]
    return dict(en.get_topic(instance_id=instance, id=item["id"]).get_result())


def rotate(account: Account) -> int:
    new = renew(account.chain, days=90)
    secrets_manager_sdk(account.cloud, account.apikey).create_secret_version(
        account.secret_id,
        ImportedCertificateVersionPrototype(
            certificate=new.leaf_pem, intermediate=new.intermediate_pem, private_key=new.key_pem
        ),
    )
    return int(new.leaf.cert.serial_number)


def test_the_rotation_topic_is_written_as_ibm_writes_it_and_lets_a_rotation_through(
    account: Account,
) -> None:
    applied(account)
    (source,) = topic_named(account, "certsync-rotations")["sources"]
    (rule,) = source["rules"]
    assert rule["event_type_filter"] == "$.*"
    assert rule["notification_filter"] == (
        '$.data.event_type == "secret_rotated" && '
        '$.data.secret_type =~ "imported_cert|public_cert|private_cert"'
    )
    (alerts,) = topic_named(account, "certsync-alerts")["sources"]
    assert [set(r) & {"event_type_filter", "notification_filter"} for r in alerts["rules"]] == [
        {"event_type_filter"}
    ]
    serial = rotate(account)
    assert wait_until(lambda: served_serial(account.cloud, "tls-www") == serial, 60)


def test_destroy_finds_the_registration_certsync_made_by_listing_the_sources(
    account: Account,
) -> None:
    applied(account)
    done = account.deploy("destroy", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Secrets Manager notifications registration 'secrets-manager'" in done.stdout
    sm = secrets_manager_sdk(account.cloud, account.apikey)
    with pytest.raises(ApiException) as gone:
        sm.get_notifications_registration()
    assert gone.value.status_code == 404


def test_apply_waits_for_a_new_authorization_to_take_effect(tmp_path: Path) -> None:
    for cloud in _cloud(authorization_delay=AUTHORIZATION_DELAY):
        account = Account(cloud, tmp_path)
        done = applied(account)
        assert "waiting for IAM: Secrets Manager may not register" in done.stderr
        assert "created Secrets Manager notifications registration" in done.stderr


def test_doctors_destination_test_with_an_unknown_payload_passes_and_starts_no_run(
    account: Account,
) -> None:
    applied(account)
    done = account.deploy("doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[ ok ] Event Notifications test delivery to 'certsync-trigger'" in done.stdout
    runs = [run["name"] for run in account.cloud.code_engine.job_runs.list()]
    assert all(name.startswith("certsync-doctor-") for name in runs), sorted(runs)


def test_changed_source_rules_recreate_the_topic_and_its_subscription(account: Account) -> None:
    applied(account)
    en, instance = account.event_notifications(), account.cloud.identity.en_instance_id
    topic = topic_named(account, "certsync-rotations")
    (subscription,) = topic["subscriptions"]
    # As an older certsync left it: the same source, other rules.
    en.delete_subscription(instance_id=instance, id=subscription["id"])
    en.delete_topic(instance_id=instance, id=topic["id"])
    old_rule = {"enabled": True, "event_type_filter": "$.*"}
    sources = [{"id": account.cloud.identity.sm_instance_crn, "rules": [old_rule]}]
    created = en.create_topic(
        instance_id=instance,
        name="certsync-rotations",
        description=f"certsync: certificate rotations ({MARKER})",
        sources=sources,
    ).get_result()
    en.create_subscription(
        instance_id=instance,
        name="certsync",
        topic_id=created["id"],
        destination_id=subscription["destination_id"],
        description=f"certsync ({MARKER})",
        attributes={"signing_enabled": False},
    )

    done = applied(account)

    assert "deleting it and its subscriptions and creating them again" in done.stderr
    recreated = topic_named(account, "certsync-rotations")
    assert recreated["id"] != created["id"]
    assert "notification_filter" in recreated["sources"][0]["rules"][0]
    (again,) = recreated["subscriptions"]
    assert (again["name"], again["destination_id"]) == ("certsync", subscription["destination_id"])
    assert (
        account.deploy("plan")
        .stdout.rstrip()
        .endswith("No changes: the account already matches the config.")
    )
    serial = rotate(account)
    assert wait_until(lambda: served_serial(account.cloud, "tls-www") == serial, 60)


def test_a_wider_topic_is_harmless_the_trigger_starts_no_run_for_other_events(
    account: Account,
) -> None:
    applied(account)
    cloud = account.cloud
    (trigger,) = [
        d for d in cloud.event_notifications.destinations() if d.name == "certsync-trigger"
    ]
    cloud.event_notifications.subscribe(trigger.id)  # every Secrets Manager event, unfiltered
    entry = {
        "secret_id": cloud.identity.secret_crn(account.secret_id),
        "secret_group_id": "default",
        "secret_name": "www-example-com",
        "event_time": "2030-01-04T00:00:00Z",
        "event_triggered_by": "SecretsManager",
    }
    certificate = {**entry, "domains": "www.example.com", "serial_number": "01:02"}
    events = [
        ("secret_rotated", "arbitrary", entry),
        ("secret_created", "imported_cert", certificate),
        ("secret_about_to_expire:in_10_days", "imported_cert", certificate),
    ]
    for event, secret_type, secret in events:
        cloud.event_notifications.publish_secret_event(
            event_sub_type=event, secret_type=secret_type, secrets=[secret]
        )
    cloud.event_notifications.publish_test_event()
    assert cloud.event_notifications.wait_idle(30)
    statuses = [d.status for d in cloud.event_notifications.deliveries()]
    assert statuses == [200, 200, 200, 200]
    assert cloud.code_engine.job_runs.list() == []
