"""Code Engine v2 apps through the SDK: a real process per app, revisions, failure, deletion."""

from __future__ import annotations

import os
import sys

import pytest
from ibm_code_engine_sdk.code_engine_v2 import (
    App,
    AppInstanceList,
    AppList,
    AppRevision,
    AppRevisionList,
    CodeEngineV2,
)

from localcloud import LocalCloud
from localcloud.code_engine.tests.support import (
    APP_SERVER,
    api_error,
    create_mapping,
    literal,
    served_env,
    settled_app,
    settled_mapping,
    wait_until,
)
from localcloud.pki import Chain

pytestmark = pytest.mark.integration

APP_IMAGE = "docker.io/certsync/echo-env:1"
BLUE = {"name": "COLOR", "type": "literal", "value": "blue"}


@pytest.fixture
def app_image(cloud: LocalCloud) -> str:
    cloud.code_engine.register_image(APP_IMAGE, [sys.executable, "-c", APP_SERVER])
    return APP_IMAGE


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_app_runs_and_answers_on_its_endpoint(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, app_image: str
) -> None:
    cloud.code_engine.secrets.put("creds", "generic", {"TOKEN": "t"})
    response = ce.create_app(
        project_id=pid,
        name="web",
        image_reference=app_image,
        run_env_variables=[
            literal("MODE", "app"),
            {
                "type": "secret_key_reference",
                "name": "PICKED",
                "reference": "creds",
                "key": "TOKEN",
            },
        ],
        scale_min_instances=0,
        scale_max_instances=1,
    )
    assert response.get_status_code() == 201
    created = response.get_result()
    assert response.get_headers()["ETag"] == created["entity_tag"]
    assert created["status"] == "deploying"
    assert (created["resource_type"], created["image_port"]) == ("app_v2", 8080)
    assert created["run_compute_resource_token_enabled"] is False
    app = settled_app(ce, pid, "web")
    App.from_dict(app)
    assert app["status"] == "ready"
    assert app["status_details"] == {
        "latest_created_revision": "web-00001",
        "latest_ready_revision": "web-00001",
        "reason": "ready",
    }
    assert app["endpoint"].startswith("http://127.0.0.1:")
    env = served_env(app["endpoint"])
    assert (env["MODE"], env["PICKED"]) == ("app", "t")
    assert env["PORT"] == app["endpoint"].rsplit(":", 1)[1]
    assert (env["CE_APP"], env["K_REVISION"], env["CE_PROJECT_ID"]) == ("web", "web-00001", pid)
    assert env["CE_DOMAIN"] == f"{cloud.identity.region}.codeengine.appdomain.cloud"
    assert env["CE_API_BASE_URL"] == cloud.url
    assert "CE_SUBDOMAIN" in env
    assert "listening" in cloud.code_engine.apps.logs("web")
    duplicate = api_error(ce.create_app, project_id=pid, name="web", image_reference=app_image)
    assert duplicate.status_code == 409
    AppList.from_dict(ce.list_apps(project_id=pid, limit=1).get_result())
    instances = ce.list_app_instances(project_id=pid, app_name="web").get_result()
    assert [i["status"] for i in AppInstanceList.from_dict(instances).to_dict()["instances"]] == [
        "running"
    ]


def test_update_starts_a_new_revision_on_the_same_endpoint(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, app_image: str
) -> None:
    created = ce.create_app(project_id=pid, name="web", image_reference=app_image).get_result()
    first = settled_app(ce, pid, "web")
    old_pid = cloud.code_engine.apps.pid("web")
    assert old_pid is not None
    stale = api_error(
        ce.update_app, project_id=pid, name="web", if_match=created["entity_tag"] + "0",
        app={"run_env_variables": [BLUE]},
    )  # fmt: skip
    assert stale.status_code == 412
    response = ce.update_app(
        project_id=pid, name="web", if_match=first["entity_tag"],
        app={"run_env_variables": [BLUE]},
    )  # fmt: skip
    assert response.get_status_code() == 200
    assert response.get_result()["status_details"]["latest_created_revision"] == "web-00002"
    app = settled_app(ce, pid, "web")
    assert app["status"] == "ready"
    assert app["status_details"]["latest_ready_revision"] == "web-00002"
    assert app["endpoint"] == first["endpoint"]
    env = served_env(app["endpoint"])
    assert (env["COLOR"], env["K_REVISION"]) == ("blue", "web-00002")
    assert wait_until(lambda: not alive(old_pid))
    revisions = ce.list_app_revisions(project_id=pid, app_name="web").get_result()
    names = [r.name for r in AppRevisionList.from_dict(revisions).revisions]
    assert names == ["web-00001", "web-00002"]
    one = ce.get_app_revision(project_id=pid, app_name="web", name="web-00002").get_result()
    assert AppRevision.from_dict(one).status == "ready"


def test_delete_stops_the_process_and_drops_domain_mappings(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, app_image: str, web_tls: Chain
) -> None:
    ce.create_app(project_id=pid, name="site", image_reference=app_image)
    settled_app(ce, pid, "site")
    process = cloud.code_engine.apps.pid("site")
    assert process is not None
    mapping = ce.create_domain_mapping(
        project_id=pid, name="www.example.com", tls_secret="web-tls",
        component={"name": "site", "resource_type": "app_v2"},
    )  # fmt: skip
    assert mapping.get_status_code() == 201
    settled_mapping(ce, pid)
    assert ce.delete_app(project_id=pid, name="site").get_status_code() == 202
    assert api_error(ce.get_app, project_id=pid, name="site").status_code == 404
    assert api_error(ce.get_domain_mapping, project_id=pid, name="www.example.com").status_code == (
        404
    )
    assert wait_until(lambda: not alive(process))
    assert api_error(ce.delete_app, project_id=pid, name="site").status_code == 404
    create_mapping(ce, pid)  # the seeded `web-app` still takes mappings


def test_a_process_that_exits_fails_the_app(cloud: LocalCloud, ce: CodeEngineV2, pid: str) -> None:
    crash = "import sys; print('boom', file=sys.stderr); sys.exit(3)"
    cloud.code_engine.register_image("docker.io/certsync/crash:1", [sys.executable, "-c", crash])
    ce.create_app(project_id=pid, name="crash", image_reference="docker.io/certsync/crash:1")
    app = settled_app(ce, pid, "crash")
    assert (app["status"], app["status_details"]["reason"]) == ("failed", "no_revision_ready")
    assert "latest_ready_revision" not in app["status_details"]
    revision = ce.get_app_revision(project_id=pid, app_name="crash", name="crash-00001")
    assert revision.get_result()["status_details"]["reason"] == "container_failed_exit_code_3"
    assert "boom" in cloud.code_engine.apps.logs("crash")
    ce.create_app(project_id=pid, name="nothing", image_reference="docker.io/certsync/none:1")
    missing = settled_app(ce, pid, "nothing")
    assert missing["status"] == "failed"


def test_a_failed_update_leaves_the_app_in_warning_served_by_the_ready_revision(
    cloud: LocalCloud, ce: CodeEngineV2, pid: str, app_image: str
) -> None:
    crash = "import sys; sys.exit(3)"
    cloud.code_engine.register_image("icr.io/certsync/crash:1", [sys.executable, "-c", crash])
    ce.create_app(project_id=pid, name="web", image_reference=app_image)
    first = settled_app(ce, pid, "web")
    ce.update_app(
        project_id=pid, name="web", if_match=first["entity_tag"],
        app={"image_reference": "icr.io/certsync/crash:1"},
    )  # fmt: skip
    app = settled_app(ce, pid, "web")
    assert App.from_dict(app).status == App.StatusEnum.WARNING
    assert app["status_details"] == {
        "latest_created_revision": "web-00002",
        "latest_ready_revision": "web-00001",
        "reason": "ready_but_latest_revision_failed",
    }
    # "the original deployment is available": the first revision serves again.
    assert wait_until(lambda: _serves(app["endpoint"]))
    assert served_env(app["endpoint"])["K_REVISION"] == "web-00001"


def _serves(endpoint: str) -> bool:
    try:
        served_env(endpoint)
    except OSError:
        return False
    return True


def test_invalid_apps_are_refused(ce: CodeEngineV2, pid: str, app_image: str) -> None:
    bad = api_error(
        ce.create_app, project_id=pid, name="web", image_reference=app_image, image_port=0
    )
    assert bad.status_code == 400
    swapped = api_error(
        ce.create_app, project_id=pid, name="web", image_reference=app_image,
        scale_min_instances=3, scale_max_instances=1,
    )  # fmt: skip
    assert swapped.status_code == 400
    assert api_error(ce.get_app, project_id=pid, name="nope").status_code == 404
