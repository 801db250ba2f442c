"""What Event Notifications sends for Secrets Manager events: the documented envelope and data."""

from __future__ import annotations

import pytest

from localcloud import LocalCloud
from localcloud.event_notifications import EventNotifications
from localcloud.event_notifications.tests.support import (
    ENVELOPE_KEYS,
    PREFIX,
    Receiver,
    cert_secret,
    rotate,
    subscribed_webhook,
)

pytestmark = pytest.mark.integration


def test_rotation_envelope_and_data_have_the_documented_shape(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    subscribed_webhook(en, receiver.url)
    [notification_id] = rotate(en, cloud)
    assert en.wait_idle(10)

    [got] = receiver.received
    assert got.headers["Content-Type"] == "application/json"
    body = got.body
    assert set(body) == ENVELOPE_KEYS
    assert body["notification_id"] == notification_id
    assert body["id"] != notification_id
    crn = cloud.identity.sm_instance_crn
    assert body["source"] == body["ibmensourceid"] == crn
    assert (body["specversion"], body["datacontenttype"]) == ("1.0", "application/json")
    assert body["type"] == PREFIX + "secret_rotated"
    assert body["ibmenseverity"] == "low"
    assert body["time"].endswith("Z")
    assert "web-cert" in body["ibmendefaultlong"]
    assert body["ibmendefaultshort"] == "Your 1 imported certificate secret was rotated"
    data = body["data"]
    assert data["event_type"] == "secret_rotated"
    assert "event_sub_type" not in data
    assert data["secret_type"] == "imported_cert"
    assert data["source_instance_crn"] == crn
    assert data["source_service"] == "SecretsManager"
    assert data["source_instance_api_public_url"].endswith(".secrets-manager.appdomain.cloud/api")
    [secret] = data["secrets"]
    assert secret["domains"] == "example.com, www.example.com"
    assert secret["secret_id"] == cloud.identity.secret_crn("0f6e3c8a-6d2e-4f0e-9d7e-2b1f4b7f9a11")
    assert en.notifications() == [body]


def test_about_to_expire_carries_its_subtype_in_type_and_data(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    subscribed_webhook(en, receiver.url)
    en.publish_secret_event(
        event_sub_type="secret_about_to_expire:in_10_days",
        secret_type="public_cert",
        secrets=[cert_secret(cloud, "a"), cert_secret(cloud, "b")],
    )
    assert en.wait_idle(10)
    [body] = receiver.bodies()
    assert body["type"] == PREFIX + "secret_about_to_expire:in_10_days"
    assert body["ibmenseverity"] == "high"
    assert body["data"]["event_type"] == "secret_about_to_expire"
    assert body["data"]["event_sub_type"] == "in_10_days"
    assert body["ibmendefaultshort"] == "Your 2 public certificate secrets expire in 10 days"


def test_more_than_100_secrets_are_split_100_per_notification(
    cloud: LocalCloud, en: EventNotifications, receiver: Receiver
) -> None:
    subscribed_webhook(en, receiver.url)
    secrets = [cert_secret(cloud, f"cert-{i}") for i in range(150)]
    ids = en.publish_secret_event(
        event_sub_type="secret_rotated", secret_type="imported_cert", secrets=secrets
    )
    assert en.wait_idle(10)
    assert len(ids) == 2
    sizes = sorted(len(b["data"]["secrets"]) for b in receiver.bodies())
    assert sizes == [50, 100]


def test_test_event_reaches_subscriptions_for_all_events(
    en: EventNotifications, receiver: Receiver
) -> None:
    subscribed_webhook(en, receiver.url)
    [nid] = en.publish_test_event()
    assert en.wait_idle(10)
    [body] = receiver.bodies()
    assert body["notification_id"] == nid
    assert body["type"] == PREFIX + "test_event"
    assert body["data"]["event_type"] == "test_event"
    assert "secrets" not in body["data"]


def test_invalid_input_is_rejected(cloud: LocalCloud, en: EventNotifications) -> None:
    with pytest.raises(ValueError, match="unknown Secrets Manager event"):
        en.publish_secret_event(
            event_sub_type="secret_renamed", secret_type="arbitrary", secrets=[]
        )
    with pytest.raises(ValueError, match="subtypes"):
        en.publish_secret_event(
            event_sub_type="secret_about_to_expire", secret_type="public_cert", secrets=[]
        )
    with pytest.raises(ValueError, match="lacks"):
        en.publish_secret_event(
            event_sub_type="secret_rotated",
            secret_type="public_cert",
            secrets=[{"secret_name": "x"}],
        )
    with pytest.raises(ValueError, match="https"):
        en.add_webhook_destination("http://trigger.example.com/events")
    with pytest.raises(ValueError, match="sensitive"):
        en.add_webhook_destination("https://x.example.com", sensitive_headers={"Authorization"})
    with pytest.raises(KeyError):
        en.subscribe("no-such-destination")
