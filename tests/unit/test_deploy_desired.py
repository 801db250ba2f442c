"""deploy/desired.py: everything a config wants in the account, values in, values out.
(How a plan reads what `desired` returns against what exists is test_deploy_plan.py's.)"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from deploy.config import Config, parse
from deploy.desired import (
    APP_URL_UNKNOWN,
    ROTATED_CERTIFICATES,
    desired,
    manual_steps,
    policy_name,
    target_projects,
)
from deploy.model import Kind, Resource
from deploy.workloads import SOURCE_ID_UNKNOWN
from tests.builders import DEPLOY_EN, DEPLOY_FACTS, DEPLOY_SM, deploy_config

FACTS = DEPLOY_FACTS
OTHER = "0e3bd9ec-1c4f-4d3e-9c3e-2a4c7d0f5a11"
HOME = "5b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"
SECRET = "11111111-2222-4333-8444-555555555555"


def config(**changes: Any) -> Config:
    return parse(deploy_config(**changes))


def wanted(cfg: Config, **known: str) -> dict[tuple[Kind, str], Resource]:
    return {r.key: r for r in desired(cfg, FACTS, **known)}


def test_identity_and_access_come_first_and_the_subscription_and_alerts_topic_last() -> None:
    kinds = [r.kind for r in desired(config(), FACTS)]
    assert kinds[0] is Kind.PROFILE
    last_iam = max(i for i, k in enumerate(kinds) if k in {Kind.POLICY, Kind.AUTHORIZATION})
    assert last_iam < kinds.index(Kind.SOURCE) < kinds.index(Kind.CONFIG_MAP)
    assert kinds.index(Kind.JOB) < kinds.index(Kind.REGISTRATION) < kinds.index(Kind.DESTINATION)
    assert kinds[-2:] == [Kind.SUBSCRIPTION, Kind.TOPIC]  # the rotations', then the alerts topic


def test_the_profile_is_linked_to_the_job_and_to_the_app() -> None:
    made = wanted(config())
    link = made[(Kind.LINK, "ce-job")].spec
    assert link == {
        "cr_type": "CE",
        "crn": FACTS.project_crn,
        "component_type": "job",
        "component_name": "certsync",
    }
    assert made[(Kind.LINK, "ce-app")].spec["component_name"] == "certsync-trigger"
    assert "certsync" in made[(Kind.PROFILE, "certsync")].spec["description"]


def test_the_profile_reads_secrets_manager_and_writes_the_project_and_nothing_more() -> None:
    made = wanted(config())
    policies = {name: r.spec for (kind, name), r in made.items() if kind is Kind.POLICY}
    assert policies == {
        "secrets-manager": {
            "service_name": "secrets-manager",
            "service_instance": DEPLOY_SM,
            "roles": ["SecretsReader"],
        },
        "codeengine": {
            "service_name": "codeengine",
            "service_instance": "proj-id",
            "roles": ["Writer"],
        },
        "event-notifications": {
            "service_name": "event-notifications",
            "service_instance": DEPLOY_EN,
            "roles": ["Event Notification Publisher"],
        },
    }


def test_secrets_manager_may_be_a_source_of_event_notifications() -> None:
    made = wanted(config())
    authorization = made[(Kind.AUTHORIZATION, "secrets-manager -> event-notifications")].spec
    assert authorization == {
        "source_service": "secrets-manager",
        "source_instance": DEPLOY_SM,
        "target_service": "event-notifications",
        "target_instance": DEPLOY_EN,
        "roles": ["Event Source Manager"],
    }
    registration = made[(Kind.REGISTRATION, "secrets-manager")].spec
    assert registration == {"event_notifications_instance_crn": FACTS.en_crn}


def test_job_delivery_authorizes_event_notifications_to_view_and_write_the_project() -> None:
    made = wanted(config(delivery="job"))
    authorization = made[(Kind.AUTHORIZATION, "event-notifications -> codeengine")].spec
    assert authorization["roles"] == ["Viewer", "Writer"]
    destination = made[(Kind.DESTINATION, "certsync-job")].spec
    assert destination == {
        "type": "ibmce",
        "description": destination["description"],
        "target_type": "job",
        "project_crn": FACTS.project_crn,
        "job_name": "certsync",
    }
    subscription = made[(Kind.SUBSCRIPTION, "certsync")].spec
    assert "signing_enabled" not in subscription  # a webhook's attribute only


def test_the_webhook_url_is_a_placeholder_until_the_app_runs() -> None:
    before = wanted(config())[(Kind.DESTINATION, "certsync-trigger")].spec
    assert before["url"] == APP_URL_UNKNOWN
    after = wanted(config(), app_url="https://t.example")[(Kind.DESTINATION, "certsync-trigger")]
    assert after.spec["url"] == "https://t.example/events"
    assert after.spec["verb"] == "post"
    assert after.spec["custom_headers"] == after.spec["sensitive_headers"] == ["Authorization"]


def test_the_subscription_joins_the_rotations_topic_to_the_destination_unsigned() -> None:
    subscription = wanted(config())[(Kind.SUBSCRIPTION, "certsync")]
    assert subscription.spec["topic"] == "certsync-rotations"
    assert subscription.spec["destination"] == "certsync-trigger"
    assert subscription.spec["signing_enabled"] is False
    assert subscription.detail == "certsync-rotations -> certsync-trigger"


def test_the_rotations_topic_filters_on_the_payload_and_never_sends_a_null_filter() -> None:
    topic = wanted(config())[(Kind.TOPIC, "certsync-rotations")].spec
    [source] = topic["sources"]
    assert source == {
        "id": FACTS.sm_crn,
        "rules": [
            {
                "enabled": True,
                "event_type_filter": "$.*",
                "notification_filter": ROTATED_CERTIFICATES,
            }
        ],
    }
    assert ROTATED_CERTIFICATES == (
        '$.data.event_type == "secret_rotated" && '
        '$.data.secret_type =~ "imported_cert|public_cert|private_cert"'
    )
    alerts = wanted(config())[(Kind.TOPIC, "certsync-alerts")].spec
    assert alerts["sources"] == [
        {"id": SOURCE_ID_UNKNOWN, "rules": [{"enabled": True, "event_type_filter": "$.*"}]}
    ]


def test_the_names_follow_the_configs_name() -> None:
    names = {name for _, name in wanted(config(name="sync2"))}
    for name in ("sync2", "sync2-trigger", "sync2-mappings", "sync2-webhook", "sync2-rotations"):
        assert name in names


def test_target_projects_start_with_the_jobs_own_and_name_each_once() -> None:
    home = replace(FACTS, project_id=HOME)
    mappings = [
        {"secret": SECRET, "target": "tls-a"},
        {"secret": SECRET, "target": "tls-b", "project": OTHER, "region": "eu-de"},
        {"secret": SECRET, "target": "tls-c", "project": OTHER, "region": "eu-de"},
        {"secret": SECRET, "target": "tls-d", "project": HOME},
    ]
    assert target_projects(config(mappings=mappings), home) == [HOME, OTHER]
    assert target_projects(config(), home) == [HOME]
    policies = [name for kind, name in wanted(config(mappings=mappings)) if kind is Kind.POLICY]
    assert policies.count(f"codeengine:{OTHER}") == 1


def test_policy_names_tell_other_projects_apart() -> None:
    assert policy_name("codeengine", "proj-id", "proj-id") == "codeengine"
    assert policy_name("codeengine", OTHER, "proj-id") == f"codeengine:{OTHER}"
    assert policy_name("secrets-manager", DEPLOY_SM, "proj-id") == "secrets-manager"


def test_without_a_schedule_only_the_alerts_step_is_left_to_do() -> None:
    [step] = manual_steps(replace(config(), schedule=None))
    assert "topic 'certsync-alerts'" in step
    assert manual_steps(replace(config(alerts=False), schedule=None)) == []
    [schedule] = manual_steps(config(alerts=False))
    assert "in project 'my-project'" in schedule
    assert "--destination-type job --destination certsync" in schedule
