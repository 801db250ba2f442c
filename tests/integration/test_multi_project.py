"""One certificate synced into targets in several projects in several regions (issue 11, item 1).

The real job (`python -m job`) against the local IBM Cloud, whose Code Engine serves a project in
each of two more regions, each region at its own base URL (`cloud.code_engine_url_for`), handed
to the job as `CERTSYNC_CODE_ENGINE_URLS`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamIdentityV1, IamPolicyManagementV1
from ibm_platform_services.iam_identity_v1 import CreateProfileLinkRequestLink
from ibm_platform_services.iam_policy_management_v1 import (
    PolicyResource,
    PolicyRole,
    PolicySubject,
    ResourceAttribute,
    SubjectAttribute,
)

from localcloud import LocalCloud
from tests.pki import make_chain
from tests.support import (
    APIKEY,
    JobResult,
    assert_no_secret_material,
    job_env,
    run_job,
    seed_certificate,
)

pytestmark = pytest.mark.integration

HOME = "us-south"
REGIONS = ("eu-de", "jp-tok")
TARGET = "tls-web"
SECRETS = r"/v2/projects/[^/]+/secrets"
WRITER = "crn:v1:bluemix:public:iam::::serviceRole:Writer"
SECRETS_READER = "crn:v1:bluemix:public:secrets-manager::::serviceRole:SecretsReader"


@pytest.fixture
def projects(cloud: LocalCloud) -> dict[str, str]:
    """region -> the id of a project there ("sites-<region>"), besides the job's own."""
    return {
        region: cloud.code_engine.add_project(f"sites-{region}", region=region)
        for region in REGIONS
    }


def mappings(secret_id: str, projects: dict[str, str]) -> list[dict[str, str]]:
    """The one secret into the job's own project and into each of `projects`."""
    remote = [
        {"secret": secret_id, "target": TARGET, "project": project, "region": region}
        for region, project in projects.items()
    ]
    return [{"secret": secret_id, "target": TARGET}, *remote]


def env_for(cloud: LocalCloud, pairs: list[dict[str, str]], **extra: str) -> dict[str, str]:
    urls = {region: cloud.code_engine_url_for(region) for region in (HOME, *REGIONS)}
    return job_env(
        cloud,
        pairs,
        CE_REGION=HOME,  # Code Engine injects it; the job's own region
        CERTSYNC_CODE_ENGINE_URLS=json.dumps(urls),
        CERTSYNC_VERIFY="off",
        **extra,
    )


def per_target(result: JobResult) -> dict[tuple[str, str], str]:
    """(project, region) -> outcome, from the one line per mapping."""
    return {
        (line["project"], line["region"]): line["outcome"]
        for line in result.lines
        if "outcome" in line and line.get("target") == TARGET
    }


def served_chain(cloud: LocalCloud, project: str) -> list[x509.Certificate]:
    secret = cloud.code_engine.project_space(project).secrets.find(TARGET)
    assert secret is not None, f"no {TARGET!r} in project {project}"
    return x509.load_pem_x509_certificates(secret["data"]["tls_cert"].encode())


def test_one_certificate_into_three_projects_in_three_regions(
    cloud: LocalCloud, projects: dict[str, str]
) -> None:
    chain = make_chain()
    env = env_for(cloud, mappings(seed_certificate(cloud, chain, "web-cert"), projects))
    result = run_job(env)
    assert result.returncode == 0, result.stdout + result.stderr
    home = cloud.identity.project_id
    expected = {(home, HOME): "created"} | {(p, r): "created" for r, p in projects.items()}
    assert per_target(result) == expected
    for project in (home, *projects.values()):
        assert served_chain(cloud, project) == [chain.leaf.cert, chain.intermediate.cert]
    for region, project in projects.items():  # each written through its own region's endpoint
        writes = cloud.requests.entries(method="POST", path=SECRETS)
        assert [w.path for w in writes if project in w.path] == [
            f"/codeengine/{region}/v2/projects/{project}/secrets"
        ]
    assert_no_secret_material(result.stdout + result.stderr, APIKEY)


def test_an_unchanged_second_run_stays_within_the_budget(
    cloud: LocalCloud, projects: dict[str, str]
) -> None:
    env = env_for(cloud, mappings(seed_certificate(cloud, make_chain(), "web-cert"), projects))
    assert run_job(env).returncode == 0
    cloud.requests.clear()
    result = run_job(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(per_target(result).values()) == {"current"}
    calls = [f"{r.method} {r.path}" for r in cloud.requests.entries()]
    # IAM tokens, one Secrets Manager list, one secrets list per project, the status record read
    # and replaced: no read of either side per target, no write to any target.
    assert len(calls) <= 2 + 1 + 3 + 2, calls
    assert cloud.requests.entries(method="GET", path=SECRETS + "/[^/]+$") == []
    assert [c for c in calls if "/secrets" in c and not c.startswith("GET")] == []


# -- a trusted profile allowed in some projects only ----------------------------------------------
@pytest.fixture
def admin(cloud: LocalCloud) -> Iterator[tuple[IamIdentityV1, IamPolicyManagementV1]]:
    cloud.iam.add_apikey(APIKEY)
    identity = IamIdentityV1(authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url))
    identity.set_service_url(cloud.iam_identity_url)
    policies = IamPolicyManagementV1(authenticator=IAMAuthenticator(APIKEY, url=cloud.iam_url))
    policies.set_service_url(cloud.iam_policy_url)
    yield identity, policies
    identity.http_client.close()
    policies.http_client.close()


def grant(
    policies: IamPolicyManagementV1, cloud: LocalCloud, iam_id: str, role: str,
    on: tuple[str, str],
) -> None:  # fmt: skip
    """An access policy granting `iam_id` `role` on `on`, a (service, instance)."""
    service, instance = on
    attributes = [
        ResourceAttribute(name="accountId", value=cloud.identity.account_id),
        ResourceAttribute(name="serviceName", value=service),
        ResourceAttribute(name="serviceInstance", value=instance),
    ]
    policies.create_policy(
        type="access",
        subjects=[PolicySubject(attributes=[SubjectAttribute(name="iam_id", value=iam_id)])],
        roles=[PolicyRole(role_id=role)],
        resources=[PolicyResource(attributes=attributes)],
    )


def as_trusted_profile(cloud: LocalCloud, env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The job authenticating as on Code Engine: its compute-resource token, profile `certsync`."""
    token_file = tmp_path / "cr-token"
    token_file.write_text(
        cloud.iam.compute_resource_token(cloud.code_engine.project().crn, "job", "certsync")
    )
    env = dict(env)
    for prefix in ("SECRETS_MANAGER", "CODE_ENGINE"):
        del env[f"{prefix}_APIKEY"]
        env |= {
            f"{prefix}_AUTH_TYPE": "container",
            f"{prefix}_IAM_PROFILE_NAME": "certsync",
            f"{prefix}_CR_TOKEN_FILENAME": str(token_file),
        }
    return env


def test_a_project_the_profile_may_not_write_fails_only_its_target(
    cloud: LocalCloud,
    projects: dict[str, str],
    admin: tuple[IamIdentityV1, IamPolicyManagementV1],
    tmp_path: Path,
) -> None:
    identity, policies = admin
    home, allowed, denied = cloud.identity.project_id, projects["eu-de"], projects["jp-tok"]
    profile: dict[str, Any] = identity.create_profile(
        "certsync", cloud.identity.account_id
    ).get_result()
    link = CreateProfileLinkRequestLink(
        crn=cloud.code_engine.project().crn, component_type="job", component_name="certsync"
    )
    identity.create_link(profile["id"], "CE", link)
    iam_id = profile["iam_id"]
    grant(
        policies, cloud, iam_id, SECRETS_READER, ("secrets-manager", cloud.identity.sm_instance_id)
    )
    for project in (home, allowed):  # not `denied`
        grant(policies, cloud, iam_id, WRITER, ("codeengine", project))
    chain = make_chain()
    env = env_for(cloud, mappings(seed_certificate(cloud, chain, "web-cert"), projects))
    result = run_job(as_trusted_profile(cloud, env, tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert per_target(result) == {
        (home, HOME): "created",
        (allowed, "eu-de"): "created",
        (denied, "jp-tok"): "failed",
    }
    assert served_chain(cloud, allowed) == [chain.leaf.cert, chain.intermediate.cert]
    assert cloud.code_engine.project_space(denied).secrets.find(TARGET) is None
    forbidden = cloud.requests.entries(path=rf"^/codeengine/jp-tok/v2/projects/{denied}/")
    assert forbidden, "the job never reached the denied project"
    assert {r.status for r in forbidden} == {403}
    assert_no_secret_material(result.stdout + result.stderr, APIKEY)
