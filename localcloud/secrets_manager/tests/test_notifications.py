"""Secrets Manager's notifications registration through the unmodified `SecretsManagerV2`, and a
rotation routed through Event Notifications' topics end to end (`EventNotificationsV1`)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_eventnotifications.event_notifications_v1 import EventNotificationsV1, SourceList
from ibm_secrets_manager_sdk.secrets_manager_v2 import (
    ImportedCertificateVersionPrototype,
    NotificationsRegistration,
    SecretsManagerV2,
)

from localcloud import LocalCloud, pki
from localcloud.event_notifications.tests import support as en_support
from localcloud.event_notifications.tests.support import Receiver, authorize_source, revoke
from localcloud.secrets_manager.tests.support import api_error, import_cert

# en-advanced-filtering.md: conditions on the payload, in the notification filter.
ROTATED = (
    '$.data.event_type == "secret_rotated" && $.data.secret_type =~ "imported_cert|public_cert"'
)


@pytest.fixture
def en(cloud: LocalCloud) -> Iterator[EventNotificationsV1]:
    cloud.iam.add_apikey(en_support.APIKEY)
    events = cloud.event_notifications
    events.timeout, events.backoff_min, events.backoff_max = 2.0, 0.01, 0.05
    client = en_support.sdk_client(cloud)
    yield client
    client.http_client.close()
    assert events.wait_idle(10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    r.thread.join(5)


def register(sm: SecretsManagerV2, cloud: LocalCloud) -> NotificationsRegistration:
    created = sm.create_notifications_registration(
        cloud.identity.en_instance_crn, "certsync-sm", event_notifications_source_description="d"
    )
    assert created.get_status_code() == 201
    return NotificationsRegistration.from_dict(created.get_result())


def test_registration_needs_the_authorization(
    sm: SecretsManagerV2, cloud: LocalCloud, en: EventNotificationsV1
) -> None:
    error = api_error(lambda: register(sm, cloud))
    assert error.status_code == 403
    assert api_error(sm.get_notifications_registration).status_code == 404
    authorize_source(cloud)
    other = cloud.identity.en_instance_crn.replace(cloud.identity.en_instance_id, "another")
    bad = api_error(lambda: sm.create_notifications_registration(other, "x"))
    assert bad.status_code == 400


def test_a_new_authorization_takes_effect_after_the_clouds_delay() -> None:
    with LocalCloud(authorization_delay=1.0) as cloud:
        cloud.iam.add_apikey(en_support.APIKEY)
        sm = SecretsManagerV2(authenticator=IAMAuthenticator(en_support.APIKEY, url=cloud.iam_url))
        sm.set_service_url(cloud.secrets_manager_url)
        authorize_source(cloud)
        created = time.monotonic()
        assert api_error(lambda: register(sm, cloud)).status_code == 403
        time.sleep(max(0.0, created + 1.05 - time.monotonic()))
        assert (
            register(sm, cloud).event_notifications_instance_crn == cloud.identity.en_instance_crn
        )


def test_registration_round_trip_makes_the_source(
    sm: SecretsManagerV2, cloud: LocalCloud, en: EventNotificationsV1
) -> None:
    authorize_source(cloud)
    assert register(sm, cloud).event_notifications_instance_crn == cloud.identity.en_instance_crn
    got = sm.get_notifications_registration().get_result()
    assert got == {"event_notifications_instance_crn": cloud.identity.en_instance_crn}
    instance, crn = cloud.identity.en_instance_id, cloud.identity.sm_instance_crn
    # Its id is the instance CRN, which is not a valid source id in a path (en-cli.md): listed.
    assert api_error(lambda: en.get_source(instance, crn)).status_code == 404
    (source,) = SourceList.from_dict(en.list_sources(instance).get_result()).sources
    assert (source.id, source.name, source.description) == (crn, "certsync-sm", "d")
    assert source.type == "secrets-manager"
    assert sm.get_notifications_registration_test().get_status_code() == 204
    assert sm.delete_notifications_registration().get_status_code() == 204
    assert SourceList.from_dict(en.list_sources(instance).get_result()).sources == []
    assert api_error(sm.get_notifications_registration_test).status_code == 404


def test_a_certificate_rotation_reaches_the_subscribed_webhook(
    sm: SecretsManagerV2,
    cloud: LocalCloud,
    en: EventNotificationsV1,
    receiver: Receiver,
    chain: pki.Chain,
) -> None:
    policy = authorize_source(cloud)
    register(sm, cloud)
    instance, crn = cloud.identity.en_instance_id, cloud.identity.sm_instance_crn
    rules = [{"enabled": True, "event_type_filter": "$.*", "notification_filter": ROTATED}]
    topic = en.create_topic(instance, "certsync-rotations", sources=[{"id": crn, "rules": rules}])
    config = {"params": {"url": receiver.url, "verb": "post"}}
    destination = en.create_destination(instance, "trigger", "webhook", config=config)
    en.create_subscription(
        instance,
        "certsync",
        destination.get_result()["id"],
        topic.get_result()["id"],
        attributes={"signing_enabled": False},
    )
    secret = import_cert(sm, chain)
    renewed = pki.renew(chain)
    proto = ImportedCertificateVersionPrototype(
        certificate=renewed.leaf_pem,
        intermediate=renewed.intermediate_pem,
        private_key=renewed.key_pem,
    )
    sm.create_secret_version(secret["id"], proto)
    # Secrets Manager emits secret_rotated for every secret type; the filter keeps this one out.
    cloud.event_notifications.publish_secret_event(
        event_sub_type="secret_rotated",
        secret_type="arbitrary",
        secrets=[{**_entry(cloud), "secret_name": "not-a-cert"}],
    )
    assert cloud.event_notifications.wait_idle(10)
    (body,) = receiver.bodies()
    assert (body["ibmensourceid"], body["data"]["secret_type"]) == (crn, "imported_cert")
    assert body["data"]["secrets"][0]["secret_name"] == "web-cert"
    revoke(cloud, policy)
    sm.create_secret_version(secret["id"], proto)
    assert cloud.event_notifications.wait_idle(10)
    assert len(receiver.bodies()) == 1
    (rejection,) = cloud.event_notifications.rejections()
    assert (rejection.source_id, "Event Source Manager" in rejection.reason) == (crn, True)


def _entry(cloud: LocalCloud) -> dict[str, str]:
    return {
        "secret_id": cloud.identity.secret_crn("0f6e3c8a-6d2e-4f0e-9d7e-2b1f4b7f9a11"),
        "secret_group_id": "default",
        "event_time": "2030-01-04T00:00:00Z",
        "event_triggered_by": "SecretsManager",
    }
