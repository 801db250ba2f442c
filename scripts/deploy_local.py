"""`python -m deploy` against the local IBM Cloud: the config that points it there, the images its
Code Engine runs, and running deploy. Used by the tests and `make demo`.
"""

from __future__ import annotations

import io
import secrets
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from localcloud import LocalCloud
from scripts.processes import ROOT, base_env

JOB_IMAGE = "icr.io/certsync/certsync-job:local"
TRIGGER_IMAGE = "icr.io/certsync/certsync-trigger:local"
REGISTRY_SECRET = "certsync-registry"  # the Code Engine registry secret the images pull with
ADMIN_IAM_ID = "IBMid-certsync-admin"


def register_images(cloud: LocalCloud) -> None:
    """The images `docker build` of Dockerfile.job and Dockerfile.trigger gives, pushed to the
    (private) IBM Cloud Container Registry: the emulated Code Engine runs what each Dockerfile's
    ENTRYPOINT and CMD say as local processes. And the registry secret that pulls them, as
    `ibmcloud ce registry create --name certsync-registry --server icr.io` makes it."""
    cloud.code_engine.register_dockerfile(JOB_IMAGE, ROOT / "Dockerfile.job", cwd=ROOT)
    cloud.code_engine.register_dockerfile(TRIGGER_IMAGE, ROOT / "Dockerfile.trigger", cwd=ROOT)
    credentials = {"server": "icr.io", "username": "iamapikey", "password": secrets.token_hex(16)}
    cloud.code_engine.secrets.put(REGISTRY_SECRET, "registry", credentials)


def local_config(
    cloud: LocalCloud, mappings: list[dict[str, Any]], **overrides: Any
) -> dict[str, Any]:
    """A certsync.yaml for the local account: the real layout, with every endpoint overridden."""
    identity = cloud.identity
    config: dict[str, Any] = {
        "name": "certsync",
        "region": identity.region,
        "iam_url": cloud.iam_url,
        "resource_controller_url": cloud.resource_controller_url,
        "code_engine": {"project": project_name(cloud), "url": cloud.code_engine_url},
        "secrets_manager": {
            "instance_id": identity.sm_instance_id,
            "url": cloud.secrets_manager_url,
        },
        "event_notifications": {
            "instance_id": identity.en_instance_id,
            "url": cloud.event_notifications_url,
        },
        "mappings": mappings,
        "delivery": "webhook",
        "schedule": "17 3 * * *",
        "images": {"job": JOB_IMAGE, "trigger": TRIGGER_IMAGE, "registry_secret": REGISTRY_SECRET},
        "env": {"job": {"CERTSYNC_RETRY_SECONDS": "20"}},
    }
    config.update(overrides)
    return config


def project_name(cloud: LocalCloud) -> str:
    return str(cloud.code_engine.project().to_dict()["name"])


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def admin_key(cloud: LocalCloud) -> str:
    """An API key of the account's administrator (the person who runs deploy)."""
    key = f"admin-{secrets.token_hex(16)}"
    cloud.iam.add_apikey(key, ADMIN_IAM_ID)
    return key


def run_deploy(
    verb: str, config: Path, apikey: str, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m deploy <verb> --config <config> <args>` with the key (and `env`) in a
    container-like environment: its exit code, stdout and stderr. It runs `deploy.__main__.main`
    in this process (its argv, environment and streams are parameters): a process of its own
    would repeat about 0.5 s of imports each time, and the tests run deploy over a hundred times.
    `tests/integration/test_cli.py` and `test_demo.py` start it as a process, as a user does."""
    from deploy.__main__ import main

    argv = [verb, "--config", str(config), *args]
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(argv, {**base_env(), "IBMCLOUD_API_KEY": apikey, **(env or {})}, out, err)
    except SystemExit as exc:  # argparse refusing the arguments, as the process would exit
        code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(["deploy", *argv], code, out.getvalue(), err.getvalue())
