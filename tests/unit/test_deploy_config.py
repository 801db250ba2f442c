"""deploy/config.py: the config file is read once and every problem is named by its key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.config import Config, load, parse
from shared.errors import ConfigError
from tests.builders import DEPLOY_EN, DEPLOY_SM
from tests.builders import deploy_config as raw

ROOT = Path(__file__).resolve().parents[2]
SM = DEPLOY_SM


def problems(value: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(value, "certsync.yaml")
    return caught.value.problems


def test_the_example_in_the_repository_is_valid() -> None:
    config = load(ROOT / "certsync.example.yaml")
    assert config.name == "certsync"
    assert config.delivery == "webhook"
    assert config.schedule == "17 3 * * *"
    assert len(config.mappings) == 2


def test_defaults_name_resources_and_derive_public_endpoints() -> None:
    config = parse(raw())
    assert (config.job_name, config.app_name, config.config_map_name) == (
        "certsync",
        "certsync-trigger",
        "certsync-mappings",
    )
    assert config.ce_url == "https://api.us-south.codeengine.cloud.ibm.com/v2"
    # Secrets Manager's and Event Notifications' come from their instances' regions (looked up)
    assert (config.secrets_manager_url, config.event_notifications_url) == (None, None)
    assert config.iam_url == "https://iam.cloud.ibm.com"
    assert config.resource_controller_url == "https://resource-controller.cloud.ibm.com"


def test_endpoints_can_be_overridden() -> None:
    config = parse(
        raw(
            iam_url="http://127.0.0.1:9/",
            code_engine={"project": "p", "url": "http://127.0.0.1:9/v2"},
        )
    )
    assert config.iam_url == "http://127.0.0.1:9"
    assert config.ce_url == "http://127.0.0.1:9/v2"
    rc = parse(raw(resource_controller_url="https://private.resource-controller.cloud.ibm.com/"))
    assert rc.resource_controller_url == "https://private.resource-controller.cloud.ibm.com"


def test_a_mistyped_region_is_named_with_the_regions_code_engine_runs_in() -> None:
    [problem] = problems(raw(region="us-southh"))
    assert "'region' has value 'us-southh'" in problem
    # ibm-cloud-docs/codeengine regions.md
    for region in ("au-syd", "br-sao", "ca-tor", "eu-de", "eu-es", "eu-gb", "in-che", "jp-osa"):
        assert region in problem
    assert "us-east, us-south (" in problem
    # a region where Event Notifications runs but Code Engine does not
    assert any("'region'" in p for p in problems(raw(region="ca-mon")))


def test_an_instance_may_be_named_by_its_crn() -> None:
    crn = f"crn:v1:bluemix:public:secrets-manager:eu-de:a/acct:{SM}::"
    en_crn = f"crn:v1:bluemix:public:event-notifications:eu-gb:a/acct:{DEPLOY_EN}::"
    config = parse(
        raw(secrets_manager={"instance_id": crn}, event_notifications={"instance_id": en_crn})
    )
    assert (config.sm_instance, config.sm_instance_crn) == (SM, crn)
    assert (config.en_instance, config.en_instance_crn) == (DEPLOY_EN, en_crn)
    assert parse(raw()).sm_instance_crn is None


def test_an_instance_crn_of_another_service_or_region_is_named() -> None:
    wrong_service = f"crn:v1:bluemix:public:event-notifications:eu-de:a/acct:{SM}::"
    [problem] = problems(raw(secrets_manager={"instance_id": wrong_service}))
    assert "secrets_manager.instance_id" in problem
    assert "'event-notifications'" in problem
    nowhere = f"crn:v1:bluemix:public:event-notifications:mars-1:a/acct:{DEPLOY_EN}::"
    [problem] = problems(raw(event_notifications={"instance_id": nowhere}))
    assert "event_notifications.instance_id" in problem
    assert "'mars-1'" in problem
    assert "in-mum" in problem  # the regions Event Notifications runs in are named
    secret = f"crn:v1:bluemix:public:secrets-manager:eu-de:a/acct:{SM}:secret:{DEPLOY_EN}"
    assert any(
        "GUID or its CRN" in p for p in problems(raw(secrets_manager={"instance_id": secret}))
    )


def test_every_problem_is_reported_at_once_naming_its_key() -> None:
    found = problems(
        raw(
            region="Dallas",
            secrets_manager={"instance_id": "crn:v1:bluemix:public:secrets-manager:x"},
            event_notifications={},
            delivery="email",
            schedule="every night",
            surprise=True,
        )
    )
    text = "\n".join(found)
    for key in (
        "'region'",
        "secrets_manager.instance_id",
        "event_notifications.instance_id",
        "'delivery'",
        "'schedule'",
        "surprise",
    ):
        assert key in text
    assert all(p.startswith("certsync.yaml: ") for p in found)


def test_mappings_are_checked_by_the_jobs_own_rules() -> None:
    found = problems(raw(mappings=[{"secret": "a", "target": "Not_Valid"}]))
    assert any("'target'" in p and "Not_Valid" in p for p in found)
    assert problems(raw(mappings=[])) == [
        "certsync.yaml: 'mappings' must be a non-empty list of {secret: ..., target: ...}"
    ]


def test_exactly_one_image_source() -> None:
    both = raw(
        build={"source": "https://github.com/x/certsync", "registry": "r", "registry_secret": "s"}
    )
    assert any("exactly one of 'images'" in p for p in problems(both))
    assert any("exactly one of 'images'" in p for p in problems(raw(images=None)))


def test_a_build_names_both_images_from_the_registry() -> None:
    config = parse(
        raw(
            images=None,
            build={
                "source": "https://github.com/x/certsync",
                "registry": "private.us.icr.io/ns/",
                "registry_secret": "icr-push",
            },
        )
    )
    assert config.build is not None
    assert config.job_image == "private.us.icr.io/ns/certsync-job:latest"
    assert config.trigger_image == "private.us.icr.io/ns/certsync-trigger:latest"
    assert config.build.revision == "main"


def test_the_job_delivery_needs_no_trigger_image() -> None:
    images = {"job": "icr.io/ns/certsync-job:1", "registry_secret": "icr-pull"}
    config = parse(raw(delivery="job", images=images))
    assert config.delivery == "job"


def test_images_are_pulled_with_the_registry_secret_or_the_builds() -> None:
    assert parse(raw()).image_secret == "certsync-registry"
    build = {
        "source": "https://github.com/x/certsync",
        "registry": "us.icr.io/ns",
        "registry_secret": "push",
    }
    assert parse(raw(images=None, build=build)).image_secret == "push"
    public = {"job": "docker.io/me/certsync-job:1", "trigger": "icr.io/codeengine/trigger"}
    assert parse(raw(images=public)).image_secret is None


@pytest.mark.parametrize("host", ["icr.io", "us.icr.io", "private.de.icr.io"])
def test_an_image_in_ibm_cloud_container_registry_needs_a_registry_secret(host: str) -> None:
    images = {"job": f"{host}/ns/certsync-job:1", "trigger": "docker.io/me/certsync-trigger:1"}
    (problem,) = problems(raw(images=images))
    assert f"'images.job' ({host}/ns/certsync-job:1) is in IBM Cloud Container" in problem
    assert "set 'images.registry_secret'" in problem
    assert f"ibmcloud ce registry create --name certsync-registry --server {host}" in problem


def test_schedule_null_means_no_safety_net() -> None:
    assert parse(raw(schedule=None) | {"schedule": None}).schedule is None


def test_names_leave_room_for_suffixes() -> None:
    assert any("'name'" in p for p in problems(raw(name="x" * 60)))
    assert any("'name'" in p for p in problems(raw(name="Certsync")))


def test_trigger_min_instances_defaults_to_scaling_to_zero() -> None:
    assert parse(raw()).trigger_min_instances == 0
    assert parse(raw(trigger={"min_instances": 1})).trigger_min_instances == 1


@pytest.mark.parametrize("value", [-1, 11, "1", True, 1.5])
def test_trigger_min_instances_is_a_whole_number_up_to_the_apps_maximum(value: Any) -> None:
    assert any(
        "'trigger.min_instances'" in p for p in problems(raw(trigger={"min_instances": value}))
    )


def test_unknown_trigger_keys_are_named() -> None:
    assert any(
        "unknown key 'trigger.max_instances'" in p
        for p in problems(raw(trigger={"max_instances": 3}))
    )


def test_mappings_json_is_what_the_job_reads() -> None:
    config: Config = parse(raw())
    assert json.loads(config.mappings_json) == raw()["mappings"]


def test_the_config_map_keeps_the_mappings_as_written_and_config_holds_them_parsed() -> None:
    secret = "11111111-2222-4333-8444-555555555555"
    crn = f"crn:v1:bluemix:public:secrets-manager:us-south:a/0123abcd:{SM}:secret:{secret}"
    project = "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"
    written = [
        {"target": "tls-www", "secret": crn, "verify": False},
        {"secret": "11111111-2222-4333-8444-666666666666", "target": "tls-api", "project": project},
    ]
    config: Config = parse(raw(mappings=written))
    assert config.mappings_json == json.dumps(written, separators=(",", ":"), sort_keys=True)
    assert [(m.secret_id, m.target, m.verify, m.project) for m in config.mappings] == [
        ("11111111-2222-4333-8444-555555555555", "tls-www", False, ""),
        ("11111111-2222-4333-8444-666666666666", "tls-api", True, project.lower()),
    ]


def test_unreadable_and_invalid_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("region: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text(yaml.safe_dump(["a"]))
    with pytest.raises(ConfigError, match="top level"):
        load(listing)
