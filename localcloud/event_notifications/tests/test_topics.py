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


INFO = "$.notification_event_info"


@pytest.mark.parametrize(
    ("event_type_filter", "change", "passes"),
    [
        ("$.*", {}, True),
        ("$.*", {"ibmensourceid": "another:api"}, False),
        (f"{INFO}.event_type == '{FAILED}'", {}, True),
        (f"{INFO}.event_type == '{FAILED}'", {"type": EXPIRING}, False),
        (f"{INFO}.event_type == '{FAILED}'", {"ibmensourceid": "another:api"}, False),
        (f'  {INFO}.event_type=="{FAILED}"  ', {}, True),
        # en-payload.md: `type` is `<event-type-name>:<sub-type>`.
        (f"{INFO}.event_type == '{FAILED}'", {"type": f"{FAILED}:in_1_day"}, True),
        (f"{INFO}.event_sub_type == 'in_1_day'", {"type": f"{FAILED}:in_1_day"}, True),
        (f"{INFO}.severity == 'HIGH'", {}, True),
        (f"{INFO}.event_type == 'x' || {INFO}.event_type == '{FAILED}'", {}, True),
        (f"{INFO}.event_type != 'x' && {INFO}.severity == 'LOW'", {}, False),
        # The event type filter does not read the payload: conditions on it never match there.
        (f"$.type == '{FAILED}'", {}, False),
        ("$.data.target == 'www.example.com'", {}, False),
    ],
)
def test_the_event_type_filter_reads_the_events_type_information(
    event_type_filter: str, change: dict[str, Any], passes: bool
) -> None:
    assert Rule(SOURCE, event_type_filter).passes(alert(SOURCE, **change)) is passes


@pytest.mark.parametrize(
    ("notification_filter", "change", "passes"),
    [
        ('$.data.target == "www.example.com"', {}, True),
        ("$.data.target == 'www.example.com'", {"data": {}}, False),
        ('$.data.target != "www.example.com"', {}, False),
        ('$.data.absent != "x"', {}, False),  # an absent path satisfies no comparison
        ("$.data.target.name == 'x'", {}, False),  # a string has no fields
        ("$.data.count == '1'", {"data": {"count": 1}}, False),  # no number equals a string
        (f"$.type == 'x' || $.type == '{FAILED}'", {}, True),
        (f'$.type == "x" || $.type == "{FAILED}"', {"type": "y"}, False),
        ('$.data.target =~ "example\\.(com|org)"', {}, True),
        ('$.data.target =~ "example\\.org"', {}, False),
        ('$.data.secret == "web-cert" && $.data.target =~ "www"', {}, True),
        ('$.data.secret == "web-cert" && $.data.target == "x"', {}, False),
    ],
)
def test_the_notification_filter_reads_the_notification(
    notification_filter: str, change: dict[str, Any], passes: bool
) -> None:
    rule = Rule(SOURCE, "$.*", notification_filter=notification_filter)
    assert rule.passes(alert(SOURCE, **change)) is passes


@pytest.mark.parametrize(
    "event_type_filter",
    [
        "$.type",
        "$.type == 'a' && $.type == 'b' || $.type == 'c'",
        "$.type == 'a' ||",
        "$.data.details[0].name == 'x'",
        "$.data.age >= 25",
        "type == 'x'",
        "$.type =~ '(?!x)y'",
        "$.type =~ '('",
    ],
)
def test_filters_the_emulator_cannot_evaluate_are_refused(event_type_filter: str) -> None:
    with pytest.raises(ValueError, match=r"not supported|regular expression|lookahead"):
        Rule(SOURCE, event_type_filter)


@pytest.mark.parametrize("event_type_filter", ["", "$*", "$.*" + " " * 253])
def test_an_event_type_filter_has_3_to_255_characters(event_type_filter: str) -> None:
    with pytest.raises(ValueError, match="3 to 255"):
        Rule(SOURCE, event_type_filter)


def test_a_rule_passes_only_when_enabled_and_both_filters_match() -> None:
    rotated = '$.data.event_type == "secret_rotated"'
    certs = '$.data.secret_type =~ "imported_cert|public_cert|private_cert"'
    both = f"{rotated} && {certs}"
    base = alert(SOURCE, data={"event_type": "secret_rotated", "secret_type": "public_cert"})
    assert Rule(SOURCE, "$.*", notification_filter=both).passes(base)
    assert not Rule(SOURCE, "$.*", enabled=False, notification_filter=both).passes(base)
    other = alert(SOURCE, data={"event_type": "secret_rotated", "secret_type": "arbitrary"})
    assert not Rule(SOURCE, "$.*", notification_filter=both).passes(other)
    assert Rule(SOURCE, "$.*", notification_filter="").passes(other)  # min length 0: no filter
    with pytest.raises(ValueError, match="notification_filter"):
        Rule(SOURCE, "$.*", notification_filter="$.data.secrets[0].secret_id == 'x'")


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
