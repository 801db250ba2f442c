"""`python -m deploy doctor --canary`: one real rotation through the installed path, hop by hop.

The same local account as `test_deploy.py` (deploy's `main` as `run_deploy` calls it, the SDKs, the
emulated Code Engine running the trigger and the job). Each failure test breaks one link the
way a real account can and expects the canary to name that hop.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography import x509

from tests.builders import code_engine_sdk, secrets_manager_sdk
from tests.integration.test_deploy import (  # noqa: F401
    Account,
    account,
    applied,
    cloud,
    give_the_destination_a_wrong_token,
)

pytestmark = pytest.mark.integration

HOPS = ["rotated", "delivered", "run_started", "synced"]


def canary(account: Account, *args: str) -> tuple[int, dict[str, Any]]:  # noqa: F811
    done = account.deploy("doctor", "--canary", "--json", "--canary-timeout", "60", *args)
    return done.returncode, json.loads(done.stdout)


def hops(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert [h["hop"] for h in report["canary"]["hops"]] == HOPS
    return {h["hop"]: h for h in report["canary"]["hops"]}


def canary_serial(account: Account) -> int:  # noqa: F811
    body = (
        code_engine_sdk(account.cloud, account.apikey)
        .get_secret(account.cloud.identity.project_id, "certsync-canary")
        .get_result()
    )
    return x509.load_pem_x509_certificate(body["data"]["tls_cert"].encode()).serial_number


def test_the_canary_follows_a_rotation_into_code_engine_and_cleans_up(account: Account) -> None:  # noqa: F811
    applied(account)
    plain = json.loads(account.deploy("doctor", "--json").stdout)
    (hint,) = [c for c in plain["checks"] if c["what"].startswith("canary rotation")]
    assert "doctor --canary" in hint["fix"]

    code, report = canary(account)
    assert code == 0, report
    assert report["canary"]["ok"] is True
    for hop in hops(report).values():
        assert hop["ok"] is True
        assert isinstance(hop["seconds"], (int, float))
    # The canary TLS secret holds the version Secrets Manager has now.
    sm = secrets_manager_sdk(account.cloud, account.apikey)
    (listed,) = [
        s
        for s in sm.list_secrets(search="certsync-canary").get_result()["secrets"]
        if s["name"] == "certsync-canary"
    ]
    assert listed["labels"] == ["certsync-canary"]
    assert int(listed["serial_number"].replace(":", ""), 16) == canary_serial(account)
    # Its job runs are gone, and the config map holds the config's mappings again.
    ce = code_engine_sdk(account.cloud, account.apikey)
    runs = ce.list_job_runs(account.cloud.identity.project_id, job_name="certsync").get_result()
    assert not [r for r in runs["job_runs"] if listed["id"] in json.dumps(r)]
    # ... and the job's status record lists only the user's targets.
    record = ce.get_config_map(account.cloud.identity.project_id, "certsync-status").get_result()
    assert record.get("data", {}) == {}  # the canary was its only target
    done = account.deploy("plan", "--json")
    assert done.returncode == 0
    plan = json.loads(done.stdout)
    assert [c for c in plan["changes"] if c["action"] != "keep"] == []

    # A second canary reuses the certificate (a new version) and plain doctor stops suggesting it.
    code, again = canary(account)
    assert code == 0, again
    names = [s["name"] for s in sm.list_secrets(search="certsync-canary").get_result()["secrets"]]
    assert names.count("certsync-canary") == 1
    plain = json.loads(account.deploy("doctor", "--json").stdout)
    assert not [c for c in plain["checks"] if c["what"].startswith("canary rotation")]


def test_the_canary_text_gives_one_line_per_hop(account: Account) -> None:  # noqa: F811
    applied(account)
    done = account.deploy("doctor", "--canary", "--canary-timeout", "60")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.split("Canary rotation")[1].splitlines()
    for hop in HOPS:
        (line,) = [ln for ln in lines if ln.split()[:1] == [hop]]
        assert line.split()[1] == "ok"
        assert line.split()[3] == "s"
        float(line.split()[2])


def test_a_topic_filter_that_lets_nothing_through_fails_the_delivered_hop(
    account: Account,  # noqa: F811
) -> None:
    applied(account)
    en, instance = account.event_notifications(), account.cloud.identity.en_instance_id
    (topic,) = [
        t
        for t in en.list_topics(instance_id=instance).get_result()["topics"]
        if t["name"] == "certsync-rotations"
    ]
    full = en.get_topic(instance_id=instance, id=topic["id"]).get_result()
    # Rules on a topic cannot be changed in place (en-cli.md): the topic and its subscription are
    # made again, as by hand, with a filter that no Secrets Manager event passes.
    (subscription,) = full["subscriptions"]
    destination_id = subscription["destination_id"]
    en.delete_subscription(instance_id=instance, id=subscription["id"])
    en.delete_topic(instance_id=instance, id=topic["id"])
    rule = {
        "enabled": True,
        "event_type_filter": "$.*",
        "notification_filter": '$.data.event_type == "never_sent"',
    }
    sources = [{"id": source["id"], "rules": [rule]} for source in full["sources"]]
    again = en.create_topic(
        instance_id=instance,
        name="certsync-rotations",
        description=full.get("description"),
        sources=sources,
    ).get_result()
    en.create_subscription(
        instance_id=instance,
        name=subscription["name"],
        destination_id=destination_id,
        topic_id=again["id"],
        attributes={"signing_enabled": False},
    )
    code, report = canary(account, "--canary-timeout", "5")  # nothing is ever delivered
    assert code == 1
    by_hop = hops(report)
    assert by_hop["rotated"]["ok"] is True
    assert by_hop["delivered"]["ok"] is False
    assert "certsync-rotations" in by_hop["delivered"]["detail"]
    assert by_hop["synced"]["ok"] is False


def test_a_wrong_destination_token_fails_the_delivered_hop(account: Account) -> None:  # noqa: F811
    applied(account)
    give_the_destination_a_wrong_token(account)
    code, report = canary(account, "--canary-timeout", "6")
    assert code == 1
    delivered = hops(report)["delivered"]
    assert delivered["ok"] is False
    assert "wrong bearer token" in delivered["detail"]


def test_a_profile_that_may_not_write_fails_the_synced_hop(account: Account) -> None:  # noqa: F811
    # Event Notifications starts the job itself, so the run starts whatever the profile may do;
    # the profile keeps only Reader on the project: it reads the target but cannot write it.
    images = account.config["images"]
    account.rewrite(delivery="job", images={k: images[k] for k in ("job", "registry_secret")})
    applied(account)
    policies = account.policies()
    project = account.cloud.identity.project_id
    listed = policies.list_policies(account_id=account.cloud.identity.account_id).get_result()
    (writer,) = [
        p
        for p in listed["policies"]
        if p["type"] == "access"
        and {"name": "serviceInstance", "value": project} in p["resources"][0]["attributes"]
    ]
    etag = policies.get_policy(writer["id"]).get_headers()["ETag"]
    policies.replace_policy(
        policy_id=writer["id"],
        if_match=etag,
        type=writer["type"],
        subjects=writer["subjects"],
        roles=[{"role_id": "crn:v1:bluemix:public:iam::::serviceRole:Reader"}],
        resources=writer["resources"],
        description=writer.get("description"),
    )
    code, report = canary(account, "--canary-timeout", "60")
    assert code == 1
    by_hop = hops(report)
    assert [by_hop[h]["ok"] for h in HOPS] == [True, True, True, False]
    assert "may write secrets" in by_hop["synced"]["detail"]
