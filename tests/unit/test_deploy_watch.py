"""certsync.yaml's `code_engine.urls` and `watch_unmanaged`: parsed, and given to the job."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deploy.config import parse
from deploy.inventory_cli import chosen_regions
from deploy.workloads import code_engine_resources
from shared.errors import ConfigError
from tests.builders import deploy_config
from tests.unit.test_deploy_plan import FACTS

EU = "https://api.eu-de.codeengine.example/v2"


def job_env(**changes: Any) -> dict[str, str]:
    config = parse(deploy_config(**changes))
    job = next(r for r in code_engine_resources(config, FACTS, None) if r.name == "certsync")
    return {v["name"]: v["value"] for v in job.spec["run_env_variables"] if v.get("name")}


def test_watch_unmanaged_is_off_by_default_and_sets_the_jobs_variable() -> None:
    assert "CERTSYNC_WATCH_UNMANAGED" not in job_env()
    assert job_env(watch_unmanaged=True)["CERTSYNC_WATCH_UNMANAGED"] == "true"
    with pytest.raises(ConfigError, match="'watch_unmanaged' has value 'yes'"):
        parse(deploy_config(watch_unmanaged="yes"))


def test_code_engine_urls_name_other_regions_endpoints_for_deploy_and_the_job() -> None:
    ce = {"project": "my-project", "urls": {"eu-de": EU + "/"}}
    config = parse(deploy_config(code_engine=ce))
    assert config.ce_url_for("eu-de") == EU
    assert config.ce_url_for("jp-tok") == "https://api.jp-tok.codeengine.cloud.ibm.com/v2"
    assert config.ce_url_for("us-south") == config.ce_url
    assert json.loads(job_env(code_engine=ce)["CERTSYNC_CODE_ENGINE_URLS"]) == {"eu-de": EU}
    bad = {"project": "my-project", "urls": {"eu-de": "ftp://x"}}
    with pytest.raises(ConfigError, match=r"'code_engine\.urls\.eu-de' has value 'ftp://x'"):
        parse(deploy_config(code_engine=bad))


def test_inventory_regions_default_to_the_configs_and_its_mappings() -> None:
    mappings = [
        {"secret": "11111111-2222-4333-8444-555555555555", "target": "tls-a"},
        {
            "secret": "11111111-2222-4333-8444-555555555555",
            "target": "tls-b",
            "project": "66666666-2222-4333-8444-555555555555",
            "region": "eu-de",
        },
    ]
    config = parse(deploy_config(mappings=mappings))
    assert chosen_regions(None, config) == ["us-south", "eu-de"]
    assert chosen_regions("jp-tok, eu-de", config) == ["jp-tok", "eu-de"]
    assert "eu-es" in chosen_regions("all", config)
    with pytest.raises(ConfigError, match="--regions has value 'mars'"):
        chosen_regions("mars", config)
