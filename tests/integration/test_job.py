"""The real job (`python -m job`, a subprocess as on Code Engine) against the local IBM Cloud."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from cryptography import x509

from localcloud import Fault, LocalCloud
from localcloud.secrets_manager.model import CertificateParts
from tests import builders
from tests.pki import Chain, make_chain, renew
from tests.support import (
    APIKEY,
    assert_no_secret_material,
    assert_same_material,
    job_env,
    run_job,
    seed_certificate,
    seeded_mappings,
)

pytestmark = pytest.mark.integration

SECRETS_PATH = r"/v2/projects/[^/]+/secrets"


def rotate(cloud: LocalCloud, secret_id: str, chain: Chain) -> None:
    parts = CertificateParts(chain.leaf_pem, chain.key_pem, chain.intermediate_pem)
    cloud.secrets_manager.rotate(secret_id, parts)


def served(cloud: LocalCloud, target: str) -> list[x509.Certificate]:
    secret = cloud.code_engine.secrets.find(target)
    assert secret is not None, f"Code Engine secret {target!r} does not exist"
    return x509.load_pem_x509_certificates(secret["data"]["tls_cert"].encode())


def ce_writes(cloud: LocalCloud) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in cloud.requests.entries(path=SECRETS_PATH)
        if r.method in ("POST", "PUT", "PATCH", "DELETE")
    ]


def test_first_sync_creates_the_secret_with_leaf_and_intermediate(cloud):
    chain = make_chain()
    secret_id = seed_certificate(cloud, chain, "web-cert")
    result = run_job(job_env(cloud, [{"secret": secret_id, "target": "tls-web"}]))
    assert result.returncode == 0, result.stderr
    assert result.outcomes() == {"tls-web": "created"}
    assert served(cloud, "tls-web") == [chain.leaf.cert, chain.intermediate.cert]
    stored = cloud.code_engine.secrets.find("tls-web")
    assert stored is not None
    assert stored["format"] == "tls"
    assert_same_material(stored["data"]["tls_key"], chain.key_pem, "tls_key")
    assert result.summary["created"] == 1
    assert_no_secret_material(result.stdout + result.stderr, APIKEY)


def test_second_run_with_nothing_changed_makes_zero_writes(cloud):
    secret_id = seed_certificate(cloud, make_chain(), "web-cert")
    env = job_env(cloud, [{"secret": secret_id, "target": "tls-web"}])
    assert run_job(env).returncode == 0
    cloud.requests.clear()
    result = run_job(env)
    assert result.returncode == 0
    assert result.outcomes() == {"tls-web": "current"}
    assert ce_writes(cloud) == []


def test_rotation_replaces_with_if_match_carrying_the_tag_just_read(cloud):
    old = make_chain(days=30)
    secret_id = seed_certificate(cloud, old, "web-cert")
    env = job_env(cloud, [{"secret": secret_id, "target": "tls-web"}])
    assert run_job(env).returncode == 0
    before = cloud.code_engine.secrets.find("tls-web")
    assert before is not None
    new = renew(old, days=90)
    rotate(cloud, secret_id, new)
    cloud.requests.clear()
    result = run_job(env)
    assert result.returncode == 0
    (line,) = result.events("target_updated")
    assert (line["previous_serial"], line["serial"]) == (old.serial_hex, new.serial_hex)
    assert served(cloud, "tls-web")[0] == new.leaf.cert
    (put,) = cloud.requests.entries(method="PUT", path=SECRETS_PATH)
    assert put.headers["if-match"] == before["entity_tag"]
    assert put.headers["if-match"] != "*"


def test_mappings_by_id_and_by_crn(cloud):
    first, second = (
        seed_certificate(cloud, make_chain(), "cert-a"),
        seed_certificate(cloud, make_chain(), "cert-b"),
    )
    mappings = [
        {"secret": first, "target": "tls-a"},
        {"secret": cloud.identity.secret_crn(second), "target": "tls-b"},
    ]
    result = run_job(job_env(cloud, mappings))
    assert result.returncode == 0
    assert result.outcomes() == {"tls-a": "created", "tls-b": "created"}


def notification(cloud: LocalCloud, *secret_ids: str) -> str:
    """`ibmendata`: a rotation of `secret_ids` in `cloud`, as the trigger passes it on."""
    return json.dumps(
        builders.notification(
            secret_type="imported_cert",
            secrets=[builders.secret_entry(cloud.identity.secret_crn(i)) for i in secret_ids],
            source=cloud.identity.sm_instance_crn,
            id="9d8f1e2a-0000-4000-8000-000000000001",
            notification_id="9d8f1e2a-0000-4000-8000-000000000001",
        )
    )


def test_an_event_naming_two_secrets_syncs_exactly_their_mappings(cloud):
    ids = [seed_certificate(cloud, make_chain(), f"cert-{i}") for i in range(3)]
    mappings = [{"secret": i, "target": f"tls-{n}"} for n, i in enumerate(ids)]
    env = job_env(cloud, mappings, ibmendata=notification(cloud, ids[0], ids[2]), CE_JOBRUN="run-1")
    result = run_job(env)
    assert result.returncode == 0
    assert result.outcomes() == {"tls-0": "created", "tls-2": "created"}
    assert cloud.code_engine.secrets.find("tls-1") is None
    assert {line.get("notification_id") for line in result.lines} == {
        "9d8f1e2a-0000-4000-8000-000000000001"
    }
    assert {line.get("ce_jobrun") for line in result.lines} == {"run-1"}


def test_secret_ids_select_an_ad_hoc_resync(cloud):
    ids = [seed_certificate(cloud, make_chain(), f"cert-{i}") for i in range(2)]
    mappings = [{"secret": i, "target": f"tls-{n}"} for n, i in enumerate(ids)]
    env = job_env(cloud, mappings, CERTSYNC_SECRET_IDS=ids[1])
    assert run_job(env).outcomes() == {"tls-1": "created"}
    assert run_job(env, "--secret", ids[0]).outcomes() == {"tls-0": "created"}


@pytest.mark.parametrize(
    "fault",
    [
        Fault(path=r"/api/v2/secrets/", method="GET", status=503, times=2),
        Fault(path=SECRETS_PATH, method="GET", status=429, retry_after=1, times=1),
        Fault(path=SECRETS_PATH, method="POST", status=503, times=1),
        Fault(path=r"/api/v2/secrets/", method="GET", drop=True, times=1),
    ],
    ids=["sm-503-twice", "ce-429-retry-after", "ce-create-503", "sm-dropped-connection"],
)
def test_transient_faults_converge(cloud, fault):
    secret_id = seed_certificate(cloud, make_chain(), "web-cert")
    cloud.faults.add(fault)
    result = run_job(job_env(cloud, [{"secret": secret_id, "target": "tls-web"}]))
    assert result.returncode == 0, result.stdout
    assert result.outcomes() == {"tls-web": "created"}
    assert result.events("call_retried")
    assert fault.times == 0 or fault not in cloud.faults.active()


def test_retry_after_is_honoured(cloud):
    secret_id = seed_certificate(cloud, make_chain(), "web-cert")
    cloud.faults.add(Fault(path=r"/api/v2/secrets/", method="GET", status=429, retry_after=2))
    result = run_job(job_env(cloud, [{"secret": secret_id, "target": "tls-web"}]))
    assert result.returncode == 0
    (retried,) = result.events("call_retried")
    assert retried["wait_seconds"] >= 2
    gets = cloud.requests.entries(method="GET", path=r"/api/v2/secrets/")
    assert len(gets) == 2


def test_a_permanent_error_is_not_retried(cloud):
    secret_id = seed_certificate(cloud, make_chain(), "web-cert")
    cloud.faults.add(Fault(path=r"/api/v2/secrets/", method="GET", status=403, times=None))
    result = run_job(job_env(cloud, [{"secret": secret_id, "target": "tls-web"}]))
    assert result.returncode == 1
    assert len(cloud.requests.entries(method="GET", path=r"/api/v2/secrets/")) == 1
    assert result.events("call_retried") == []


def corrupt_key(cloud: LocalCloud, secret_id: str) -> None:
    """Secrets Manager validates imports, so a mismatched key can only be planted in its store."""
    version = cloud.secrets_manager.store.secret(secret_id).current
    version.payload["private_key"] = make_chain().key_pem


def test_mismatched_key_is_refused_and_code_engine_untouched(cloud):
    secret_id = seed_certificate(cloud, make_chain(), "web-cert")
    corrupt_key(cloud, secret_id)
    result = run_job(job_env(cloud, [{"secret": secret_id, "target": "tls-web"}]))
    assert result.returncode == 1
    (line,) = result.events("certificate_rejected")
    assert "private key does not match" in line["reason"]
    assert ce_writes(cloud) == []
    assert_no_secret_material(result.stdout + result.stderr)


def test_expired_certificate_is_refused_and_code_engine_untouched(cloud):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    chain = make_chain(not_before=past - dt.timedelta(days=90), not_after=past)
    secret_id = seed_certificate(cloud, chain, "old-cert")
    result = run_job(job_env(cloud, [{"secret": secret_id, "target": "tls-web"}]))
    assert result.returncode == 1
    assert "expired at" in result.events("certificate_rejected")[0]["reason"]
    assert ce_writes(cloud) == []


def put_target(cloud: LocalCloud, chain: Chain) -> dict[str, Any]:
    return cloud.code_engine.secrets.put(
        "tls-web",
        "tls",
        {"tls_cert": chain.leaf_pem + chain.intermediate_pem, "tls_key": chain.key_pem},
    )


def test_downgrade_is_refused_and_code_engine_untouched(cloud):
    longer = make_chain(days=300)
    before = put_target(cloud, longer)
    issued = longer.leaf.cert.not_valid_before_utc  # the same issuance, expiring earlier
    secret_id = seed_certificate(cloud, renew(longer, days=30, not_before=issued), "web-cert")
    result = run_job(job_env(cloud, [{"secret": secret_id, "target": "tls-web"}]))
    assert result.returncode == 1
    assert "downgrade" in result.events("target_refused")[0]["reason"]
    assert ce_writes(cloud) == []
    assert cloud.code_engine.secrets.find("tls-web") == before


def test_a_newer_certificate_that_expires_earlier_is_written(cloud):
    """A re-issue (new CA, re-key, shorter profile) is newer by issuance, not by expiry."""
    now = dt.datetime.now(dt.UTC)
    held = make_chain(days=365, not_before=now - dt.timedelta(days=60))
    put_target(cloud, held)
    reissued = renew(held, days=47, not_before=now - dt.timedelta(hours=1))
    secret_id = seed_certificate(cloud, reissued, "web-cert")

    result = run_job(job_env(cloud, [{"secret": secret_id, "target": "tls-web"}]))

    assert result.returncode == 0, result.stderr
    assert result.outcomes() == {"tls-web": "updated"}
    assert served(cloud, "tls-web")[0] == reissued.leaf.cert


def test_an_older_certificate_that_expires_later_is_refused_unless_rolled_back(cloud):
    now = dt.datetime.now(dt.UTC)
    held = make_chain(days=47, not_before=now - dt.timedelta(hours=1))
    before = put_target(cloud, held)
    older = renew(held, days=365, not_before=now - dt.timedelta(days=60))
    secret_id = seed_certificate(cloud, older, "web-cert")
    env = job_env(cloud, [{"secret": secret_id, "target": "tls-web"}])

    refused = run_job(env)
    assert refused.returncode == 1
    assert "refusing to downgrade" in refused.events("target_refused")[0]["reason"]
    assert cloud.code_engine.secrets.find("tls-web") == before

    unnamed = run_job(env, "--allow-rollback")  # a rollback names the secrets it applies to
    assert unnamed.returncode == 2
    assert "--allow-rollback" in unnamed.stderr
    assert cloud.code_engine.secrets.find("tls-web") == before

    rolled_back = run_job(env, "--secret", secret_id, "--allow-rollback")
    assert rolled_back.returncode == 0, rolled_back.stderr
    [line] = rolled_back.events("target_updated")
    assert (line["rollback"], line["level"]) == (True, "warning")
    assert served(cloud, "tls-web")[0] == older.leaf.cert


def test_a_missing_secret_fails_its_mapping_while_the_others_sync(cloud):
    good = seed_certificate(cloud, make_chain(), "good")
    missing = "6a3d0f3e-1111-4222-8333-944455556666"
    mappings = [{"secret": missing, "target": "tls-gone"}, {"secret": good, "target": "tls-good"}]
    result = run_job(job_env(cloud, mappings))
    assert result.returncode == 1
    assert result.outcomes() == {"tls-gone": "failed", "tls-good": "created"}
    assert "HTTP 404" in result.events("mapping_failed")[0]["reason"]
    assert result.summary["failed"] == 1


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"CE_PROJECT_ID": ""}, "CE_PROJECT_ID"),
        ({"CERTSYNC_MAPPINGS": "[{"}, "CERTSYNC_MAPPINGS"),
        ({"CODE_ENGINE_AUTH_TYPE": "kerberos"}, "CODE_ENGINE_AUTH_TYPE"),
        ({"CERTSYNC_CONCURRENCY": "0"}, "CERTSYNC_CONCURRENCY"),
        ({"ibmendata": "{}"}, "ibmendata"),
        ({"CERTSYNC_SECRET_IDS": "8a3d0f3e-1111-4222-8333-944455556666"}, "CERTSYNC_SECRET_IDS"),
        ({"SECRETS_MANAGER_APIKEY": '"quoted-key"'}, "credentials"),
    ],
)
def test_bad_configuration_exits_2_before_any_api_call(cloud, change, named):
    secret_id = seed_certificate(cloud, make_chain(), "web-cert")
    result = run_job(job_env(cloud, [{"secret": secret_id, "target": "tls-web"}], **change))
    assert result.returncode == 2
    assert named in result.stderr
    assert cloud.requests.entries() == []


@pytest.mark.parametrize("secret_type", ["public_cert", "private_cert"])
def test_public_and_private_certificates(cloud, secret_type):
    chain = make_chain()
    secret_id = seed_certificate(cloud, chain, "web-cert", secret_type)
    result = run_job(job_env(cloud, [{"secret": secret_id, "target": "tls-web"}]))
    assert result.returncode == 0, result.stdout
    assert served(cloud, "tls-web") == [chain.leaf.cert, chain.intermediate.cert]


def test_trusted_profile_authentication(cloud, tmp_path):
    token_file = tmp_path / "cr-token"
    token_file.write_text("cr-token-for-the-certsync-job")
    cloud.iam.add_trusted_profile("cr-token-for-the-certsync-job", "certsync")
    secret_id = seed_certificate(cloud, make_chain(), "web-cert")
    env = job_env(cloud, [{"secret": secret_id, "target": "tls-web"}])
    for prefix in ("SECRETS_MANAGER", "CODE_ENGINE"):
        del env[f"{prefix}_APIKEY"]
        env |= {
            f"{prefix}_AUTH_TYPE": "container",
            f"{prefix}_IAM_PROFILE_NAME": "certsync",
            f"{prefix}_CR_TOKEN_FILENAME": str(token_file),
        }
    result = run_job(env)
    assert result.returncode == 0, result.stdout
    assert_no_secret_material(result.stdout + result.stderr, "cr-token-for-the-certsync-job")


def test_a_wrong_api_key_fails_cleanly_without_leaking_it(cloud):
    secret_id = seed_certificate(cloud, make_chain(), "web-cert")
    env = job_env(cloud, [{"secret": secret_id, "target": "tls-web"}])
    env["SECRETS_MANAGER_APIKEY"] = "wrong-key-that-must-not-leak"
    result = run_job(env)
    assert result.returncode == 1
    assert result.outcomes() == {"tls-web": "failed"}
    assert_no_secret_material(result.stdout + result.stderr, "wrong-key-that-must-not-leak", APIKEY)


def test_one_secret_feeding_several_targets_is_fetched_once(cloud):
    secret_id = seed_certificate(cloud, make_chain(), "web-cert")
    mappings = [{"secret": secret_id, "target": f"tls-{n}"} for n in range(4)]
    result = run_job(job_env(cloud, mappings))
    assert result.returncode == 0
    assert len(cloud.requests.entries(method="GET", path=r"^/api/v2/secrets/")) == 1


def test_high_concurrency_keeps_stderr_clean(cloud):
    """One connection per worker: urllib3 never discards pooled connections (nor warns)."""
    mappings = seeded_mappings(cloud, 40, "tls")
    result = run_job(job_env(cloud, mappings, CERTSYNC_CONCURRENCY="32"))
    assert result.returncode == 0
    assert result.summary["created"] == 40
    assert result.stderr == ""
