"""The canary's certificate and its mapping: a self-signed, short-lived certificate imported into
Secrets Manager once and reused, mapped to the TLS secret `<name>-canary` for the duration of a
check, rotated, and afterwards unmapped, its job runs deleted and its entry taken out of the status
record."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deploy.engine import Session
from deploy.status import status_store
from shared.errors import CertsyncError

LABEL = "certsync-canary"
LIFETIME = dt.timedelta(days=7)  # long enough for the canary's job to accept it, short if it leaks
SKEW = dt.timedelta(minutes=5)  # valid from a little before now: clocks differ between services
Progress = Callable[[str], None]


def make_certificate(name: str, now: dt.datetime | None = None) -> tuple[str, str]:
    """(certificate PEM, private key PEM) for `<name>.certsync.invalid`, which nothing serves; a
    new key and serial every time."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    key = ec.generate_private_key(ec.SECP256R1())
    host = f"{name}.certsync.invalid"  # RFC 2606: .invalid never resolves
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - SKEW)
        .not_valid_after(now + LIFETIME)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def serial_of(cert_pem: str) -> str:
    """The leaf's serial as bare lowercase hex, as the job writes it in its logs."""
    return format(x509.load_pem_x509_certificate(cert_pem.encode()).serial_number, "x")


def is_canary(cert_pem: str, name: str) -> bool:
    """Whether `cert_pem`'s leaf is a canary certificate `make_certificate(name)` made."""
    try:
        cert = x509.load_pem_x509_certificates(cert_pem.encode())[0]
    except (ValueError, IndexError):
        return False
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return [n.value for n in names] == [f"{name}.certsync.invalid"]


def find_certificate(session: Session) -> str | None:
    """The canary certificate's id, or None when no canary has ever run."""
    from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsPager

    name, clients = session.config.canary_name, session.clients
    listed = clients.pages(
        SecretsPager(
            client=clients.secrets_manager, search=name, secret_types=["imported_cert"], limit=100
        ),
        f"list Secrets Manager certificates named '{name}'",
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
    name, clients = session.config.canary_name, session.clients
    cert_pem, key_pem = make_certificate(name)
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
    ce, name, target = (
        clients.code_engine,
        session.config.config_map_name,
        session.config.canary_name,
    )
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
    clients, name = session.clients, session.config.canary_name
    sm = clients.secrets_manager
    cert_pem, key_pem = make_certificate(name)
    clients.call(
        lambda: sm.create_secret_version(
            secret_id=secret_id,
            secret_version_prototype={"certificate": cert_pem, "private_key": key_pem},
        ),
        f"create a new version of the canary certificate '{name}'",
    )
    serial = serial_of(cert_pem)
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
    for name in runs:
        try:
            clients.call(
                lambda n=name: clients.code_engine.delete_job_run(project_id=project, name=n),
                f"delete the canary's job run '{name}'",
            )
        except CertsyncError as exc:
            progress(f"canary: job run '{name}' left in place ({exc})")
    _forget_target(session, progress)
    name = session.config.config_map_name
    try:
        body = clients.call(
            lambda: clients.code_engine.get_config_map(project_id=project, name=name),
            f"get Code Engine config map '{name}'",
        )
        clients.call(
            lambda: clients.code_engine.replace_config_map(
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
    name = session.config.canary_name
    store = status_store(session.clients, session.config, session.facts.project_id)
    try:
        record, tag = store.read()
        if tag is not None and name in record:
            store.update(lambda r: {k: v for k, v in r.items() if k != name}, first=(record, tag))
    except CertsyncError as exc:
        progress(f"canary: its entry stays in the status record ({exc})")


def _serial(value: object) -> str:
    """Secrets Manager writes serials as colon-separated hex; compare them as bare hex."""
    text = str(value or "").replace(":", "").lower().lstrip("0")
    return text or "0"
