"""Targets in several projects and regions: mapping keys, settings, one client per region."""

import json

import pytest

from job.code_engine import Sites
from job.mappings import SecretMapping, parse_mappings
from job.settings import Settings
from shared.errors import ConfigError
from shared.retry import RetryPolicy
from tests.builders import with_changes

ID1 = "0b5571f7-21e6-42b7-91c5-3f5ac9793a46"
HOME = "11111111-2222-4333-8444-555555555555"
OTHER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
ENV = {
    "CE_PROJECT_ID": HOME,
    "CE_REGION": "us-south",
    "CODE_ENGINE_URL": "http://127.0.0.1:9/v2",
    "SECRETS_MANAGER_URL": "https://inst.us-south.secrets-manager.appdomain.cloud",
    "SECRETS_MANAGER_AUTH_TYPE": "container",
    "SECRETS_MANAGER_IAM_PROFILE_NAME": "certsync",
    "CODE_ENGINE_AUTH_TYPE": "container",
    "CODE_ENGINE_IAM_PROFILE_NAME": "certsync",
}


def settings(mappings, **changes):
    env = with_changes(ENV, {"CERTSYNC_MAPPINGS": json.dumps(mappings), **changes})
    return Settings.from_env(env)


def test_a_mapping_may_name_its_project_and_region():
    (m,) = parse_mappings(
        json.dumps([{"secret": ID1, "target": "tls-a", "project": OTHER, "region": "eu-de"}]),
        source="M",
    )
    assert (m.project, m.region) == (OTHER, "eu-de")
    assert m.key == f"eu-de.{OTHER}.tls-a"
    assert SecretMapping(ID1, "tls-a").key == "tls-a"


@pytest.mark.parametrize(
    ("field", "value"), [("project", "not-a-uuid"), ("region", "EU DE"), ("region", 5)]
)
def test_a_bad_project_or_region_is_named(field, value):
    with pytest.raises(ValueError, match=f"'{field}'"):
        parse_mappings(json.dumps([{"secret": ID1, "target": "t", field: value}]), source="M")


def test_the_jobs_own_project_and_region_are_one_spelling():
    s = settings(
        [
            {"secret": ID1, "target": "tls-a", "project": HOME, "region": "us-south"},
            {"secret": ID1, "target": "tls-b", "region": "eu-de"},
        ]
    )
    assert [m.key for m in s.mappings] == ["tls-a", "eu-de.-.tls-b"]
    assert s.where(s.mappings[1]) == {"project": HOME, "region": "eu-de"}


def test_the_same_target_written_two_ways_is_a_duplicate():
    with pytest.raises(ConfigError) as info:
        settings(
            [
                {"secret": ID1, "target": "tls-a"},
                {"secret": ID1, "target": "tls-a", "project": HOME},
            ]
        )
    assert any("appears twice" in p for p in info.value.problems)


def test_the_same_name_in_two_projects_is_two_targets():
    s = settings(
        [{"secret": ID1, "target": "tls-a"}, {"secret": ID1, "target": "tls-a", "project": OTHER}]
    )
    assert len(s.mappings) == 2


def test_region_urls_default_to_the_regional_endpoint_unless_configured():
    s = settings(
        [{"secret": ID1, "target": "tls-a"}],
        CERTSYNC_CODE_ENGINE_URLS=json.dumps({"eu-de": "http://127.0.0.1:8/v2/"}),
    )
    assert s.code_engine_url_for("") == "http://127.0.0.1:9/v2"
    assert s.code_engine_url_for("eu-de") == "http://127.0.0.1:8/v2"
    assert s.code_engine_url_for("jp-tok") == "https://api.jp-tok.codeengine.cloud.ibm.com/v2"


def test_the_region_comes_from_the_code_engine_url_without_ce_region():
    s = settings(
        [{"secret": ID1, "target": "t"}],
        CE_REGION=None,
        CODE_ENGINE_URL="https://api.eu-gb.codeengine.cloud.ibm.com/v2",
    )
    assert s.region == "eu-gb"


@pytest.mark.parametrize("value", ["[]", "{", '{"eu-de": 5}', '{"eu-de": "ftp://x"}'])
def test_bad_code_engine_urls_are_named(value):
    with pytest.raises(ConfigError) as info:
        settings([{"secret": ID1, "target": "t"}], CERTSYNC_CODE_ENGINE_URLS=value)
    assert any("CERTSYNC_CODE_ENGINE_URLS" in p for p in info.value.problems)


def test_discovery_needs_no_explicit_mappings():
    env = with_changes(ENV, {"CERTSYNC_DISCOVER": "true", "CERTSYNC_DISCOVERY_LABEL": "web"})
    s = Settings.from_env(env)
    assert (s.discover, s.discovery_label, s.mappings) == (True, "web", ())
    with pytest.raises(ConfigError, match="CERTSYNC_DISCOVER"):
        Settings.from_env(ENV)


def test_one_client_per_region_and_one_site_per_project_and_region():
    built: list[str] = []

    def client(url):
        built.append(url)
        return object()

    sites = Sites(
        project_id=HOME,
        url_for=lambda region: f"http://{region or 'home'}/v2",
        client=client,
        policy=RetryPolicy(attempts=1, total_seconds=1),
    )
    a = sites.site(SecretMapping(ID1, "a"))
    b = sites.site(SecretMapping(ID1, "b", project=OTHER))
    c = sites.site(SecretMapping(ID1, "c", project=OTHER, region="eu-de"))
    assert sites.site(SecretMapping(ID1, "d")) is a
    assert len({id(a), id(b), id(c)}) == 3
    assert built == ["http://home/v2", "http://eu-de/v2"]
