"""Code Engine's real limits, met with real processes: the trigger, the job, the local IBM Cloud.

A job run is at most 10 KiB, a project holds at most 100 job runs, every secret type emits
`secret_rotated`; the product lives within each (docs: Code Engine `limits.md`, `run-job.md`).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud import LocalCloud
from tests.builders import secret_entry, secret_entry_of
from tests.pki import Chain, make_chain
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

JOB = "certsync"
IMAGE = "docker.io/certsync/job:test"
QUICK = "docker.io/user/quick:1"  # a job image that exits at once
TOKEN = "limits-webhook-token-0123456789ab"
JOB_RUNS = r"/v2/projects/[^/]+/job_runs$"
MAX_RUN_BYTES = 10 * 1024


def job_settings(
    cloud: LocalCloud, tmp_path: Path, mappings: list[dict[str, str]]
) -> dict[str, Any]:
    """The real job's image and env, its mappings in a file (as a config map holds them)."""
    path = tmp_path / "mappings.json"
    path.write_text(json.dumps(mappings))
    env = job_env(cloud, [], CERTSYNC_MAPPINGS_FILE=str(path))
    del env["CERTSYNC_MAPPINGS"]
    variables = job_variables(env)
    cloud.code_engine.register_image(IMAGE, [sys.executable, "-m", "job"], cwd=str(ROOT))
    return {"image_reference": IMAGE, "run_env_variables": variables}


def deploy_job(cloud: LocalCloud, tmp_path: Path, mappings: list[dict[str, str]]) -> None:
    cloud.code_engine.jobs.create({"name": JOB, **job_settings(cloud, tmp_path, mappings)})


@pytest.fixture
def trigger(cloud: LocalCloud, tmp_path: Path) -> Iterator[Trigger]:
    env = trigger_env(cloud, apikey=APIKEY, job=JOB, token=TOKEN)
    with started_trigger(env, tmp_path, token=TOKEN) as running:
        destination = cloud.event_notifications.add_webhook_destination(
            f"{running.url}/events",
            headers={"Authorization": f"Bearer {TOKEN}"},
            sensitive_headers={"Authorization"},
        )
        cloud.event_notifications.subscribe(destination)
        yield running


def run_bodies(cloud: LocalCloud) -> list[bytes]:
    return [r.body for r in cloud.requests.entries("POST", JOB_RUNS)]


def seed_many(cloud: LocalCloud, count: int) -> list[tuple[str, Chain]]:
    ca = make_chain()
    chains = [
        make_chain(f"site{i}.example.com", ca=(ca.root, ca.intermediate)) for i in range(count)
    ]
    return [(seed_certificate(cloud, c, f"site{i}-cert"), c) for i, c in enumerate(chains)]


def finished_runs(cloud: LocalCloud, job: str, count: int) -> list[str]:
    """`count` completed runs of `job` (whose image must exit at once), one minute apart."""
    names = []
    for _ in range(count):
        run = cloud.code_engine.job_runs.submit(job)
        cloud.code_engine.job_runs.wait(run["name"])
        cloud.code_engine.clock.advance(dt.timedelta(minutes=1))
        names.append(run["name"])
    return names


def user_job(cloud: LocalCloud, runs: int) -> list[str]:
    """The user's own job, unrelated to certsync, with finished runs of its own."""
    cloud.code_engine.register_image(QUICK, [shutil.which("true") or "/bin/true"])
    cloud.code_engine.jobs.create({"name": "nightly-report", "image_reference": QUICK})
    return finished_runs(cloud, "nightly-report", runs)


def test_a_100_secret_rotation_in_crn_form_is_synced_through_the_trigger(cloud, tmp_path, trigger):
    seeded = seed_many(cloud, 100)
    deploy_job(
        cloud, tmp_path, [{"secret": i, "target": f"tls-{n}"} for n, (i, _) in enumerate(seeded)]
    )

    cloud.event_notifications.publish_secret_event(
        event_sub_type="secret_rotated",
        secret_type="imported_cert",
        secrets=[secret_entry_of(cloud, secret_id) for secret_id, _ in seeded],
    )

    expected = {f"tls-{n}": c.leaf.cert.serial_number for n, (_, c) in enumerate(seeded)}
    assert wait_until(lambda: all(served_serial(cloud, t) == s for t, s in expected.items()), 90)
    [notification] = cloud.event_notifications.notifications()
    assert len(json.dumps(notification)) > 40_000  # what Event Notifications sent the trigger
    bodies = run_bodies(cloud)
    sizes = [len(b) for b in bodies]
    print(f"100-secret notification: {len(bodies)} run(s), largest run request {max(sizes)} bytes")
    assert max(sizes) <= MAX_RUN_BYTES
    for run in cloud.code_engine.job_runs.list(JOB):
        assert cloud.code_engine.job_runs.wait(run["name"])["status"] == "completed"
    logs = "".join(
        cloud.code_engine.job_runs.logs(r["name"]) for r in cloud.code_engine.job_runs.list(JOB)
    )
    assert f'"notification_id": "{notification["notification_id"]}"' in logs
    assert_no_secret_material(logs + trigger.output(), TOKEN, APIKEY)


def test_a_100_secret_rotation_fits_beside_a_job_definition_of_4_kib(cloud, tmp_path):
    """Whether the job's definition counts towards a run's 10 KiB is undocumented: the local
    cloud counts it. certsync's 6 KiB budget leaves 4 KiB for the job. A 100-secret rotation of
    a job with a 63-character name is one run of over 6 KiB, too large beside such a job."""
    job_name = "certsync-" + "x" * 54
    seeded = seed_many(cloud, 100)
    mappings = [{"secret": i, "target": f"tls-{n}"} for n, (i, _) in enumerate(seeded)]
    settings = job_settings(cloud, tmp_path, mappings)
    pad = {"type": "literal", "name": "PAD", "value": ""}
    variables = [*settings["run_env_variables"], pad]
    cloud.code_engine.jobs.create({"name": job_name, **settings, "run_env_variables": variables})
    size = job_definition_bytes(cloud.code_engine.jobs.get(job_name))
    pad["value"] = "x" * (4096 - size)
    cloud.code_engine.jobs.update(job_name, "*", {"run_env_variables": variables})
    assert job_definition_bytes(cloud.code_engine.jobs.get(job_name)) == 4096
    env = trigger_env(cloud, apikey=APIKEY, job=job_name, token=TOKEN)
    with started_trigger(env, tmp_path, token=TOKEN) as running:
        destination = cloud.event_notifications.add_webhook_destination(
            f"{running.url}/events",
            headers={"Authorization": f"Bearer {TOKEN}"},
            sensitive_headers={"Authorization"},
        )
        cloud.event_notifications.subscribe(destination)
        cloud.event_notifications.publish_secret_event(
            event_sub_type="secret_rotated",
            secret_type="imported_cert",
            secrets=[secret_entry_of(cloud, secret_id) for secret_id, _ in seeded],
        )
        expected = {f"tls-{n}": c.leaf.cert.serial_number for n, (_, c) in enumerate(seeded)}
        assert wait_until(
            lambda: all(served_serial(cloud, t) == s for t, s in expected.items()), 90
        )
    statuses = [r.status for r in cloud.requests.entries("POST", JOB_RUNS)]
    assert statuses == [202, 202]  # the rotation in two runs, each accepted


def job_definition_bytes(job: dict[str, Any]) -> int:
    """A job's settings (as `get_job` shows them) measured as the SDK sends a body."""
    settings = {k: v for k, v in job.items() if k.startswith(("image_", "run_", "scale_"))}
    return len(json.dumps(settings).encode())


def test_event_notifications_own_job_destination_meets_the_size_limit(cloud, tmp_path):
    """What the trigger avoids: the whole notification in `ibmendata` is over 10 KiB."""
    seeded = seed_many(cloud, 20)
    deploy_job(
        cloud, tmp_path, [{"secret": i, "target": f"tls-{n}"} for n, (i, _) in enumerate(seeded)]
    )
    destination = cloud.event_notifications.add_code_engine_job_destination(JOB)
    cloud.event_notifications.subscribe(destination)

    cloud.event_notifications.publish_secret_event(
        event_sub_type="secret_rotated",
        secret_type="imported_cert",
        secrets=[secret_entry_of(cloud, secret_id) for secret_id, _ in seeded],
    )

    assert wait_until(
        lambda: any(d.outcome != "retrying" for d in cloud.event_notifications.deliveries()), 30
    )
    assert cloud.code_engine.job_runs.list(JOB) == []
    assert all(served_serial(cloud, f"tls-{n}") is None for n in range(20))


@pytest.mark.parametrize("secret_type", ["arbitrary", "iam_credentials", "username_password"])
def test_rotations_of_other_secret_types_start_no_run(cloud, tmp_path, trigger, secret_type):
    deploy_job(
        cloud, tmp_path, [{"secret": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", "target": "tls-a"}]
    )

    cloud.event_notifications.publish_secret_event(
        event_sub_type="secret_rotated",
        secret_type=secret_type,
        secrets=[
            secret_entry(
                cloud.identity.secret_crn("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"),
                secret_name="db-password",
                serial_number=None,  # not a certificate: no serial, domains nor expiration
                domains=None,
                secret_expiration=None,
            )
        ],
    )

    assert wait_until(lambda: len(trigger.named("request_finished")) == 1, 20)
    [line] = trigger.named("request_finished")
    assert (line["status"], line["outcome"], line["secret_type"]) == (200, "ignored", secret_type)
    assert run_bodies(cloud) == []


def test_the_job_prunes_its_own_finished_runs_and_nothing_else(cloud, tmp_path):
    [(secret_id, chain)] = seed_many(cloud, 1)
    users = user_job(cloud, 5)
    cloud.code_engine.jobs.create({"name": JOB, "image_reference": QUICK})
    old = finished_runs(cloud, JOB, 14)
    deploy_job_image(cloud, tmp_path, secret_id)

    run = cloud.code_engine.job_runs.submit(JOB)
    assert cloud.code_engine.job_runs.wait(run["name"], 60)["status"] == "completed"

    left = {r["name"] for r in cloud.code_engine.job_runs.list(JOB)}
    assert left == {*old[-10:], run["name"]}  # the 10 newest finished, and the run itself
    assert {r["name"] for r in cloud.code_engine.job_runs.list("nightly-report")} == set(users)
    logs = cloud.code_engine.job_runs.logs(run["name"])
    [pruned] = [json.loads(line) for line in logs.splitlines() if '"runs_pruned"' in line]
    assert (pruned["deleted"], pruned["kept"]) == (4, 10)
    assert served_serial(cloud, "tls-0") == chain.leaf.cert.serial_number


def deploy_job_image(cloud: LocalCloud, tmp_path: Path, secret_id: str) -> None:
    """Point the existing certsync job at the real job, with one mapping."""
    mappings = [{"secret": secret_id, "target": "tls-0"}]
    cloud.code_engine.jobs.update(JOB, "*", job_settings(cloud, tmp_path, mappings))


def test_a_full_run_quota_is_freed_by_pruning_only_the_jobs_own_runs(cloud, tmp_path, trigger):
    cloud.code_engine.job_runs.max_job_runs = 20
    [(secret_id, chain)] = seed_many(cloud, 1)
    users = user_job(cloud, 5)
    cloud.code_engine.jobs.create({"name": JOB, "image_reference": QUICK})
    finished_runs(cloud, JOB, 15)  # the project is full: 5 + 15 = 20
    deploy_job_image(cloud, tmp_path, secret_id)

    cloud.event_notifications.publish_secret_event(
        event_sub_type="secret_rotated",
        secret_type="imported_cert",
        secrets=[secret_entry_of(cloud, secret_id)],
    )

    assert wait_until(lambda: served_serial(cloud, "tls-0") == chain.leaf.cert.serial_number, 60)
    statuses = [r.status for r in cloud.requests.entries("POST", JOB_RUNS)]
    assert statuses == [400, 202]  # refused for the limit, then accepted once room was made
    assert {r["name"] for r in cloud.code_engine.job_runs.list("nightly-report")} == set(users)
    assert len(cloud.code_engine.job_runs.list()) <= 20
    [retried] = [e for e in trigger.named("call_retried") if "limited to 20" in e["error"]]
    assert "deleted 5 finished run(s)" in retried["error"]
    assert trigger.named("job_run_submitted")


@pytest.mark.slow
def test_150_rotations_through_the_trigger_never_fill_the_run_quota(cloud, tmp_path, trigger):
    """Run history stays bounded: each run prunes the job's finished runs behind it."""
    cloud.code_engine.job_runs.max_running_instances = 4  # a busy project queues runs (run-job.md)
    [(secret_id, _)] = seed_many(cloud, 1)
    users = user_job(cloud, 5)
    deploy_job(cloud, tmp_path, [{"secret": secret_id, "target": "tls-0"}])
    held: list[int] = []
    done = threading.Event()

    def settled(submitted: int) -> bool:
        runs = cloud.code_engine.job_runs.list()
        return len(trigger.named("job_run_submitted")) >= submitted and all(
            r["status"] in ("completed", "failed") for r in runs
        )

    def watch() -> None:
        while not done.wait(0.05):
            held.append(len(cloud.code_engine.job_runs.list()))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        for wave in range(1, 7):  # bursts of 25 notifications, each burst's runs queued at once
            for _ in range(25):
                cloud.event_notifications.publish_secret_event(
                    event_sub_type="secret_rotated",
                    secret_type="imported_cert",
                    secrets=[secret_entry_of(cloud, secret_id)],
                )
            assert wait_until(lambda: settled(25 * wave), 90)  # noqa: B023
    finally:
        done.set()
        watcher.join()

    print(f"150 rotations: the project held at most {max(held)} job runs")
    # Without pruning the project would hold 5 + 150 runs (and refuse the 96th). With it: the
    # user's 5, the 10 the retention keeps, the runs that finished after the last prune (at most
    # as many as run at once), and one burst.
    running = cloud.code_engine.job_runs.max_running_instances
    assert max(held) <= 5 + 10 + running + 25 < cloud.code_engine.job_runs.max_job_runs
    assert len(trigger.named("job_run_submitted")) == 150
    assert trigger.named("job_run_submit_failed") == []
    assert {r["name"] for r in cloud.code_engine.job_runs.list("nightly-report")} == set(users)
    mine = cloud.code_engine.job_runs.list(JOB)
    assert len(mine) <= 10 + running
    assert all(r["status"] == "completed" for r in mine)
