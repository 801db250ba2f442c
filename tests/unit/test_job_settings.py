import json

import pytest

from job.settings import Settings
from shared.errors import ConfigError
from tests.builders import notification, secret_entry, with_changes

ID1 = "0b5571f7-21e6-42b7-91c5-3f5ac9793a46"
ENV = {
    "CE_PROJECT_ID": "p-1",
    "CE_API_BASE_URL": "https://api.us-south.codeengine.cloud.ibm.com",
    "SECRETS_MANAGER_URL": "https://inst.us-south.secrets-manager.appdomain.cloud",
    "SECRETS_MANAGER_AUTH_TYPE": "container",
    "SECRETS_MANAGER_IAM_PROFILE_NAME": "certsync",
    "CODE_ENGINE_AUTH_TYPE": "iam",
    "CODE_ENGINE_APIKEY": "very-secret-api-key",
    "CERTSYNC_MAPPINGS": json.dumps([{"secret": ID1, "target": "tls-a"}]),
}


def settings(**changes):
    return Settings.from_env(with_changes(ENV, changes))


def problems(**changes):
    with pytest.raises(ConfigError) as info:
        settings(**changes)
    return info.value.problems


def test_valid_environment():
    s = settings()
    assert s.code_engine_url == "https://api.us-south.codeengine.cloud.ibm.com/v2"
    assert s.concurrency == 8
    assert s.mappings[0].target == "tls-a"
    assert s.notification is None
    assert "very-secret-api-key" not in repr(s)


def test_every_problem_is_reported_at_once():
    found = problems(CE_PROJECT_ID=None, CERTSYNC_CONCURRENCY="lots", CERTSYNC_MAPPINGS="[")
    assert len(found) == 3
    assert any("CE_PROJECT_ID" in p for p in found)
    assert any("CERTSYNC_CONCURRENCY has value 'lots'" in p for p in found)
    assert any("CERTSYNC_MAPPINGS is not valid JSON" in p for p in found)


def test_mappings_file_json_and_yaml(tmp_path):
    yaml_file = tmp_path / "m.yaml"
    yaml_file.write_text(f"- secret: {ID1}\n  target: tls-y\n")
    s = settings(CERTSYNC_MAPPINGS=None, CERTSYNC_MAPPINGS_FILE=str(yaml_file))
    assert s.mappings[0].target == "tls-y"


def test_missing_mappings_file_is_named(tmp_path):
    found = problems(CERTSYNC_MAPPINGS=None, CERTSYNC_MAPPINGS_FILE=str(tmp_path / "nope.json"))
    assert found == [
        f"CERTSYNC_MAPPINGS_FILE has value {str(tmp_path / 'nope.json')!r}. "
        "Cannot read it: No such file or directory."
    ]


def test_both_mapping_sources_is_a_problem(tmp_path):
    assert "both set" in problems(CERTSYNC_MAPPINGS_FILE=str(tmp_path))[0]


def test_secret_ids_from_env_accept_crns():
    crn = f"crn:v1:bluemix:public:secrets-manager:us-south:a/acct:inst:secret:{ID1}"
    assert settings(CERTSYNC_SECRET_IDS=f" {crn} ,").secret_ids == (ID1,)


def test_cli_ids_take_precedence():
    s = Settings.from_env({**ENV, "CERTSYNC_SECRET_IDS": "other"}, cli_secret_ids=[ID1])
    assert (s.secret_ids, s.secret_ids_from) == ((ID1,), "--secret")


def test_malformed_ibmendata_is_a_config_problem():
    assert problems(ibmendata="{not json")[0].startswith("ibmendata is not an Event Notifications")


def test_ibmendata_is_parsed():
    event = notification(secrets=[secret_entry(ID1)])
    assert settings(ibmendata=json.dumps(event)).notification.secret_ids == (ID1,)


def test_a_trailing_api_path_on_the_secrets_manager_url_is_dropped():
    url = "https://inst.us-south.secrets-manager.appdomain.cloud"
    assert settings(SECRETS_MANAGER_URL=f"{url}/api/").secrets_manager_url == url


def test_on_code_engine_the_job_knows_its_name_and_run_retention():
    s = settings(CE_JOB="certsync", CE_JOBRUN="certsync-abc", CERTSYNC_KEEP_RUNS="25")
    assert (s.job_name, s.jobrun) == ("certsync", "certsync-abc")
    assert (s.retention.recent, s.retention.failed_days) == (25, 3)
    assert settings().job_name is None


def test_allow_rollback_needs_chosen_secrets():
    with pytest.raises(ConfigError) as info:
        Settings.from_env(ENV, allow_rollback=True)
    assert ["--allow-rollback needs" in p for p in info.value.problems] == [True]
    chosen = Settings.from_env(ENV, cli_secret_ids=[ID1], allow_rollback=True)
    assert chosen.allow_rollback is True
    assert settings().allow_rollback is False
