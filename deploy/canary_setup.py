"""The canary's certificate and its mapping: imported into Secrets Manager once and reused,
mapped to the TLS secret `<name>-canary` for the duration of a check, rotated, and afterwards
unmapped, its job runs deleted and its entry taken out of the status record."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from deploy import canary_cert
from deploy.engine import Session
from deploy.status import status_configmap
from job.code_engine import StatusStore
from shared.errors import CertsyncError
from shared.sdk import call_pages

LABEL = "certsync-canary"
Progress = Callable[[str], None]


def find_certificate(session: Session) -> str | None:
    """The canary certificate's id, or None when no canary has ever run."""
    from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsPager

    name, clients = f"{session.config.name}-canary", session.clients
    listed = call_pages(
        SecretsPager(
            client=clients.secrets_manager, search=name, secret_types=["imported_cert"], limit=100
        ),
        what=f"list Secrets Manager certificates named '{name}'",
        policy=clients.policy,
    )
    for item in listed:
        if item.get("name") != name:
            continue
        if LABEL not in (item.get("labels") or []):
            raise CertsyncError(
                f"a certificate named '{name}' exists without the label '{LABEL}'; it is not "
                "certsync's canary and is left alone: rename it, or set another 'name' in "
                f"{session.config.path}"
            )
        return str(item["id"])
    return None


def certificate(session: Session, progress: Progress) -> str:
    """The canary certificate's id: found, or imported (a new self-signed one)."""
    found = find_certificate(session)
    if found is not None:
        return found
    name, clients = f"{session.config.name}-canary", session.clients
    cert_pem, key_pem = canary_cert.make(name)
    prototype = {
        "secret_type": "imported_cert",
        "name": name,
        "description": "certsync canary: rotated by `python -m deploy doctor --canary`",
        "labels": [LABEL],
        "certificate": cert_pem,
        "private_key": key_pem,
    }
    created = clients.call(
        lambda: clients.secrets_manager.create_secret(secret_prototype=prototype),
        f"import the canary certificate '{name}' into Secrets Manager",
    )
    progress(f"canary: certificate '{name}' imported (label '{LABEL}')")
    return str(created["id"])


def map_canary(session: Session, secret_id: str) -> dict[str, str]:
    """Add the canary's mapping to the mappings config map; returns the data to restore."""
    clients, project = session.clients, session.facts.project_id
    ce, name, target = clients.code_engine, session.config.config_map_name, _name(session)
    body = clients.call(
        lambda: ce.get_config_map(project_id=project, name=name),
        f"get Code Engine config map '{name}'",
    )
    data = dict(body.get("data") or {})
    mappings = json.loads(data.get("CERTSYNC_MAPPINGS") or "[]")
    canary = {"secret": secret_id, "target": target, "verify": False}
    changed = {
        **data,
        "CERTSYNC_MAPPINGS": json.dumps(
            [m for m in mappings if m.get("target") != target] + [canary],
            separators=(",", ":"),
            sort_keys=True,
        ),
    }
    clients.call(
        lambda: ce.replace_config_map(
            project_id=project, name=name, if_match=str(body["entity_tag"]), data=changed
        ),
        f"map the canary in Code Engine config map '{name}'",
    )
    return data


def rotate(session: Session, secret_id: str) -> str:
    """A new version of the canary certificate; returns its serial once Secrets Manager has it."""
    clients, name = session.clients, _name(session)
    sm = clients.secrets_manager
    cert_pem, key_pem = canary_cert.make(name)
    clients.call(
        lambda: sm.create_secret_version(
            secret_id=secret_id,
            secret_version_prototype={"certificate": cert_pem, "private_key": key_pem},
        ),
        f"create a new version of the canary certificate '{name}'",
    )
    serial = canary_cert.serial(cert_pem)
    meta = clients.call(
        lambda: sm.get_secret_metadata(id=secret_id), f"get the canary certificate '{name}'"
    )
    if _serial(meta.get("serial_number")) != serial:
        raise CertsyncError(
            f"its current version has serial {meta.get('serial_number')}, not {serial}"
        )
    return serial


def clean_up(
    session: Session, runs: Sequence[str], restore: dict[str, str], progress: Progress
) -> None:
    """Delete the canary's job runs `runs`, forget its target, give the config map `restore`."""
    clients, project = session.clients, session.facts.project_id
    ce = clients.code_engine
    for name in runs:
        try:
            clients.call(
                lambda n=name: ce.delete_job_run(project_id=project, name=n),
                f"delete the canary's job run '{name}'",
            )
        except CertsyncError as exc:
            progress(f"canary: job run '{name}' left in place ({exc})")
    _forget_target(session, progress)
    name = session.config.config_map_name
    try:
        body = clients.call(
            lambda: ce.get_config_map(project_id=project, name=name),
            f"get Code Engine config map '{name}'",
        )
        clients.call(
            lambda: ce.replace_config_map(
                project_id=project, name=name, if_match=str(body["entity_tag"]), data=restore
            ),
            f"unmap the canary in Code Engine config map '{name}'",
        )
    except CertsyncError as exc:
        progress(
            f"canary: config map '{name}' still maps the canary ({exc}); "
            f"python -m deploy apply --config {session.config.path} puts it back"
        )


def _forget_target(session: Session, progress: Progress) -> None:
    """The canary's run recorded its target in the job's status record: take it out again,
    so `job status` and `deploy status` show only the user's targets."""
    clients, name = session.clients, _name(session)
    store = StatusStore(
        clients.code_engine,
        session.facts.project_id,
        status_configmap(session.config),
        policy=clients.policy,
    )
    try:
        record, tag = store.read()
        if tag is not None and name in record:
            store.update(lambda r: {k: v for k, v in r.items() if k != name}, first=(record, tag))
    except CertsyncError as exc:
        progress(f"canary: its entry stays in the status record ({exc})")


def _name(session: Session) -> str:
    return f"{session.config.name}-canary"  # the certificate and the TLS secret


def _serial(value: object) -> str:
    """Secrets Manager writes serials as colon-separated hex; compare them as bare hex."""
    text = str(value or "").replace(":", "").lower().lstrip("0")
    return text or "0"
