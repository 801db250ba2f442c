"""certsync.yaml mistakes named with their fix (issue 17: items 4, 6, 11, 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deploy.config import load, parse
from deploy.desired import desired
from deploy.model import Facts, Kind
from shared.errors import ConfigError
from tests.builders import DEPLOY_SM
from tests.builders import deploy_config as raw

FACTS = Facts(
    account_id="acct",
    project_id="11111111-2222-4333-8444-000000000001",
    project_name="my-project",
    project_crn="crn:v1:bluemix:public:codeengine:us-south:a/acct:p::",
    sm_crn=f"crn:v1:bluemix:public:secrets-manager:us-south:a/acct:{DEPLOY_SM}::",
    en_crn="crn:v1:bluemix:public:event-notifications:us-south:a/acct:e::",
    sm_url="https://sm.example",
    en_url="https://en.example",
)


def problems(value: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(value, "certsync.yaml")
    return caught.value.problems


def load_problems(path: Path, text: str) -> list[str]:
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    return caught.value.problems


# -- 4: unknown keys at every depth, unknown variables --------------------------------------
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"code_engine": {"project": "p", "ulr": "https://x"}},
            "unknown key 'code_engine.ulr'; did you mean 'code_engine.url'?",
        ),
        ({"regoin": "us-south"}, "unknown key 'regoin'; did you mean 'region'?"),
        (
            {"images": {"job": "docker.io/a/j:1", "trigger": "docker.io/a/t:1", "tirgger": 1}},
            "unknown key 'images.tirgger'; did you mean 'images.trigger'?",
        ),
        ({"job": {"cpu": "0.25", "memroy": "1G"}}, "did you mean 'job.memory'?"),
        (
            {"secrets_manager": {"instance_id": DEPLOY_SM, "instanceid": DEPLOY_SM}},
            "unknown key 'secrets_manager.instanceid'; did you mean 'secrets_manager.instance_id'?",
        ),
        (
            {"mappings": [{"secret": "11111111-2222-4333-8444-555555555555", "tagret": "x"}]},
            "unknown key 'tagret'; did you mean 'target'?",
        ),
    ],
)
def test_an_unknown_key_at_any_depth_is_named_with_a_suggestion(
    changes: dict[str, Any], expected: str
) -> None:
    assert any(expected in p for p in problems(raw(**changes)))


def test_an_unknown_key_without_a_close_one_lists_the_known_keys() -> None:
    [problem] = problems(raw(event_notifications={"instance_id": DEPLOY_SM, "zz": 1}))
    assert "unknown key 'event_notifications.zz'; known keys here: instance_id, url" in problem


def test_the_keys_other_parts_of_certsync_read_are_known() -> None:
    # code_engine.urls and watch_unmanaged (issue 19) are not unknown keys
    urls = {"eu-de": "https://api.eu-de.codeengine.cloud.ibm.com/v2"}
    found = "\n".join(
        problems(raw(code_engine={"project": "p", "urls": urls}, watch_unmanaged=True, x=1))
    )
    assert "unknown key 'x'" in found
    assert "'code_engine.urls'" not in found
    assert "'watch_unmanaged'" not in found


@pytest.mark.parametrize("component", ["job", "trigger"])
def test_a_variable_that_looks_like_certsyncs_but_is_not_is_named(component: str) -> None:
    env = {component: {"CERTSYNC_CONCURENCY": "4", "CERTSYNC_KEEP_RUN": "5", "HTTPS_PROXY": "x"}}
    found = problems(raw(env=env))
    assert (
        f"certsync.yaml: unknown variable 'env.{component}.CERTSYNC_KEEP_RUN': the {component} "
        "does not read it; did you mean 'CERTSYNC_KEEP_RUNS'?"
    ) in found
    if component == "job":
        assert any("did you mean 'CERTSYNC_CONCURRENCY'?" in p for p in found)
    assert not any("HTTPS_PROXY" in p for p in found)  # not certsync's: the user's business


def test_a_lookalike_of_a_service_variable_is_named_too() -> None:
    [problem] = problems(raw(env={"job": {"SECRETS_MANAGER_ULR": "https://x"}}))
    assert "'env.job.SECRETS_MANAGER_ULR'" in problem
    assert "did you mean 'SECRETS_MANAGER_URL'?" in problem


def test_known_variables_pass() -> None:
    config = parse(
        raw(env={"job": {"CERTSYNC_CONCURRENCY": 4}, "trigger": {"CERTSYNC_KEEP_RUNS": 3}})
    )
    assert config.job_env == {"CERTSYNC_CONCURRENCY": "4"}


# -- 6: YAML errors with line and column; CRNs pasted unquoted ----------------------------
def test_a_yaml_error_gives_its_line_and_column(tmp_path: Path) -> None:
    [problem] = load_problems(tmp_path / "c.yaml", "name: certsync\nregion: [us-south\n")
    assert problem.startswith(f"{tmp_path / 'c.yaml'}:3:1: not valid YAML (line 3, column 1)")


def test_an_unquoted_crn_gets_a_hint_to_quote_it_or_use_its_guid(tmp_path: Path) -> None:
    crn = f"crn:v1:bluemix:public:secrets-manager:us-south:a/acct:{DEPLOY_SM}::"
    text = f"name: certsync\nsecrets_manager:\n  instance_id: {crn}\nregion: us-south\n"
    [problem] = load_problems(tmp_path / "c.yaml", text)
    assert ":3:" in problem
    assert "put it in double quotes" in problem
    assert f"or write the GUID inside it ({DEPLOY_SM})" in problem


def test_a_crn_that_yaml_read_as_a_mapping_gets_the_same_hint() -> None:
    crn_key = f"crn:v1:bluemix:public:secrets-manager:us-south:a/acct:{DEPLOY_SM}:"
    [problem] = problems(raw(secrets_manager={"instance_id": {crn_key: None}}))
    assert "'secrets_manager.instance_id' holds a mapping" in problem
    assert DEPLOY_SM in problem


# -- 11: one expiry threshold ---------------------------------------------------------------
def job_env(config_raw: dict[str, Any]) -> dict[str, str]:
    [job] = [r for r in desired(parse(config_raw), FACTS) if r.kind is Kind.JOB]
    return {e["name"]: e["value"] for e in job.spec["run_env_variables"] if e["type"] == "literal"}


def test_expiry_warn_days_reaches_the_job_and_defaults_to_the_jobs_default() -> None:
    assert parse(raw()).expiry_warn_days == 21
    assert job_env(raw())["CERTSYNC_EXPIRY_WARN_DAYS"] == "21"
    assert job_env(raw(expiry_warn_days=45))["CERTSYNC_EXPIRY_WARN_DAYS"] == "45"
    given_as_env = raw(env={"job": {"CERTSYNC_EXPIRY_WARN_DAYS": "30"}})
    assert parse(given_as_env).expiry_warn_days == 30  # doctor reads what the job reads


def test_expiry_warn_days_is_checked_and_must_agree_with_env_job() -> None:
    assert any("'expiry_warn_days'" in p for p in problems(raw(expiry_warn_days=0)))
    assert any("'expiry_warn_days'" in p for p in problems(raw(expiry_warn_days="soon")))
    both = raw(expiry_warn_days=10, env={"job": {"CERTSYNC_EXPIRY_WARN_DAYS": "30"}})
    assert any("set 'expiry_warn_days' alone" in p for p in problems(both))


# -- 13: sizing -------------------------------------------------------------------------------
def workload(config_raw: dict[str, Any], kind: Kind) -> dict[str, Any]:
    [found] = [r for r in desired(parse(config_raw), FACTS) if r.kind is kind]
    return {k: found.spec[k] for k in ("scale_cpu_limit", "scale_memory_limit")}


def test_the_job_and_the_trigger_get_their_measured_sizes() -> None:
    assert workload(raw(), Kind.JOB) == {"scale_cpu_limit": "0.125", "scale_memory_limit": "0.25G"}
    assert workload(raw(), Kind.APP) == {"scale_cpu_limit": "0.5", "scale_memory_limit": "1G"}


def test_sizes_can_be_overridden_with_a_supported_combination() -> None:
    sized = raw(job={"cpu": 1, "memory": "4G"}, trigger={"cpu": "0.25", "memory": "500M"})
    assert workload(sized, Kind.JOB) == {"scale_cpu_limit": "1", "scale_memory_limit": "4G"}
    assert workload(sized, Kind.APP) == {"scale_cpu_limit": "0.25", "scale_memory_limit": "0.5G"}


def test_an_unsupported_combination_is_named_with_the_ones_that_are() -> None:
    [problem] = problems(raw(job={"cpu": "0.125", "memory": "4G"}))
    assert "'job.cpu' 0.125 with 'job.memory' 4G is not a combination" in problem
    assert "use 0.25G, 0.5G, 1G" in problem
    assert any("'trigger.cpu'" in p for p in problems(raw(trigger={"cpu": "3"})))
    assert any("'trigger.memory'" in p for p in problems(raw(trigger={"memory": "1GiB"})))
