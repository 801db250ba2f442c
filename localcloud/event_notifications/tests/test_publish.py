"""A custom source's send-notifications API, driven by the unmodified `EventNotificationsV1` over
HTTP with an IAM token, and delivery of what it sends through topics to a local webhook."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from ibm_cloud_sdk_core import DetailedResponse
from ibm_cloud_sdk_core.authenticators import NoAuthAuthenticator
from ibm_eventnotifications.event_notifications_v1 import (
    EventNotificationsV1,
    NotificationCreate,
    NotificationResponse,
)

from localcloud import LocalCloud
from localcloud.event_notifications import EventNotifications, Rule
from localcloud.event_notifications.tests.support import (
    EXPIRING,
    FAILED,
    PREFIX,
    Receiver,
    Reply,
    alert,
    api_error,
    without,
)

pytestmark = pytest.mark.integration

LIMIT = 64_000  # bytes of request body (`en-about.md`: "limited to 64 KB")


def send(sdk: EventNotificationsV1, cloud: LocalCloud, body: dict[str, Any]) -> DetailedResponse:
    model = NotificationCreate.from_dict(body)
    return sdk.send_notifications(cloud.identity.en_instance_id, body=model)


def notification_id(response: DetailedResponse) -> str:
    assert response.get_status_code() == 202
    result = NotificationResponse.from_dict(response.get_result())
    assert result.notification_id is not None
    return str(result.notification_id)


def route(en: EventNotifications, url: str, *rules: Rule, **webhook: Any) -> str:
    """A topic fed by `rules`, subscribed by a webhook at `url`; returns the webhook's id."""
    destination = en.add_webhook_destination(url, **webhook)
    en.subscribe(destination, topic_id=en.add_topic("certsync-alerts", *rules))
    return destination


def test_a_sent_alert_is_accepted_and_arrives_at_the_subscribed_webhook(
    served: LocalCloud, en: EventNotifications, sdk: EventNotificationsV1, receiver: Receiver
) -> None:
    source = en.add_custom_source("certsync")
    destination = route(en, receiver.url, Rule(source))
    body = alert(source)
    nid = notification_id(send(sdk, served, body))
    assert en.wait_idle(10)

    assert source.endswith(":api")
    assert str(uuid.UUID(nid)) == nid
    [got] = receiver.received
    assert got.headers["Content-Type"] == "application/json"
    assert got.body == body | {"notification_id": nid}
    [delivery] = en.deliveries()
    assert (delivery.notification_id, delivery.destination_id) == (nid, destination)
    assert (delivery.status, delivery.outcome) == (200, "delivered")
    assert en.notifications() == [got.body]


def test_topics_route_each_event_type_to_its_own_webhook(
    served: LocalCloud,
    en: EventNotifications,
    sdk: EventNotificationsV1,
    receiver: Receiver,
    other_receiver: Receiver,
) -> None:
    source = en.add_custom_source("certsync")
    info = "$.notification_event_info.event_type"
    route(en, receiver.url, Rule(source, f"{info} == '{FAILED}'"))
    route(en, other_receiver.url, Rule(source, f'{info} == "{EXPIRING}"'))
    for type_ in (FAILED, EXPIRING, "com.ibm.certsync.run.finished"):
        notification_id(send(sdk, served, alert(source, type_)))
    assert en.wait_idle(10)
    assert [b["type"] for b in receiver.bodies()] == [FAILED]
    assert [b["type"] for b in other_receiver.bodies()] == [EXPIRING]
    assert len(en.notifications()) == 3


def test_a_rule_lets_in_only_its_own_source(
    served: LocalCloud, en: EventNotifications, sdk: EventNotificationsV1, receiver: Receiver
) -> None:
    certsync, other = en.add_custom_source("certsync"), en.add_custom_source("other-app")
    route(en, receiver.url, Rule(certsync))
    notification_id(send(sdk, served, alert(other)))
    notification_id(send(sdk, served, alert(en.add_custom_source("no-topic"))))
    assert en.wait_idle(10)
    assert receiver.received == []
    assert en.deliveries() == []


def test_custom_and_secrets_manager_notifications_never_mix(
    en: EventNotifications, receiver: Receiver, other_receiver: Receiver
) -> None:
    source = en.add_custom_source("certsync")
    route(en, receiver.url, Rule(source))
    en.subscribe(en.add_webhook_destination(other_receiver.url))  # every Secrets Manager event
    en.publish_notification(alert(source))
    en.publish_test_event()
    assert en.wait_idle(10)
    assert [b["type"] for b in receiver.bodies()] == [FAILED]
    assert [b["type"] for b in other_receiver.bodies()] == [PREFIX + "test_event"]


def test_delivery_retries_and_never_records_sensitive_headers(
    served: LocalCloud, en: EventNotifications, sdk: EventNotificationsV1, receiver: Receiver
) -> None:
    source = en.add_custom_source("certsync")
    headers = {"Authorization": "Bearer s3cr3t-token"}
    route(en, receiver.url, Rule(source), headers=headers, sensitive_headers={"Authorization"})
    receiver.script = [Reply(503)]
    nid = notification_id(send(sdk, served, alert(source)))
    assert en.wait_idle(10)
    attempts = [(d.notification_id, d.attempt, d.status, d.outcome) for d in en.deliveries()]
    assert attempts == [(nid, 1, 503, "retrying"), (nid, 2, 200, "delivered")]
    assert [r.headers["Authorization"] for r in receiver.received] == ["Bearer s3cr3t-token"] * 2
    recorded = repr(en.deliveries()) + json.dumps([d.to_dict() for d in en.deliveries()])
    assert "s3cr3t" not in recorded + repr(en.destinations())


def test_a_resent_id_is_delivered_again(
    served: LocalCloud, en: EventNotifications, sdk: EventNotificationsV1, receiver: Receiver
) -> None:
    source = en.add_custom_source("certsync")
    route(en, receiver.url, Rule(source))
    body = alert(source)
    first, second = (notification_id(send(sdk, served, body)) for _ in range(2))
    assert en.wait_idle(10)
    assert first != second
    assert [b["id"] for b in receiver.bodies()] == [body["id"]] * 2


def test_missing_attributes_are_one_400_naming_each_in_the_service_error_shape(
    served: LocalCloud, en: EventNotifications, sdk: EventNotificationsV1
) -> None:
    body = without(alert(en.add_custom_source("certsync")), "id", "ibmendefaultlong")
    instance = served.identity.en_instance_id
    error = api_error(lambda: sdk.send_notifications(instance, body=body))
    assert error.status_code == 400
    assert "'id'" in error.message
    assert "'ibmendefaultlong'" in error.message
    answer = error.http_response.json()
    assert answer["status_code"] == 400
    assert answer["trace"] == error.http_response.headers["X-Correlation-Id"]
    [detail] = answer["errors"]
    assert detail["code"] == "bad_request"
    assert detail["more_info"].startswith("https://cloud.ibm.com/apidocs/event-notifications")
    assert en.notifications() == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"specversion": "0.3"}, "'specversion' must be '1.0'"),
        ({"datacontenttype": "text/plain"}, "'datacontenttype'"),
        ({"data": ["not", "an", "object"]}, "'data' must be a JSON object"),
        ({"time": "2030-01-04 00:00:00"}, "'time'"),
        ({"time": "2030-01-04T00:00:00"}, "'time'"),
        ({"type": ""}, "'type'"),
        ({"source": 7}, "'source'"),
        ({"ibmensourceid": "0f6e3c8a-6d2e-4f0e-9d7e-2b1f4b7f9a11:api"}, "is not a source"),
    ],
)
def test_an_invalid_alert_is_a_400(
    served: LocalCloud,
    en: EventNotifications,
    sdk: EventNotificationsV1,
    change: dict[str, Any],
    named: str,
) -> None:
    body = alert(en.add_custom_source("certsync"), **change)
    instance = served.identity.en_instance_id
    error = api_error(lambda: sdk.send_notifications(instance, body=body))
    assert error.status_code == 400
    assert named in error.message
    assert en.notifications() == []


def test_an_unknown_instance_is_a_404(
    served: LocalCloud, en: EventNotifications, sdk: EventNotificationsV1
) -> None:
    body = NotificationCreate.from_dict(alert(en.add_custom_source("certsync")))
    error = api_error(lambda: sdk.send_notifications(str(uuid.uuid4()), body=body))
    assert error.status_code == 404
    assert error.http_response.json()["errors"][0]["code"] == "not_found"


def test_the_64_kb_limit_counts_request_bytes(
    served: LocalCloud, en: EventNotifications, sdk: EventNotificationsV1
) -> None:
    source = en.add_custom_source("certsync")
    padding = LIMIT - len(json.dumps(alert(source, data={"pad": ""}, id="fixed")).encode())
    at_limit = alert(source, data={"pad": "x" * padding}, id="fixed")
    assert len(json.dumps(at_limit).encode()) == LIMIT  # what the SDK sends: json.dumps
    notification_id(send(sdk, served, at_limit))
    over = alert(source, data={"pad": "x" * (padding + 1)}, id="fixed")
    error = api_error(lambda: send(sdk, served, over))
    assert error.status_code == 400
    assert "limit" in error.message


def test_the_structured_cloudevents_type_is_accepted_and_others_are_a_415(
    served: LocalCloud, en: EventNotifications, sdk: EventNotificationsV1
) -> None:
    body = NotificationCreate.from_dict(alert(en.add_custom_source("certsync")))
    instance = served.identity.en_instance_id
    structured = {"content-type": "application/cloudevents+json"}
    notification_id(sdk.send_notifications(instance, body=body, headers=structured))
    plain = {"content-type": "text/plain"}
    error = api_error(lambda: sdk.send_notifications(instance, body=body, headers=plain))
    assert error.status_code == 415
    assert "more_info" in error.http_response.json()["errors"][0]


def test_sending_needs_a_token(served: LocalCloud, en: EventNotifications) -> None:
    anonymous = EventNotificationsV1(authenticator=NoAuthAuthenticator())
    anonymous.set_service_url(served.event_notifications_url)
    body = NotificationCreate.from_dict(alert(en.add_custom_source("certsync")))
    instance = served.identity.en_instance_id
    error = api_error(lambda: anonymous.send_notifications(instance, body=body))
    anonymous.http_client.close()
    assert error.status_code == 401
    assert en.notifications() == []
