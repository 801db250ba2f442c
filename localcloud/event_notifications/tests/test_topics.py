"""Custom sources, topic rules and their filters, and the in-process API's refusals: values in,
values out."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud import LocalCloud
from localcloud.event_notifications import EventNotifications, Rule
from localcloud.event_notifications.send import EnError
from localcloud.event_notifications.tests.support import EXPIRING, FAILED, alert

SOURCE = "0f6e3c8a-6d2e-4f0e-9d7e-2b1f4b7f9a11:api"


@pytest.mark.parametrize(
    ("event_type_filter", "change", "passes"),
    [
        ("$.*", {}, True),
        ("$.*", {"ibmensourceid": "another:api"}, False),
        (f"$.type == '{FAILED}'", {}, True),
        (f"$.type == '{FAILED}'", {"type": EXPIRING}, False),
        (f"$.type == '{FAILED}'", {"ibmensourceid": "another:api"}, False),
        (f'  $.type=="{FAILED}"  ', {}, True),
        ("$.data.target == 'www.example.com'", {}, True),
        ("$.data.target == 'www.example.com'", {"data": {}}, False),
        ("$.data.target.name == 'x'", {}, False),  # a string has no fields
        ("$.data.count == '1'", {"data": {"count": 1}}, False),  # no number equals a string
        (f"$.type == 'x' || $.type == '{FAILED}'", {}, True),
        (f'$.type == "x" || $.type == "{FAILED}"', {"type": "y"}, False),
        ("$.data.secret == 'web-cert' || $.type == 'x'", {}, True),
    ],
)
def test_rule_filters(event_type_filter: str, change: dict[str, Any], passes: bool) -> None:
    assert Rule(SOURCE, event_type_filter).passes(alert(SOURCE, **change)) is passes


@pytest.mark.parametrize(
    "event_type_filter",
    [
        "",
        "$",
        "$.type",
        "$.type =~ 'com.ibm.*'",
        "$.type == 'a' && $.type == 'b'",
        "$.type == 'a' ||",
        "$.type != 'a'",
        "type == 'x'",
    ],
)
def test_filters_the_emulator_cannot_evaluate_are_refused(event_type_filter: str) -> None:
    with pytest.raises(ValueError, match="not supported"):
        Rule(SOURCE, event_type_filter)


def test_a_rule_passes_only_when_enabled_and_both_filters_match() -> None:
    rotated = '$.data.event_type == "secret_rotated"'
    certs = "$.data.secret_type == 'imported_cert' || $.data.secret_type == 'public_cert'"
    base = alert(SOURCE, data={"event_type": "secret_rotated", "secret_type": "public_cert"})
    assert Rule(SOURCE, rotated, notification_filter=certs).passes(base)
    assert not Rule(SOURCE, rotated, enabled=False).passes(base)
    other = alert(SOURCE, data={"event_type": "secret_rotated", "secret_type": "arbitrary"})
    assert not Rule(SOURCE, rotated, notification_filter=certs).passes(other)
    with pytest.raises(ValueError, match="notification_filter"):
        Rule(SOURCE, rotated, notification_filter="$.data.secret_type =~ '.*_cert'")


def test_in_process_configuration_refuses_unknown_references(en: EventNotifications) -> None:
    source = en.add_custom_source("certsync")
    destination = en.add_webhook_destination("https://hooks.example.com/alerts")
    with pytest.raises(KeyError, match="no custom sources"):
        en.add_topic("alerts", Rule(source), Rule(SOURCE))
    with pytest.raises(ValueError, match="name"):
        en.add_custom_source(" ")
    with pytest.raises(ValueError, match="name"):
        en.add_topic("", Rule(source))
    with pytest.raises(KeyError, match="no topic"):
        en.subscribe(destination, topic_id="no-such-topic")
    topic = en.add_topic("alerts", Rule(source))
    with pytest.raises(ValueError, match="not both"):
        en.subscribe(destination, {"secret_rotated"}, topic_id=topic)


def test_publish_notification_checks_as_the_api_does(
    cloud: LocalCloud, en: EventNotifications
) -> None:
    source = en.add_custom_source("certsync")
    with pytest.raises(EnError, match="'specversion' must be") as info:
        en.publish_notification(alert(source, specversion="0.3"))
    assert info.value.status == 400
    with pytest.raises(EnError, match="is not a source"):
        en.publish_notification(alert(cloud.identity.sm_instance_crn))
    assert en.notifications() == []
    notification_id = en.publish_notification(alert(source))
    assert [n["notification_id"] for n in en.notifications()] == [notification_id]
