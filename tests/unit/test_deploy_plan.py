"""deploy/desired.py and deploy/plan.py: what a config wants, and the changes to get there."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from deploy.config import parse
from deploy.desired import desired, manual_steps
from deploy.engine import Plan
from deploy.model import ORDER, Action, Facts, Found, Kind, Resource
from deploy.plan import plan, teardown
from deploy.render import plan_text
from tests.builders import DEPLOY_EN, DEPLOY_SM, deploy_config

SM, EN = DEPLOY_SM, DEPLOY_EN
FACTS = Facts(
    account_id="acct",
    project_id="proj-id",
    project_name="my-project",
    project_crn="crn:v1:bluemix:public:codeengine:us-south:a/acct:proj-id::",
    sm_crn=f"crn:v1:bluemix:public:secrets-manager:us-south:a/acct:{SM}::",
    en_crn=f"crn:v1:bluemix:public:event-notifications:eu-de:a/acct:{EN}::",
    sm_url=f"https://{SM}.us-south.secrets-manager.appdomain.cloud",
    en_url="https://eu-de.event-notifications.cloud.ibm.com/event-notifications",
)


def config(**changes: Any) -> Any:
    return parse(deploy_config(**changes))


def as_found(resources: list[Resource], *, managed: bool = True) -> dict[Any, Found]:
    return {r.key: Found(r.kind, r.name, r.spec, managed) for r in resources}


def by_key(resources: list[Resource]) -> dict[tuple[Kind, str], Resource]:
    return {r.key: r for r in resources}


def test_webhook_delivery_wants_the_app_its_token_and_a_webhook_destination() -> None:
    wanted = by_key(desired(config(), FACTS, app_url="https://trigger.example"))
    assert (Kind.APP, "certsync-trigger") in wanted
    assert (Kind.SECRET, "certsync-webhook") in wanted
    assert (Kind.LINK, "ce-app") in wanted
    destination = wanted[(Kind.DESTINATION, "certsync-trigger")].spec
    assert destination["url"] == "https://trigger.example/events"
    assert destination["sensitive_headers"] == ["Authorization"]
    assert (Kind.AUTHORIZATION, "event-notifications -> codeengine") not in wanted


def test_job_delivery_wants_no_app_and_lets_event_notifications_run_the_job() -> None:
    wanted = by_key(desired(config(delivery="job"), FACTS))
    assert not any(kind in {Kind.APP, Kind.SECRET} for kind, _ in wanted)
    assert (Kind.LINK, "ce-app") not in wanted
    authorization = wanted[(Kind.AUTHORIZATION, "event-notifications -> codeengine")].spec
    assert authorization["target_instance"] == "proj-id"
    assert wanted[(Kind.DESTINATION, "certsync-job")].spec["job_name"] == "certsync"


def test_the_job_authenticates_as_the_trusted_profile_with_no_api_key() -> None:
    job = by_key(desired(config(), FACTS))[(Kind.JOB, "certsync")].spec
    env = {v.get("name"): v.get("value") for v in job["run_env_variables"]}
    assert env["SECRETS_MANAGER_AUTH_TYPE"] == "container"
    assert env["CODE_ENGINE_IAM_PROFILE_NAME"] == "certsync"
    assert not any("APIKEY" in str(name) for name in env)
    assert job["run_compute_resource_token_enabled"] is True


def test_the_workloads_reach_each_instance_in_its_own_region() -> None:
    wanted = by_key(desired(config(), FACTS, app_url="https://trigger.example"))
    job = wanted[(Kind.JOB, "certsync")].spec
    env = {v.get("name"): v.get("value") for v in job["run_env_variables"]}
    assert env["SECRETS_MANAGER_URL"] == FACTS.sm_url
    assert env["EVENT_NOTIFICATIONS_URL"] == FACTS.en_url  # eu-de, the project is in us-south
    app = wanted[(Kind.APP, "certsync-trigger")].spec
    app_env = {v.get("name"): v.get("value") for v in app["run_env_variables"]}
    assert app_env["CERTSYNC_ALLOWED_SOURCES"] == FACTS.sm_crn


def test_the_topic_lets_only_certificate_rotations_through() -> None:
    topic = by_key(desired(config(), FACTS))[(Kind.TOPIC, "certsync-rotations")].spec
    (source,) = topic["sources"]
    assert source["id"] == FACTS.sm_crn
    (rule,) = source["rules"]
    assert rule["event_type_filter"] == "$.*"
    assert "secret_rotated" in rule["notification_filter"]
    for kind in ("imported_cert", "public_cert", "private_cert"):
        assert kind in rule["notification_filter"]


def test_no_secret_value_is_part_of_any_spec() -> None:
    specs = json.dumps([r.spec for r in desired(config(), FACTS, app_url="https://t")])
    assert "Bearer" not in specs


def test_an_empty_account_plans_every_resource_as_a_create_in_order() -> None:
    changes = plan(desired(config(), FACTS), {})
    assert {c.action for c in changes} == {Action.CREATE}
    assert [ORDER.index(c.kind) for c in changes] == sorted(ORDER.index(c.kind) for c in changes)


def test_a_matching_account_plans_nothing() -> None:
    wanted = desired(config(), FACTS, app_url="https://t")
    changes = plan(wanted, as_found(wanted))
    assert {c.action for c in changes} == {Action.KEEP}
    assert not any(c.writes for c in changes)


def test_a_changed_mapping_changes_only_the_config_map() -> None:
    before = desired(config(), FACTS, app_url="https://t")
    mappings = [{"secret": "99999999-2222-4333-8444-555555555555", "target": "tls-www"}]
    after = desired(config(mappings=mappings), FACTS, app_url="https://t")
    changes = [c for c in plan(after, as_found(before)) if c.writes]
    assert [(c.action, c.kind) for c in changes] == [(Action.UPDATE, Kind.CONFIG_MAP)]
    (reason,) = changes[0].reasons
    assert reason.startswith("data.CERTSYNC_MAPPINGS: ")


def test_a_resource_of_that_name_certsync_did_not_create_is_a_conflict() -> None:
    wanted = desired(config(), FACTS)
    found = as_found([r for r in wanted if r.kind is Kind.JOB], managed=False)
    job = next(c for c in plan(wanted, found) if c.kind is Kind.JOB)
    assert job.action is Action.CONFLICT
    assert "not created by certsync" in job.reasons[0]


def test_an_authorization_made_by_hand_is_used_as_it_is() -> None:
    wanted = desired(config(), FACTS)
    found = as_found([r for r in wanted if r.kind is Kind.AUTHORIZATION], managed=False)
    change = next(c for c in plan(wanted, found) if c.kind is Kind.AUTHORIZATION)
    assert change.action is Action.KEEP


def test_a_different_policy_made_by_hand_gets_certsyncs_own_beside_it() -> None:
    wanted = desired(config(), FACTS)
    policy = next(r for r in wanted if r.kind is Kind.POLICY)
    other = Found(policy.kind, policy.name, {**policy.spec, "roles": ["Reader"]}, managed=False)
    change = next(c for c in plan(wanted, {other.key: other}) if (c.kind, c.name) == policy.key)
    assert change.action is Action.CREATE
    assert change.found is None


def test_a_changed_link_is_replaced() -> None:
    wanted = desired(config(), FACTS)
    link = next(r for r in wanted if r.kind is Kind.LINK)
    stale = Found(link.kind, link.name, {**link.spec, "crn": "crn:old"}, managed=True)
    change = next(c for c in plan(wanted, {stale.key: stale}) if (c.kind, c.name) == link.key)
    assert change.action is Action.REPLACE
    assert change.reasons == ("crn: 'crn:old' -> " + repr(FACTS.project_crn),)


def test_destroy_deletes_only_what_certsync_made_newest_first() -> None:
    wanted = desired(config(), FACTS)
    ours = as_found(wanted)
    theirs = Found(Kind.CONFIG_MAP, "certsync-mappings", {}, managed=False)
    changes = teardown([*[f for f in ours.values() if f.kind is not Kind.CONFIG_MAP], theirs])
    assert changes[0].kind is Kind.SUBSCRIPTION
    assert changes[-1].kind is Kind.PROFILE
    leave = [c for c in changes if c.action is Action.LEAVE]
    assert [(c.kind, c.name) for c in leave] == [(Kind.CONFIG_MAP, "certsync-mappings")]


def test_the_safety_net_is_a_command_to_run() -> None:
    schedule, alerts = manual_steps(config())
    assert "ibmcloud ce subscription cron create --name certsync-nightly" in schedule
    assert "--schedule '17 3 * * *'" in schedule
    assert "topic 'certsync-alerts'" in alerts
    assert manual_steps(replace(config(), schedule=None, alerts=False)) == []


def test_the_plan_reads_as_a_diff() -> None:
    wanted = desired(config(), FACTS)
    found = as_found([r for r in wanted if r.kind is not Kind.CONFIG_MAP])
    text = plan_text(Plan(plan(wanted, found), []), "certsync plan")
    assert "    + create   Code Engine config map 'certsync-mappings' (1 mapping(s))" in text
    assert "Plan: 1 to create, 0 to change, 0 to delete" in text


def test_alerts_get_a_source_a_topic_and_the_job_publishes_as_the_profile() -> None:
    before = by_key(desired(config(), FACTS))
    env = {
        v.get("name"): v.get("value")
        for v in before[(Kind.JOB, "certsync")].spec["run_env_variables"]
    }
    assert env["EVENT_NOTIFICATIONS_AUTH_TYPE"] == "container"
    assert env["CERTSYNC_EN_INSTANCE_ID"] == EN
    assert (Kind.SOURCE, "certsync-alerts") in before
    policy = before[(Kind.POLICY, "event-notifications")].spec
    assert policy["roles"] == ["Event Notification Publisher"]
    after = by_key(desired(config(), FACTS, alert_source="src-1:api"))
    env = {
        v.get("name"): v.get("value")
        for v in after[(Kind.JOB, "certsync")].spec["run_env_variables"]
    }
    assert env["CERTSYNC_EN_SOURCE_ID"] == "src-1:api"
    topic = after[(Kind.TOPIC, "certsync-alerts")].spec
    assert topic["sources"][0]["id"] == "src-1:api"


def test_alerts_can_be_turned_off() -> None:
    wanted = by_key(desired(config(alerts=False), FACTS))
    assert not any(kind is Kind.SOURCE for kind, _ in wanted)
    assert (Kind.POLICY, "event-notifications") not in wanted
    env = {v.get("name") for v in wanted[(Kind.JOB, "certsync")].spec["run_env_variables"]}
    assert "CERTSYNC_EN_SOURCE_ID" not in env


def test_targets_in_other_projects_get_writer_there_too() -> None:
    mappings = [
        {"secret": "11111111-2222-4333-8444-555555555555", "target": "tls-www"},
        {
            "secret": "11111111-2222-4333-8444-555555555555",
            "target": "tls-www",
            "project": "0e3bd9ec-1c4f-4d3e-9c3e-2a4c7d0f5a11",
            "region": "eu-de",
        },
    ]
    wanted = by_key(desired(config(mappings=mappings), FACTS))
    policy = wanted[(Kind.POLICY, "codeengine:0e3bd9ec-1c4f-4d3e-9c3e-2a4c7d0f5a11")].spec
    assert policy["service_instance"] == "0e3bd9ec-1c4f-4d3e-9c3e-2a4c7d0f5a11"
    assert policy["roles"] == ["Writer"]
    assert wanted[(Kind.POLICY, "codeengine")].spec["service_instance"] == "proj-id"
