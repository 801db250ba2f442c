"""Several projects in several regions, each region at its own base URL, through the SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2, Project, ProjectList

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import (
    APIKEY,
    ENV_IMAGE,
    VERSION,
    api_error,
    error_code,
    tls_data,
)

pytestmark = pytest.mark.integration


def regional(cloud: LocalCloud, region: str) -> CodeEngineV2:
    service = CodeEngineV2(
        authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url), version=VERSION
    )
    service.set_service_url(cloud.code_engine_url_for(region))
    return service


@pytest.fixture
def eu(cloud: LocalCloud) -> Iterator[CodeEngineV2]:
    service = regional(cloud, "eu-de")
    yield service
    service.http_client.close()


def test_each_region_answers_at_its_own_base_url(cloud: LocalCloud) -> None:
    home = cloud.identity.region
    assert cloud.code_engine_url_for(home) == cloud.code_engine_url
    assert cloud.code_engine_url_for("eu-de") == f"{cloud.url}/codeengine/eu-de/v2"
    with pytest.raises(ValueError, match="region"):
        cloud.code_engine_url_for("Europe")


def test_a_region_lists_its_own_projects(
    cloud: LocalCloud, ce: CodeEngineV2, eu: CodeEngineV2
) -> None:
    first = cloud.code_engine.add_project("sites-eu", region="eu-de")
    second = cloud.code_engine.add_project("more-eu", region="eu-de")
    beside = cloud.code_engine.add_project("sites-home")  # the default region
    listed = ProjectList.from_dict(eu.list_projects().get_result())
    assert [p.id for p in listed.projects] == [second, first]  # by name
    assert listed.first.href == f"{cloud.code_engine_url_for('eu-de')}/projects?limit=50"
    at_home = ce.list_projects().get_result()["projects"]
    assert {p["id"] for p in at_home} == {cloud.identity.project_id, beside}
    paged = eu.list_projects(limit=1).get_result()
    assert paged["next"]["start"]


def test_a_project_has_its_own_crn_name_region_and_hrefs(
    cloud: LocalCloud, eu: CodeEngineV2
) -> None:
    pid = cloud.code_engine.add_project("sites-eu", region="eu-de")
    project = eu.get_project(id=pid).get_result()
    Project.from_dict(project)
    account = cloud.identity.account_id
    assert project["crn"] == f"crn:v1:bluemix:public:codeengine:eu-de:a/{account}:{pid}::"
    assert (project["name"], project["region"], project["status"]) == (
        "sites-eu",
        "eu-de",
        "active",
    )
    assert project["href"] == f"{cloud.code_engine_url_for('eu-de')}/projects/{pid}"
    secret = eu.create_secret(project_id=pid, format="tls", name="tls-web", data=tls_data())
    body = secret.get_result()
    assert (body["project_id"], body["region"]) == (pid, "eu-de")
    assert body["href"].startswith(f"{cloud.code_engine_url_for('eu-de')}/projects/{pid}/")
    assert secret.get_headers()["ETag"] == body["entity_tag"]


def test_projects_hold_their_own_resources(
    cloud: LocalCloud, ce: CodeEngineV2, eu: CodeEngineV2
) -> None:
    home = cloud.identity.project_id
    pid = cloud.code_engine.add_project("sites-eu", region="eu-de")
    eu.create_secret(project_id=pid, format="tls", name="tls-web", data=tls_data())
    assert cloud.code_engine.secrets.find("tls-web") is None
    assert cloud.code_engine.project_space(pid).secrets.find("tls-web") is not None
    assert ce.list_secrets(project_id=home).get_result()["secrets"] == []
    ce.create_secret(project_id=home, format="tls", name="tls-web", data=tls_data())  # no 409
    assert [s["name"] for s in eu.list_secrets(project_id=pid).get_result()["secrets"]] == [
        "tls-web"
    ]


def test_another_regions_project_is_not_found_here(
    cloud: LocalCloud, ce: CodeEngineV2, eu: CodeEngineV2
) -> None:
    pid = cloud.code_engine.add_project("sites-eu", region="eu-de")
    error = api_error(ce.list_secrets, project_id=pid)
    assert (error.status_code, error_code(error)) == (404, "not_found")
    assert api_error(eu.get_project, id=cloud.identity.project_id).status_code == 404
    assert api_error(eu.list_secrets, project_id="not-a-uuid").status_code == 400

    logged = cloud.requests.entries(path=r"^/codeengine/eu-de/v2/projects/")  # the region's path
    assert [e.status for e in logged] == [404, 400]


def test_quotas_are_per_project(cloud: LocalCloud, ce: CodeEngineV2, eu: CodeEngineV2) -> None:
    home = cloud.code_engine
    pid = home.add_project("sites-eu", region="eu-de")
    home.secrets.max_secrets = 1
    ce.create_secret(project_id=cloud.identity.project_id, format="tls", name="a", data=tls_data())
    full = api_error(
        ce.create_secret,
        project_id=cloud.identity.project_id,
        format="tls",
        name="b",
        data=tls_data(),
    )
    assert (full.status_code, error_code(full)) == (403, "exceeded_quota")
    for name in ("a", "b"):  # the other project's quota is its own
        eu.create_secret(project_id=pid, format="tls", name=name, data=tls_data())
    assert home.project_space(pid).secrets.max_secrets == 100


def test_job_runs_get_their_projects_place(cloud: LocalCloud, eu: CodeEngineV2) -> None:
    pid = cloud.code_engine.add_project("sites-eu", region="eu-de")
    run = eu.create_job_run(project_id=pid, image_reference=ENV_IMAGE, name="env").get_result()
    space = cloud.code_engine.project_space(pid)
    assert space.job_runs.wait("env")["status"] == "completed"
    (env,) = [json.loads(line) for line in space.job_runs.logs("env").splitlines()]
    assert (env["CE_PROJECT_ID"], env["CE_REGION"]) == (pid, "eu-de")
    assert env["CE_API_BASE_URL"] == f"{cloud.url}/codeengine/eu-de"
    computed = {e["name"]: e["value"] for e in run["computed_env_variables"]}
    assert computed["CE_PROJECT_ID"] == pid
    with pytest.raises(KeyError):
        cloud.code_engine.job_runs.logs("env")  # not the default project's


def test_names_are_unique_per_region(cloud: LocalCloud) -> None:
    cloud.code_engine.add_project("sites", region="eu-de")
    cloud.code_engine.add_project("sites", region="jp-tok")
    with pytest.raises(ValueError, match="already exists"):
        cloud.code_engine.add_project("sites", region="eu-de")
    with pytest.raises(ValueError, match="already exists"):
        cloud.code_engine.add_project("certsync")


def test_a_project_added_to_a_running_cloud_serves_its_domains(cloud: LocalCloud) -> None:
    pid = cloud.code_engine.add_project("sites-eu", region="eu-de")
    space = cloud.code_engine.project_space(pid)
    assert space.router.port not in (0, cloud.router_port)  # its own: domains do not mix
