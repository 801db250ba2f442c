"""deploy/workloads.py: what runs in Code Engine for a config, values in, values out."""

from __future__ import annotations

import json
from typing import Any

from deploy.config import Config, parse
from deploy.model import MARKER_KEY, Kind, Resource
from deploy.workloads import PUBLIC_IAM, SOURCE_ID_UNKNOWN, code_engine_resources, sort_env
from shared import expiry
from tests.builders import DEPLOY_EN, DEPLOY_FACTS, deploy_config

FACTS = DEPLOY_FACTS
BUILD = {
    "source": "https://github.com/example/certsync",
    "registry": "private.us.icr.io/my-namespace",
    "registry_secret": "certsync-push",
}


def config(**changes: Any) -> Config:
    return parse(deploy_config(**changes))


def resources(cfg: Config, alert_source: str | None = None) -> dict[tuple[Kind, str], Resource]:
    return {r.key: r for r in code_engine_resources(cfg, FACTS, alert_source)}


def literals(resource: Resource) -> dict[str, str]:
    return {
        v["name"]: v["value"] for v in resource.spec["run_env_variables"] if v["type"] == "literal"
    }


def references(resource: Resource) -> list[tuple[str, str]]:
    env = resource.spec["run_env_variables"]
    return [(v["type"], v["reference"]) for v in env if v["type"] != "literal"]


def test_webhook_delivery_runs_the_config_map_token_job_and_app_in_that_order() -> None:
    made = code_engine_resources(config(), FACTS, None)
    assert [r.key for r in made] == [
        (Kind.CONFIG_MAP, "certsync-mappings"),
        (Kind.SECRET, "certsync-webhook"),
        (Kind.JOB, "certsync"),
        (Kind.APP, "certsync-trigger"),
    ]


def test_job_delivery_runs_only_the_config_map_and_the_job() -> None:
    made = code_engine_resources(config(delivery="job"), FACTS, None)
    assert [r.key for r in made] == [
        (Kind.CONFIG_MAP, "certsync-mappings"),
        (Kind.JOB, "certsync"),
    ]


def test_the_config_map_holds_the_mappings_and_the_marker() -> None:
    mappings = [
        {"secret": "11111111-2222-4333-8444-555555555555", "target": "tls-www"},
        {"secret": "66666666-7777-4888-9999-000000000000", "target": "tls-api"},
    ]
    made = resources(config(mappings=mappings))[(Kind.CONFIG_MAP, "certsync-mappings")]
    data = made.spec["data"]
    assert data[MARKER_KEY] == "certsync"
    written = json.loads(data["CERTSYNC_MAPPINGS"])
    assert [(m["secret"], m["target"]) for m in written] == [
        (m["secret"], m["target"]) for m in mappings
    ]
    assert made.detail == "2 mapping(s)"


def test_the_token_secret_names_its_keys_and_never_a_value() -> None:
    secret = resources(config())[(Kind.SECRET, "certsync-webhook")]
    assert secret.spec == {
        "format": "generic",
        "keys": sorted(["CERTSYNC_WEBHOOK_TOKEN", MARKER_KEY]),
    }


def test_a_build_config_builds_each_image_it_runs() -> None:
    made = resources(config(images=None, build=BUILD))
    job_build = made[(Kind.BUILD, "certsync-job")].spec
    assert job_build == {
        "output_image": "private.us.icr.io/my-namespace/certsync-job:latest",
        "output_secret": "certsync-push",
        "source_type": "git",
        "source_url": "https://github.com/example/certsync",
        "source_revision": "main",
        "strategy_type": "dockerfile",
        "strategy_spec_file": "Dockerfile.job",
    }
    assert made[(Kind.BUILD, "certsync-trigger")].spec["strategy_spec_file"] == "Dockerfile.trigger"
    job = made[(Kind.JOB, "certsync")].spec
    assert job["image_reference"] == job_build["output_image"]
    assert job["image_secret"] == "certsync-push"
    only_job = resources(config(images=None, build=BUILD, delivery="job"))
    assert [name for kind, name in only_job if kind is Kind.BUILD] == ["certsync-job"]


def test_the_job_authenticates_each_service_as_the_profile_at_its_own_endpoint() -> None:
    env = literals(resources(config(), alert_source="src-1")[(Kind.JOB, "certsync")])
    for prefix in ("SECRETS_MANAGER", "CODE_ENGINE", "EVENT_NOTIFICATIONS"):
        assert env[f"{prefix}_AUTH_TYPE"] == "container"
        assert env[f"{prefix}_IAM_PROFILE_NAME"] == "certsync"
        assert f"{prefix}_AUTH_URL" not in env  # the public IAM: the SDK's default
    assert env["SECRETS_MANAGER_URL"] == FACTS.sm_url
    assert env["EVENT_NOTIFICATIONS_URL"] == FACTS.en_url
    assert env["CERTSYNC_EN_INSTANCE_ID"] == DEPLOY_EN
    assert env["CERTSYNC_EN_SOURCE_ID"] == "src-1"
    assert env[expiry.VARIABLE] == str(expiry.DEFAULT_WARN_DAYS)
    assert env[MARKER_KEY] == "certsync"
    assert "CODE_ENGINE_URL" not in env
    assert "CERTSYNC_WATCH_UNMANAGED" not in env


def test_the_alerts_source_id_is_a_placeholder_until_the_source_exists() -> None:
    env = literals(resources(config())[(Kind.JOB, "certsync")])
    assert env["CERTSYNC_EN_SOURCE_ID"] == SOURCE_ID_UNKNOWN


def test_without_alerts_the_job_knows_nothing_of_event_notifications() -> None:
    env = literals(resources(config(alerts=False))[(Kind.JOB, "certsync")])
    assert not [name for name in env if "EVENT_NOTIFICATIONS" in name or "_EN_" in name]


def test_a_private_iam_and_code_engine_endpoint_reach_both_workloads() -> None:
    iam = "https://private.iam.cloud.ibm.com"
    ce_url = "https://api.private.us-south.codeengine.cloud.ibm.com/v2"
    made = resources(config(iam_url=iam, code_engine={"project": "my-project", "url": ce_url}))
    assert iam != PUBLIC_IAM
    for key in ((Kind.JOB, "certsync"), (Kind.APP, "certsync-trigger")):
        env = literals(made[key])
        assert env["CODE_ENGINE_AUTH_URL"] == iam
        assert env["CODE_ENGINE_URL"] == ce_url


def test_the_job_reads_the_mappings_from_the_config_map() -> None:
    job = resources(config())[(Kind.JOB, "certsync")]
    assert references(job) == [("config_map_full_reference", "certsync-mappings")]


def test_the_job_runs_with_its_token_retries_limit_and_size() -> None:
    spec = resources(config())[(Kind.JOB, "certsync")].spec
    assert spec["image_reference"] == "icr.io/ns/certsync-job:1"
    assert spec["image_secret"] == "certsync-registry"
    assert spec["run_compute_resource_token_enabled"] is True
    assert (spec["scale_retry_limit"], spec["scale_max_execution_time"]) == (2, 900)
    assert (spec["scale_cpu_limit"], spec["scale_memory_limit"]) == ("0.125", "0.25G")


def test_the_job_watches_unmanaged_secrets_and_other_regions_when_asked() -> None:
    urls = {"eu-de": "https://api.eu-de.codeengine.cloud.ibm.com/v2"}
    code_engine = {"project": "my-project", "urls": urls}
    env = literals(
        resources(config(watch_unmanaged=True, code_engine=code_engine))[(Kind.JOB, "certsync")]
    )
    assert env["CERTSYNC_WATCH_UNMANAGED"] == "true"
    assert json.loads(env["CERTSYNC_CODE_ENGINE_URLS"]) == urls


def test_env_from_the_config_wins_over_what_deploy_sets() -> None:
    env_config = {"job": {"SECRETS_MANAGER_URL": "https://private.example"}}
    env = literals(resources(config(env=env_config))[(Kind.JOB, "certsync")])
    assert env["SECRETS_MANAGER_URL"] == "https://private.example"


def test_the_app_admits_only_this_secrets_manager_and_reads_its_token_secret() -> None:
    app = resources(config())[(Kind.APP, "certsync-trigger")]
    env = literals(app)
    assert env["CERTSYNC_ALLOWED_SOURCES"] == FACTS.sm_crn
    assert env["CERTSYNC_JOB_NAME"] == "certsync"
    assert env["CODE_ENGINE_AUTH_TYPE"] == "container"
    assert "SECRETS_MANAGER_URL" not in env  # the trigger reads no certificate
    assert references(app) == [("secret_full_reference", "certsync-webhook")]
    spec = app.spec
    assert spec["image_reference"] == "icr.io/ns/certsync-trigger:1"
    assert (spec["image_port"], spec["scale_min_instances"]) == (8080, 0)
    assert (spec["scale_cpu_limit"], spec["scale_memory_limit"]) == ("0.5", "1G")


def test_min_instances_keeps_the_app_warm() -> None:
    app = resources(config(trigger={"min_instances": 1}))[(Kind.APP, "certsync-trigger")]
    assert app.spec["scale_min_instances"] == 1


def test_env_lists_are_sorted_by_type_name_and_reference() -> None:
    env = [
        {"type": "secret_full_reference", "reference": "b"},
        {"type": "literal", "name": "Z", "value": "1"},
        {"type": "config_map_full_reference", "reference": "a"},
        {"type": "literal", "name": "A", "value": "2"},
    ]
    assert sort_env(env) == [env[2], env[3], env[1], env[0]]
    job = resources(config())[(Kind.JOB, "certsync")]
    assert job.spec["run_env_variables"] == sort_env(job.spec["run_env_variables"])
