"""`python -m deploy` as a user runs it (its `main`, in this process: `deploy_local.run_deploy`),
the official SDKs, the local IBM Cloud; test_cli.py runs it as a process.

After `apply` on an empty account, the emulated Code Engine runs the trigger app and the job from
their images, authenticated as the trusted profile `apply` created (no API key), and a rotation in
Secrets Manager reaches the Code Engine secret through Event Notifications with no other step.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_eventnotifications.event_notifications_v1 import EventNotificationsV1
from ibm_platform_services import IamIdentityV1, IamPolicyManagementV1
from ibm_secrets_manager_sdk.secrets_manager_v2 import ImportedCertificateVersionPrototype

from localcloud import LocalCloud
from localcloud.code_engine.dockerfile import image_from_dockerfile
from localcloud.pki import make_chain, renew
from scripts.deploy_local import admin_key, local_config, register_images, run_deploy, write_config
from scripts.processes import ROOT
from tests.builders import code_engine_sdk, secrets_manager_sdk
from tests.support import assert_no_secret_material, seed_certificate, served_serial, wait_until

pytestmark = pytest.mark.integration

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
TOKEN_PATH = "/identity/token"


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud() as c:
        register_images(c)
        c.event_notifications.timeout = 5.0
        c.event_notifications.backoff_min = c.event_notifications.backoff_max = 0.2
        yield c


@pytest.fixture
def account(cloud: LocalCloud, tmp_path: Path) -> Account:
    return Account(cloud, tmp_path)


class Account:
    """A local account with one certificate, and a certsync.yaml that maps it."""

    def __init__(self, cloud: LocalCloud, tmp_path: Path) -> None:
        self.cloud = cloud
        self.apikey = admin_key(cloud)
        self.chain = make_chain("www.example.com")
        self.secret_id = seed_certificate(cloud, self.chain, "www-example-com")
        self.mappings = [{"secret": self.secret_id, "target": "tls-www"}]
        self.config = local_config(cloud, self.mappings)
        self.path = write_config(tmp_path / "certsync.yaml", self.config)

    def deploy(self, verb: str, *args: str) -> Any:
        done = run_deploy(verb, self.path, self.apikey, *args)
        assert_no_secret_material(done.stdout + done.stderr, self.apikey, self.chain.key_pem)
        return done

    def rewrite(self, **changes: Any) -> None:
        self.config.update(changes)
        write_config(self.path, self.config)

    def writes(self) -> list[str]:
        return [
            f"{r.method} {r.path}"
            for r in self.cloud.requests.entries()
            if r.method in WRITES and r.path != TOKEN_PATH and not r.path.startswith("/_localcloud")
        ]

    def policies(self) -> IamPolicyManagementV1:
        client = IamPolicyManagementV1(
            authenticator=IAMAuthenticator(self.apikey, url=self.cloud.iam_url)
        )
        client.set_service_url(self.cloud.iam_url)
        return client

    def identity(self) -> IamIdentityV1:
        client = IamIdentityV1(authenticator=IAMAuthenticator(self.apikey, url=self.cloud.iam_url))
        client.set_service_url(self.cloud.iam_url)
        return client

    def event_notifications(self) -> EventNotificationsV1:
        client = EventNotificationsV1(
            authenticator=IAMAuthenticator(self.apikey, url=self.cloud.iam_url)
        )
        client.set_service_url(self.cloud.event_notifications_url)
        return client


def give_the_destination_a_wrong_token(account: Account) -> Any:
    """The webhook destination sends a bearer token that is not the app's; returns it as listed."""
    en, instance = account.event_notifications(), account.cloud.identity.en_instance_id
    destinations = en.list_destinations(instance_id=instance).get_result()["destinations"]
    (ours,) = [d for d in destinations if d["name"] == "certsync-trigger"]
    url = f"{account.cloud.code_engine.apps.get('certsync-trigger')['endpoint']}/events"
    en.update_destination(
        instance_id=instance,
        id=ours["id"],
        name="certsync-trigger",
        config={
            "params": {
                "url": url,
                "verb": "post",
                "custom_headers": {"Authorization": "Bearer not-the-apps-token-at-all"},
                "sensitive_headers": ["Authorization"],
            }
        },
    )
    return ours


def applied(account: Account) -> Any:
    done = account.deploy("apply")
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_apply_on_an_empty_account_then_a_rotation_syncs(account: Account) -> None:
    done = applied(account)
    assert "+ create   trusted profile 'certsync'" in done.stdout  # the plan is shown first
    assert "Code Engine app 'certsync-trigger'" in done.stdout
    assert "ibmcloud ce subscription cron create --name certsync-nightly" in done.stdout
    new = renew(account.chain, days=90)
    secrets_manager_sdk(account.cloud, account.apikey).create_secret_version(
        account.secret_id,
        ImportedCertificateVersionPrototype(
            certificate=new.leaf_pem, intermediate=new.intermediate_pem, private_key=new.key_pem
        ),
    )
    assert wait_until(
        lambda: served_serial(account.cloud, "tls-www") == new.leaf.cert.serial_number, 60
    )
    # The job ran as the trusted profile: no API key exists anywhere in Code Engine.
    job = (
        code_engine_sdk(account.cloud, account.apikey)
        .get_job(account.cloud.identity.project_id, "certsync")
        .get_result()
    )
    names = {v.get("name") for v in job["run_env_variables"]}
    assert not any("APIKEY" in str(n) for n in names)
    # The webhook token was generated into a Code Engine secret and never printed.
    secret = (
        code_engine_sdk(account.cloud, account.apikey)
        .get_secret(account.cloud.identity.project_id, "certsync-webhook")
        .get_result()
    )
    token = secret["data"]["CERTSYNC_WEBHOOK_TOKEN"]
    assert len(token) >= 32
    assert_no_secret_material(done.stdout + done.stderr, token)


def test_a_changed_mapping_and_min_instances_update_only_the_config_map_and_the_app(
    account: Account,
) -> None:
    account.rewrite(trigger={"min_instances": 1})
    applied(account)
    ce, project = code_engine_sdk(account.cloud, account.apikey), account.cloud.identity.project_id
    app = ce.get_app(project_id=project, name="certsync-trigger").get_result()
    assert app["scale_min_instances"] == 1  # kept from scaling to zero
    other = seed_certificate(account.cloud, make_chain("api.example.com"), "api-example-com")
    account.rewrite(
        mappings=[*account.mappings, {"secret": other, "target": "tls-api"}],
        trigger={"min_instances": 0},
    )
    plan = account.deploy("plan", "--json")
    assert plan.returncode == 0, plan.stderr
    changes = [c for c in json.loads(plan.stdout)["changes"] if c["action"] != "keep"]
    assert [(c["action"], c["name"]) for c in changes] == [
        ("update", "certsync-mappings"),
        ("update", "certsync-trigger"),
    ]
    account.cloud.requests.clear()
    applied(account)
    assert account.writes() == [
        f"PUT /v2/projects/{project}/config_maps/certsync-mappings",
        f"PATCH /v2/projects/{project}/apps/certsync-trigger",
    ]


def test_plan_changes_nothing(account: Account) -> None:
    done = account.deploy("plan")
    assert done.returncode == 0, done.stderr
    assert "Plan: 17 to create, 0 to change, 0 to delete, 0 unchanged." in done.stdout
    assert account.writes() == []


def test_doctor_passes_then_names_a_wrong_token_a_removed_authorization_and_a_missing_destination(
    account: Account,
) -> None:
    applied(account)
    done = account.deploy("doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All checks passed" in done.stdout
    # A destination whose token is not the app's fails Event Notifications' test delivery.
    en, instance = account.event_notifications(), account.cloud.identity.en_instance_id
    ours = give_the_destination_a_wrong_token(account)
    report = json.loads(account.deploy("doctor", "--json").stdout)
    (test,) = [c for c in report["checks"] if c["what"].startswith("Event Notifications test")]
    assert test["status"] == "fail"
    assert "a 401 means the destination's token is not the app's" in test["fix"]
    # Remove the Secrets Manager -> Event Notifications authorization and the destination.
    policies = account.policies()
    listing = policies.list_policies(
        account_id=account.cloud.identity.account_id, type="authorization"
    ).get_result()
    for policy in listing["policies"]:
        policies.delete_policy(policy_id=policy["id"])
    for subscription in en.list_subscriptions(instance_id=instance).get_result()["subscriptions"]:
        if subscription.get("destination_id") == ours["id"]:
            en.delete_subscription(instance_id=instance, id=subscription["id"])
    en.delete_destination(instance_id=instance, id=ours["id"])
    done = account.deploy("doctor", "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    failed = {c["what"].split(" (")[0]: c for c in report["checks"] if c["status"] == "fail"}
    authorization = failed["service authorization 'secrets-manager -> event-notifications'"]
    assert "python -m deploy apply" in authorization["fix"]
    assert "authorization-policy-create secrets-manager event-notifications" in authorization["fix"]
    assert "Event Notifications destination 'certsync-trigger'" in failed
    text = account.deploy("doctor").stdout
    assert "[FAIL] service authorization 'secrets-manager -> event-notifications'" in text


def test_a_resource_certsync_did_not_create_blocks_apply(account: Account) -> None:
    project = account.cloud.identity.project_id
    ce = code_engine_sdk(account.cloud, account.apikey)
    ce.create_config_map(project, "certsync-mappings", data={"CERTSYNC_MAPPINGS": "[]"})
    account.cloud.requests.clear()
    done = account.deploy("apply")
    assert done.returncode == 1
    assert "! conflict Code Engine config map 'certsync-mappings'" in done.stdout
    assert "not created by certsync" in done.stdout
    assert account.writes() == []


def test_bad_config_and_missing_key_exit_2_naming_the_problem(account: Account) -> None:
    account.rewrite(delivery="carrier-pigeon")
    done = account.deploy("plan")
    assert done.returncode == 2
    assert "'delivery' has value 'carrier-pigeon'" in done.stderr
    missing = run_deploy("plan", account.path, "")
    assert missing.returncode == 2
    assert "'delivery' has value 'carrier-pigeon'" in missing.stderr  # every problem at once
    assert "IBMCLOUD_API_KEY is not set" in missing.stderr


def test_apply_builds_both_images_from_git_then_runs_them(account: Account) -> None:
    cloud, project = account.cloud, account.cloud.identity.project_id
    source = "https://github.com/example/certsync"
    job, trigger = (
        image_from_dockerfile(ROOT / f"Dockerfile.{component}", cwd=ROOT)
        for component in ("job", "trigger")
    )
    cloud.code_engine.builds.register_source(
        source, {"Dockerfile.job": job, "Dockerfile.trigger": trigger}
    )
    code_engine_sdk(cloud, account.apikey).create_secret(
        project,
        "registry",
        "icr-push",
        data={"server": "private.us.icr.io", "username": "iamapikey", "password": "not-a-real-key"},
    )
    build = {"source": source, "registry": "private.us.icr.io/team", "registry_secret": "icr-push"}
    account.rewrite(images=None, build=build)
    done = applied(account)
    assert "building 'certsync-job'" in done.stderr
    assert "build run" in done.stderr
    jobs = code_engine_sdk(cloud, account.apikey).get_job(project, "certsync").get_result()
    assert jobs["image_reference"] == "private.us.icr.io/team/certsync-job:latest"
    doctor = account.deploy("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def test_the_job_delivery_lets_event_notifications_start_the_job(account: Account) -> None:
    images = account.config["images"]
    account.rewrite(delivery="job", images={k: images[k] for k in ("job", "registry_secret")})
    done = applied(account)
    assert "service authorization 'event-notifications -> codeengine'" in done.stdout
    assert "Code Engine app" not in done.stdout
    new = renew(account.chain, days=90)
    secrets_manager_sdk(account.cloud, account.apikey).create_secret_version(
        account.secret_id,
        ImportedCertificateVersionPrototype(
            certificate=new.leaf_pem, intermediate=new.intermediate_pem, private_key=new.key_pem
        ),
    )
    synced = lambda: served_serial(account.cloud, "tls-www") == new.leaf.cert.serial_number  # noqa: E731
    assert wait_until(synced, 60)
    doctor = account.deploy("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    # Switching back to the webhook removes what only the job delivery needed.
    account.rewrite(delivery="webhook", images=local_config(account.cloud, [])["images"])
    plan = json.loads(account.deploy("plan", "--json").stdout)
    deletes = {(c["kind"], c["name"]) for c in plan["changes"] if c["action"] == "delete"}
    assert deletes == {
        ("Event Notifications destination", "certsync-job"),
        ("service authorization", "event-notifications -> codeengine"),
    }


def test_a_policy_changed_by_hand_is_put_back(account: Account) -> None:
    applied(account)
    policies, identity = account.policies(), account.cloud.identity
    listing = policies.list_policies(account_id=identity.account_id, type="access").get_result()
    (ours,) = [
        p
        for p in listing["policies"]
        if any(a["value"] == "secrets-manager" for a in p["resources"][0]["attributes"])
    ]
    etag = policies.get_policy(policy_id=ours["id"]).get_headers()["ETag"]
    reader = "crn:v1:bluemix:public:iam::::serviceRole:Reader"
    policies.replace_policy(
        policy_id=ours["id"],
        if_match=etag,
        type="access",
        subjects=ours["subjects"],
        roles=[{"role_id": reader}],
        resources=ours["resources"],
        description=ours["description"],
    )
    plan = json.loads(account.deploy("plan", "--json").stdout)
    changed = [(c["action"], c["name"]) for c in plan["changes"] if c["action"] != "keep"]
    assert changed == [("update", "secrets-manager")]
    applied(account)
    after = policies.get_policy(policy_id=ours["id"]).get_result()
    assert [r["role_id"] for r in after["roles"]] == [
        "crn:v1:bluemix:public:secrets-manager::::serviceRole:SecretsReader"
    ]


def checks_of(account: Account) -> dict[str, dict[str, str]]:
    """`doctor --json`'s checks by their first words."""
    report = json.loads(account.deploy("doctor", "--json").stdout)
    return {c["what"].split(" (")[0]: c for c in report["checks"]}


def test_doctors_dry_run_and_a_resync_by_argument_run_the_job_with_them(account: Account) -> None:
    """Arguments replace the image's CMD (Code Engine docs `cmd-args.md`): the job's module is
    its ENTRYPOINT, so `--dry-run` and `--secret <id>` reach `python -m job`."""
    applied(account)
    probe = checks_of(account)["the trusted profile reads every mapped secret and target"]
    assert probe["status"] == "ok", probe
    ce, project = code_engine_sdk(account.cloud, account.apikey), account.cloud.identity.project_id
    run = ce.create_job_run(
        project, job_name="certsync", run_arguments=["--secret", account.secret_id]
    ).get_result()
    assert account.cloud.code_engine.job_runs.wait(run["name"], 60)["status"] == "completed"
    assert served_serial(account.cloud, "tls-www") == account.chain.leaf.cert.serial_number


def test_the_job_and_app_pull_with_the_registry_secret_and_doctor_checks_it(
    account: Account,
) -> None:
    """Images in IBM Cloud Container Registry are private: without a registry `image_secret`
    every run fails to pull (SDK `create_job`); `apply` sets it, `doctor` checks it."""
    applied(account)
    cloud, project = account.cloud, account.cloud.identity.project_id
    ce = code_engine_sdk(cloud, account.apikey)
    assert ce.get_job(project, "certsync").get_result()["image_secret"] == "certsync-registry"
    app = ce.get_app(project, "certsync-trigger").get_result()
    assert (app["image_secret"], app["status"]) == ("certsync-registry", "ready")
    assert checks_of(account)["registry secret 'certsync-registry'"]["status"] == "ok"

    cloud.code_engine.secrets.delete("certsync-registry")
    run = ce.create_job_run(project, job_name="certsync").get_result()
    failed = cloud.code_engine.job_runs.wait(run["name"], 60)
    assert failed["status"] == "failed"
    assert failed["status_details"]["indices_details"]["0"]["last_failure_reason"] == (
        "ImagePullBackOff"
    )
    missing = checks_of(account)["registry secret 'certsync-registry'"]
    assert (missing["status"], missing["detail"]) == (
        "fail",
        "missing: job runs and the app cannot pull",
    )
    assert "ibmcloud ce registry create --name certsync-registry --server icr.io" in missing["fix"]
    cloud.code_engine.secrets.put("certsync-registry", "generic", {"server": "icr.io"})
    wrong = checks_of(account)["registry secret 'certsync-registry'"]
    assert (wrong["status"], wrong["detail"]) == ("fail", "has format 'generic', not 'registry'")

    # Another secret in certsync.yaml is a change of the job and the app.
    account.rewrite(images={**account.config["images"], "registry_secret": "team-pull"})
    plan = json.loads(account.deploy("plan", "--json").stdout)
    changed = {c["name"]: c["reasons"] for c in plan["changes"] if c["action"] == "update"}
    reason = "image_secret: 'certsync-registry' -> 'team-pull'"
    assert changed == {"certsync": [reason], "certsync-trigger": [reason]}


def test_a_second_apply_changes_nothing_with_certsyncs_authorization_past_the_first_page(
    account: Account,
) -> None:
    # IAM lists policies a page at a time (`limit`, `next.start`): certsync's authorization,
    # created after 60 others, is on the second page, and a second apply must still find it.
    policies, identity = account.policies(), account.cloud.identity
    for n in range(60):
        policies.create_policy(
            type="authorization",
            subjects=[_service_side(identity.account_id, "cloud-object-storage", f"cos-{n}")],
            roles=[{"role_id": "crn:v1:bluemix:public:iam::::serviceRole:Reader"}],
            resources=[_service_side(identity.account_id, "kms", f"kms-{n}")],
        )
    applied(account)
    account.cloud.requests.clear()
    done = applied(account)
    assert "No changes: the account already matches the config." in done.stdout
    assert account.writes() == []


def _service_side(account_id: str, service: str, instance: str) -> dict[str, Any]:
    return {
        "attributes": [
            {"name": "accountId", "value": account_id},
            {"name": "serviceName", "value": service},
            {"name": "serviceInstance", "value": instance},
        ]
    }


def test_an_app_left_in_warning_stops_apply_naming_its_failed_revision(account: Account) -> None:
    applied(account)
    broken = "icr.io/certsync/certsync-trigger:broken"
    account.cloud.code_engine.register_image(broken, [sys.executable, "-c", "raise SystemExit(3)"])
    account.rewrite(images={**account.config["images"], "trigger": broken})
    done = account.deploy("apply")  # `warning` is final: no 600 s wait for `ready`
    assert done.returncode == 1
    assert (
        "Code Engine app 'certsync-trigger' is in status 'warning' "
        "(ready_but_latest_revision_failed): its new revision 'certsync-trigger-00002' failed "
        "and revision 'certsync-trigger-00001' still serves; apply stopped."
    ) in done.stderr


def test_roles_are_granted_by_the_crns_iam_lists_for_their_display_names(
    account: Account,
) -> None:
    # Event Source Manager's CRN is published nowhere; IAM's role listing is the only source.
    applied(account)
    policies, identity = account.policies(), account.cloud.identity
    listed = policies.list_roles(
        service_name="event-notifications", source_service_name="secrets-manager"
    ).get_result()
    (manager,) = [
        r["crn"] for r in listed["service_roles"] if r["display_name"] == "Event Source Manager"
    ]
    authorizations = policies.list_policies(
        account_id=identity.account_id, type="authorization"
    ).get_result()["policies"]
    (ours,) = [
        p for p in authorizations if p["subjects"][0]["attributes"][1]["value"] == "secrets-manager"
    ]
    assert [r["role_id"] for r in ours["roles"]] == [manager]


def test_doctor_names_its_dry_run_within_code_engines_run_name_limit(account: Account) -> None:
    # A name of 52 characters is valid for every resource certsync makes; the dry run's name
    # must still be a valid job-run name (53 characters at most, docs `cmd_defs.md`).
    account.rewrite(name="certsync-for-the-payments-platform-in-production-eu1")
    applied(account)
    doctor = account.deploy("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "dry-run job run" in doctor.stdout
