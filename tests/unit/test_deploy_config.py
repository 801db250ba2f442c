"""deploy/config.py: the config file is read once and every problem is named by its key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.config import Config, load, parse
from shared.errors import ConfigError
from tests.builders import DEPLOY_SM
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
    assert config.sm_url == f"https://{SM}.us-south.secrets-manager.appdomain.cloud"
    assert config.en_url == (
        "https://us-south.event-notifications.cloud.ibm.com/event-notifications"
    )
    assert config.iam_url == "https://iam.cloud.ibm.com"


def test_endpoints_can_be_overridden() -> None:
    config = parse(
        raw(
            iam_url="http://127.0.0.1:9/",
            code_engine={"project": "p", "url": "http://127.0.0.1:9/v2"},
        )
    )
    assert config.iam_url == "http://127.0.0.1:9"
    assert config.ce_url == "http://127.0.0.1:9/v2"


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
    config = parse(raw(delivery="job", images={"job": "icr.io/ns/certsync-job:1"}))
    assert config.delivery == "job"


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
    assert any("'trigger'" in p for p in problems(raw(trigger={"max_instances": 3})))


def test_mappings_json_is_what_the_job_reads() -> None:
    config: Config = parse(raw())
    assert json.loads(config.mappings_json) == raw()["mappings"]


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
