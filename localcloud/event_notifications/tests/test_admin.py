"""The admin API through the unmodified SDK: every body parses as its SDK model, statuses as the
SDK's integration test asserts, errors in Event Notifications' envelope."""

from __future__ import annotations

from typing import Any

import pytest
from ibm_eventnotifications.event_notifications_v1 import (
    Destination,
    DestinationList,
    DestinationResponse,
    EventNotificationsV1,
    GetNotificationStatusResponse,
    Source,
    SourceList,
    SourceResponse,
    Subscription,
    SubscriptionList,
    Topic,
    TopicList,
    TopicResponse,
)

from localcloud import LocalCloud
from localcloud.event_notifications.bodies import project_crn
from localcloud.event_notifications.tests.support import (
    VIEWER,
    WRITER,
    Receiver,
    Reply,
    api_error,
    authorize,
    revoke,
)

RULE = {
    "enabled": True,
    "event_type_filter": (
        "$.notification_event_info.event_type == 'com.ibm.certsync.mapping.failed'"
    ),
}


def webhook(url: str, **params: Any) -> dict[str, Any]:
    return {"params": {"url": url, "verb": "post", **params}}


@pytest.fixture
def instance(served: LocalCloud) -> str:
    return served.identity.en_instance_id


@pytest.fixture
def source(sdk: EventNotificationsV1, instance: str) -> str:
    created = sdk.create_sources(instance, "certsync", True, description="alerts")
    assert created.get_status_code() == 201
    return str(SourceResponse.from_dict(created.get_result()).id)


def test_sources_round_trip(sdk: EventNotificationsV1, instance: str, source: str) -> None:
    assert source.endswith(":api")
    got = Source.from_dict(sdk.get_source(instance, source).get_result())
    assert (got.name, got.type, got.enabled, got.topic_count) == ("certsync", "api", True, 0)
    updated = sdk.update_source(instance, source, enabled=False).get_result()
    assert Source.from_dict(updated).enabled is False
    listed = SourceList.from_dict(sdk.list_sources(instance, search="CERT").get_result())
    assert [s.id for s in listed.sources] == [source]
    assert sdk.delete_source(instance, source).get_status_code() == 204
    assert api_error(lambda: sdk.get_source(instance, source)).status_code == 404


def test_topics_round_trip(sdk: EventNotificationsV1, instance: str, source: str) -> None:
    sources = [{"id": source, "rules": [RULE]}]
    created = sdk.create_topic(instance, "alerts", description="d", sources=sources)
    assert created.get_status_code() == 201
    topic_id = TopicResponse.from_dict(created.get_result()).id
    topic = Topic.from_dict(sdk.get_topic(instance, topic_id).get_result())
    assert topic.sources[0].rules[0].event_type_filter == RULE["event_type_filter"]
    assert api_error(lambda: sdk.create_topic(instance, "alerts")).status_code == 409
    bad = [{"id": source, "rules": [{"event_type_filter": "$.data.age >= 25"}]}]
    assert api_error(lambda: sdk.create_topic(instance, "other", sources=bad)).status_code == 400
    changed = [{"id": source, "rules": [{**RULE, "enabled": False}]}]
    error = api_error(lambda: sdk.replace_topic(instance, topic_id, sources=changed))
    assert (error.status_code, "cannot be changed" in error.message) == (400, True)
    error = api_error(lambda: sdk.replace_topic(instance, topic_id, sources=[]))
    assert (error.status_code, "cannot be empty" in error.message) == (400, True)
    null = [{"id": source, "rules": [{**RULE, "notification_filter": None}]}]
    error = api_error(lambda: sdk.create_topic(instance, "other", sources=null))
    assert (error.status_code, "omit it" in error.message) == (400, True)
    replaced = sdk.replace_topic(instance, topic_id, name="alerts-2", sources=sources).get_result()
    assert Topic.from_dict(replaced).source_count == 1
    listed = TopicList.from_dict(sdk.list_topics(instance, limit=1).get_result())
    assert (listed.total_count, listed.topics[0].name) == (1, "alerts-2")
    assert sdk.delete_topic(instance, topic_id).get_status_code() == 204


def test_destinations_and_subscriptions(
    sdk: EventNotificationsV1, instance: str, source: str, receiver: Receiver
) -> None:
    topic_id = sdk.create_topic(instance, "t", sources=[{"id": source, "rules": [RULE]}])
    topic_id = topic_id.get_result()["id"]
    config = webhook(
        receiver.url,
        custom_headers={"Authorization": "Bearer s3"},
        sensitive_headers=["Authorization"],
    )
    created = sdk.create_destination(instance, "hook", "webhook", config=config)
    assert created.get_status_code() == 201
    destination = DestinationResponse.from_dict(created.get_result())
    got = Destination.from_dict(sdk.get_destination(instance, destination.id).get_result())
    assert got.config.params["custom_headers"] == {"Authorization": "********"}
    sub = sdk.create_subscription(
        instance, "s", destination.id, topic_id, attributes={"signing_enabled": False}
    )
    assert sub.get_status_code() == 201
    subscription = Subscription.from_dict(sub.get_result())
    assert (subscription.destination_type, subscription.topic_name) == ("webhook", "t")
    assert subscription.attributes == {"signing_enabled": False, "add_notification_payload": False}
    sdk.update_subscription(instance, subscription.id, name="s2")
    listed = SubscriptionList.from_dict(sdk.list_subscriptions(instance).get_result())
    assert [s.name for s in listed.subscriptions] == ["s2"]
    renamed = sdk.update_destination(instance, destination.id, name="hook-2").get_result()
    assert Destination.from_dict(renamed).subscription_names == ["s2"]
    DestinationList.from_dict(sdk.list_destinations(instance).get_result())
    # Deleting the destination deletes its subscriptions (at-events.md, the cascade table).
    assert sdk.delete_destination(instance, destination.id).get_status_code() == 204
    assert (
        SubscriptionList.from_dict(sdk.list_subscriptions(instance).get_result()).subscriptions
        == []
    )
    assert sdk.get_topic(instance, topic_id).get_status_code() == 200


def test_unknown_instance_and_unsupported_destination(
    sdk: EventNotificationsV1, instance: str
) -> None:
    error = api_error(lambda: sdk.list_topics("no-such-instance"))
    body = error.http_response.json() if error.http_response is not None else {}
    assert (error.status_code, body["errors"][0]["code"]) == (404, "not_found")
    slack = {"params": {"url": "https://hooks.slack.com/x", "type": "incoming_webhook"}}
    assert (
        api_error(lambda: sdk.create_destination(instance, "s", "slack", config=slack)).status_code
        == 400
    )


@pytest.mark.parametrize(("status", "outcome"), [(200, "success"), (401, "failure")])
def test_test_destination_reports_the_delivery(
    served: LocalCloud, sdk: EventNotificationsV1, receiver: Receiver, status: int, outcome: str
) -> None:
    instance = served.identity.en_instance_id
    receiver.script.append(Reply(status))
    config = webhook(receiver.url, custom_headers={"X-Token": "t0k"}, sensitive_headers=["X-Token"])
    destination_id = sdk.create_destination(instance, "h", "webhook", config=config).get_result()[
        "id"
    ]
    tested = sdk.test_destination(instance, destination_id)
    assert tested.get_status_code() == 202
    result = tested.get_result()
    assert (result["status"], result["destination_type"]) == ("accepted", "webhook")
    assert served.event_notifications.wait_idle(10)
    got = sdk.get_notifications_status(instance, id=result["notification_id"])
    report = GetNotificationStatusResponse.from_dict(got.get_result())
    assert (report.status, report.details.status_code) == (outcome, status)
    (received,) = receiver.received
    assert received.headers["X-Token"] == "t0k"
    # Undocumented: a shape no destination could be written against (no `type`, no `data`).
    assert received.body["notification_id"] == result["notification_id"]
    assert not {"type", "data"} & set(received.body)


def test_a_job_destination_runs_only_with_viewer_and_writer(
    served: LocalCloud, sdk: EventNotificationsV1, instance: str
) -> None:
    identity = served.identity
    crn = project_crn(identity)
    config = {"params": {"type": "job", "project_crn": crn, "job_name": "certsync"}}
    created = sdk.create_destination(instance, "job", "ibmce", config=config).get_result()
    assert created["config"]["params"] == config["params"]
    error = api_error(lambda: sdk.test_destination(instance, created["id"]))
    assert (error.status_code, "403" in error.message) == (400, True)
    (delivery,) = served.event_notifications.deliveries()
    assert (delivery.status, delivery.outcome) == (403, "lost")
    link = ("event-notifications", identity.en_instance_id), ("codeengine", identity.project_id)
    viewer_only = authorize(served, *link, VIEWER)
    assert api_error(lambda: sdk.test_destination(instance, created["id"])).status_code == 400
    revoke(served, viewer_only)
    authorize(served, *link, VIEWER, WRITER)
    # Authorized now: the run is submitted (Code Engine refuses it: no such job, a 4xx of its own).
    served.event_notifications.test_destination(created["id"])
    assert served.event_notifications.deliveries()[-1].status != 403


def test_the_lite_plan_limits_destinations(
    served: LocalCloud, sdk: EventNotificationsV1, instance: str
) -> None:
    served.event_notifications.catalog.plan = "lite"
    for n in range(5):
        sdk.create_destination(
            instance, f"d{n}", "webhook", config=webhook("https://h.example.com/")
        )
    error = api_error(
        lambda: sdk.create_destination(
            instance, "d5", "webhook", config=webhook("https://h.example.com/")
        )
    )
    assert (error.status_code, "Lite" in error.message) == (400, True)
