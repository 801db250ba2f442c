"""The job's variables one by one: each reader takes the `EnvReader`, records what is wrong with
its variable by name, and returns the parsed value (`job.settings.Settings.from_env` calls them).

`CERTSYNC_CONNECT_TO` redirects the TLS check's connection for a name, in curl's `--connect-to`
form `HOST:PORT:CONNECT_TO_HOST:CONNECT_TO_PORT` (comma-separated entries; an empty HOST or PORT
matches any, an empty CONNECT_TO_HOST or CONNECT_TO_PORT keeps the original; IPv6 addresses in
brackets). The SNI and the name checked stay HOST.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from job.mappings import SecretMapping, parse_mappings
from shared.events import MalformedEvent, Notification, parse_notification, secret_id_from_ref
from shared.settings import EnvReader, ServiceAuth, read_service_auth

ALERT_VARIABLES = ("EVENT_NOTIFICATIONS_URL", "CERTSYNC_EN_INSTANCE_ID", "CERTSYNC_EN_SOURCE_ID")
_CONFIGMAP_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# `https://api.<region>.codeengine.cloud.ibm.com/v2` (Code Engine's regional endpoints; the
# private ones are `api.private.<region>...`).
_REGIONAL_HOST = re.compile(r"^api\.(?:private\.)?([a-z]{2,}(?:-[a-z0-9]+)+)\.codeengine\.")
_LABEL = re.compile(r"^[^,\s]{1,64}$")  # one label, as `match_all_labels` takes a comma list
_ENTRY = re.compile(
    r"^(?P<host>[^:\[\]]*):(?P<port>\d*):(?P<to_host>\[[0-9A-Fa-f:.]+\]|[^:\[\]]*):(?P<to_port>\d*)$"
)


@dataclass(frozen=True)
class AlertSettings:
    """Event Notifications, where certsync publishes its alerts as a custom source."""

    url: str
    auth: ServiceAuth
    instance_id: str
    source_id: str
    on_update: bool = False  # CERTSYNC_ALERT_ON_UPDATE: also announce every certificate written


@dataclass(frozen=True)
class ConnectTo:
    host: str  # "" matches any
    port: int | None  # None matches any
    to_host: str  # "" keeps the original host
    to_port: int | None  # None keeps the original port

    def matches(self, host: str, port: int) -> bool:
        return self.host in ("", host) and self.port in (None, port)


def parse_connect_to(text: str) -> tuple[ConnectTo, ...]:
    """Entries from `CERTSYNC_CONNECT_TO`; ValueError names the entry that is malformed."""
    entries = []
    for raw in (part.strip() for part in text.split(",")):
        if not raw:
            continue
        match = _ENTRY.match(raw)
        ports = [match.group(k) for k in ("port", "to_port")] if match else []
        if match is None or any(p and not 0 < int(p) < 65536 for p in ports):
            raise ValueError(
                f"entry {raw!r} is not HOST:PORT:CONNECT_TO_HOST:CONNECT_TO_PORT "
                "(as curl's --connect-to)"
            )
        entries.append(
            ConnectTo(
                host=match["host"].lower(),
                port=int(match["port"]) if match["port"] else None,
                to_host=match["to_host"].strip("[]"),
                to_port=int(match["to_port"]) if match["to_port"] else None,
            )
        )
    return tuple(entries)


def read_region(env: EnvReader) -> str:
    """CE_REGION (Code Engine injects it), else the region in CODE_ENGINE_URL's host."""
    region = env.get("CE_REGION")
    if region:
        return region
    url = env.get("CODE_ENGINE_URL") or env.get("CE_API_BASE_URL") or ""
    found = _REGIONAL_HOST.match(urlsplit(url).hostname or "")
    return found.group(1) if found else ""


def read_code_engine_urls(env: EnvReader) -> dict[str, str]:
    raw = env.get("CERTSYNC_CODE_ENGINE_URLS")
    if raw is None:
        return {}
    try:
        urls = json.loads(raw)
    except ValueError:
        urls = None
    if not isinstance(urls, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.startswith(("https://", "http://"))
        for k, v in urls.items()
    ):
        env.problem(
            f"CERTSYNC_CODE_ENGINE_URLS has value {raw!r}. Not a JSON object of region -> "
            'API base URL (e.g. {"eu-de": "https://api.eu-de.codeengine.cloud.ibm.com/v2"}).'
        )
        return {}
    return {region: url.rstrip("/") for region, url in urls.items()}


def read_discovery_label(env: EnvReader) -> str:
    label = env.get("CERTSYNC_DISCOVERY_LABEL", "certsync") or "certsync"
    if not _LABEL.match(label):
        env.problem(
            f"CERTSYNC_DISCOVERY_LABEL has value {label!r}. Not a single label (no commas or "
            "spaces, at most 64 characters)."
        )
    return label


def read_secrets_manager_url(env: EnvReader) -> str:
    """The instance endpoint; a trailing `/api` (as in Event Notifications' and the console's
    `..._api_public_url`) is dropped, because the SDK adds `/api/v2/...` itself."""
    url = env.require("SECRETS_MANAGER_URL", "the Secrets Manager instance endpoint").rstrip("/")
    return url.removesuffix("/api")


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def read_secret_ids(env: EnvReader, raw: list[str], source: str) -> tuple[str, ...]:
    ids: list[str] = []
    for ref in raw:
        try:
            ids.append(secret_id_from_ref(ref))
        except ValueError as exc:
            env.problem(f"{source}: {exc}")
    return tuple(ids)


def read_mappings(env: EnvReader, *, required: bool = True) -> tuple[SecretMapping, ...]:
    inline, path = env.get("CERTSYNC_MAPPINGS"), env.get("CERTSYNC_MAPPINGS_FILE")
    if inline and path:
        env.problem("CERTSYNC_MAPPINGS and CERTSYNC_MAPPINGS_FILE are both set; use one.")
        return ()
    try:
        if inline:
            return parse_mappings(inline, source="CERTSYNC_MAPPINGS")
        if path:
            text = Path(path).read_text(encoding="utf-8")
            yaml_ok = Path(path).suffix.lower() in (".yaml", ".yml")
            return parse_mappings(text, source="CERTSYNC_MAPPINGS_FILE", yaml_ok=yaml_ok)
    except OSError as exc:
        env.problem(f"CERTSYNC_MAPPINGS_FILE has value {path!r}. Cannot read it: {exc.strerror}.")
        return ()
    except ValueError as exc:
        env.problem(str(exc))
        return ()
    if required:
        env.problem(
            "CERTSYNC_MAPPINGS is not set (nor CERTSYNC_MAPPINGS_FILE, nor CERTSYNC_DISCOVER=true):"
            " nothing to sync."
        )
    return ()


def read_notification(env: EnvReader) -> Notification | None:
    raw = env.get("ibmendata")
    if raw is None:
        return None
    try:
        return parse_notification(raw)
    except MalformedEvent as exc:
        env.problem(f"ibmendata is not an Event Notifications notification: {exc}")
        return None


def read_trust_anchors(env: EnvReader) -> tuple[x509.Certificate, ...]:
    path = env.get("CERTSYNC_TRUST_ANCHORS_FILE")
    if path is None:
        return ()
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        env.problem(
            f"CERTSYNC_TRUST_ANCHORS_FILE has value {path!r}. Cannot read it: {exc.strerror}."
        )
        return ()
    try:
        return tuple(x509.load_pem_x509_certificates(pem))
    except ValueError:
        env.problem(
            f"CERTSYNC_TRUST_ANCHORS_FILE has value {path!r}. It holds no valid PEM certificates."
        )
        return ()


def read_connect_to(env: EnvReader) -> tuple[ConnectTo, ...]:
    try:
        return parse_connect_to(env.get("CERTSYNC_CONNECT_TO") or "")
    except ValueError as exc:
        env.problem(f"CERTSYNC_CONNECT_TO: {exc}.")
        return ()


def read_alerts(env: EnvReader) -> AlertSettings | None:
    """Alert settings when any is given (each missing one is then a problem); else None."""
    given = {name: env.get(name) for name in ALERT_VARIABLES}
    if not any(given.values()):
        return None
    for name, value in given.items():
        if value is None:
            env.problem(
                f"{name} is not set, and alerts are configured "
                f"(set all of {', '.join(ALERT_VARIABLES)})."
            )
    return AlertSettings(
        url=(given["EVENT_NOTIFICATIONS_URL"] or "").rstrip("/"),
        auth=read_service_auth(env, "EVENT_NOTIFICATIONS"),
        instance_id=given["CERTSYNC_EN_INSTANCE_ID"] or "",
        source_id=given["CERTSYNC_EN_SOURCE_ID"] or "",
        on_update=env.boolean("CERTSYNC_ALERT_ON_UPDATE", False),
    )


def read_status_configmap(env: EnvReader) -> str:
    name = env.get("CERTSYNC_STATUS_CONFIGMAP", "certsync-status") or "certsync-status"
    if not _CONFIGMAP_NAME.match(name):
        env.problem(
            f"CERTSYNC_STATUS_CONFIGMAP has value {name!r}. Not a valid Code Engine config map "
            "name (lowercase letters, digits, '-' and '.', at most 253 characters)."
        )
    return name
