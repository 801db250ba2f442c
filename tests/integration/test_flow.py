"""The whole chain with real processes: a rotation in Secrets Manager -> Event Notifications ->
the trigger -> a Code Engine job run -> the job -> the Code Engine secret updated."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud import LocalCloud
from localcloud.secrets_manager.model import CertificateParts
from tests.pki import Chain, make_chain, renew
from tests.support import (
    APIKEY,
    ROOT,
    Trigger,
    assert_no_secret_material,
    job_env,
    job_variables,
    seed_certificate,
    served_serial,
    started_trigger,
    trigger_env,
    wait_until,
)

pytestmark = pytest.mark.integration

IMAGE = "docker.io/certsync/job:test"
JOB = "certsync"
TOKEN = "flow-webhook-token-0123456789abcdef"
INJECTED = {
    "CE_PROJECT_ID",
    "CODE_ENGINE_URL",
}  # Code Engine injects CE_PROJECT_ID, CE_API_BASE_URL


@pytest.fixture
def deployed(cloud: LocalCloud) -> tuple[str, Chain]:
    """A certificate in Secrets Manager, its copy in Code Engine, and the certsync job."""
    chain = make_chain(days=30)
    secret_id = seed_certificate(cloud, chain, "web-cert")
    cloud.code_engine.secrets.put(
        "tls-web",
        "tls",
        {"tls_cert": chain.leaf_pem + chain.intermediate_pem, "tls_key": chain.key_pem},
    )
    cloud.code_engine.register_image(IMAGE, [sys.executable, "-m", "job"], cwd=str(ROOT))
    env = job_env(cloud, [{"secret": secret_id, "target": "tls-web"}])
    variables = job_variables(env, exclude=INJECTED)
    cloud.code_engine.jobs.create(
        {
            "name": JOB,
            "image_reference": IMAGE,
            "run_env_variables": variables,
            "scale_retry_limit": 0,
        }
    )
    return secret_id, chain


@pytest.fixture
def trigger(cloud: LocalCloud, deployed: tuple[str, Chain], tmp_path: Path) -> Iterator[Trigger]:
    env = trigger_env(cloud, apikey=APIKEY, job=JOB, token=TOKEN)
    with started_trigger(env, tmp_path, token=TOKEN) as running:
        yield running


def rotate(cloud: LocalCloud, secret_id: str, chain: Chain) -> Chain:
    new = renew(chain, days=90)
    parts = CertificateParts(new.leaf_pem, new.key_pem, new.intermediate_pem)
    cloud.secrets_manager.rotate(secret_id, parts)
    return new


def test_rotation_reaches_code_engine_through_the_trigger(cloud, deployed, trigger):
    secret_id, chain = deployed
    destination = cloud.event_notifications.add_code_engine_app_destination(
        f"{trigger.url}/events",
        headers={"Authorization": f"Bearer {TOKEN}"},
        sensitive_headers={"Authorization"},
    )
    cloud.event_notifications.subscribe(destination)
    new = rotate(cloud, secret_id, chain)

    assert wait_until(lambda: served_serial(cloud, "tls-web") == new.leaf.cert.serial_number, 60)
    (run,) = cloud.code_engine.job_runs.list()
    finished = cloud.code_engine.job_runs.wait(run["name"])
    assert finished["status"] == "completed"
    logs = cloud.code_engine.job_runs.logs(run["name"])
    assert '"event": "target_updated"' in logs
    (notification,) = cloud.event_notifications.notifications()
    assert f'"notification_id": "{notification["notification_id"]}"' in logs
    assert f'"ce_jobrun": "{run["name"]}"' in logs
    delivered = [d for d in cloud.event_notifications.deliveries() if d.outcome == "delivered"]
    assert [d.status for d in delivered] == [202]
    assert_no_secret_material(logs + trigger.output(), TOKEN, APIKEY)


def test_a_code_engine_job_destination_starts_the_job_directly(cloud, deployed):
    secret_id, chain = deployed
    cloud.event_notifications.subscribe(
        cloud.event_notifications.add_code_engine_job_destination(JOB)
    )
    new = rotate(cloud, secret_id, chain)

    assert wait_until(lambda: served_serial(cloud, "tls-web") == new.leaf.cert.serial_number, 60)
    (run,) = cloud.code_engine.job_runs.list()
    assert cloud.code_engine.job_runs.wait(run["name"])["status"] == "completed"


def test_a_rotation_of_an_unmapped_secret_runs_the_job_and_changes_nothing(
    cloud, deployed, trigger
):
    other = make_chain()
    other_id = seed_certificate(cloud, other, "other-cert")
    destination = cloud.event_notifications.add_webhook_destination(
        f"{trigger.url}/events",
        headers={"Authorization": f"Bearer {TOKEN}"},
        sensitive_headers={"Authorization"},
    )
    cloud.event_notifications.subscribe(destination)
    before = cloud.code_engine.secrets.find("tls-web")
    rotate(cloud, other_id, other)

    assert wait_until(lambda: len(cloud.code_engine.job_runs.list()) == 1, 30)
    (run,) = cloud.code_engine.job_runs.list()
    assert cloud.code_engine.job_runs.wait(run["name"])["status"] == "completed"
    assert cloud.code_engine.secrets.find("tls-web") == before
