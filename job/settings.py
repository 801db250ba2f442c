"""The job's settings: read once from an injected environment mapping, every problem at once."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from job.mappings import SecretMapping, duplicate_targets, parse_mappings
from job.served import ConnectTo, parse_connect_to
from shared import expiry
from shared.clients import ServiceAuth, read_service_auth, service_auth_variables
from shared.events import MalformedEvent, Notification, parse_notification, secret_id_from_ref
from shared.retry import RetryPolicy
from shared.runs import RETENTION_VARIABLES, Retention
from shared.settings import CODE_ENGINE_URL_VARIABLES, EnvReader, code_engine_url

_CONFIGMAP_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# `https://api.<region>.codeengine.cloud.ibm.com/v2` (Code Engine's regional endpoints; the
# private ones are `api.private.<region>...`).
_REGIONAL_HOST = re.compile(r"^api\.(?:private\.)?([a-z]{2,}(?:-[a-z0-9]+)+)\.codeengine\.")
_LABEL = re.compile(r"^[^,\s]{1,64}$")  # one label, as `match_all_labels` takes a comma list


ALERT_VARIABLES = ("EVENT_NOTIFICATIONS_URL", "CERTSYNC_EN_INSTANCE_ID", "CERTSYNC_EN_SOURCE_ID")
# Every variable the job reads, and only these (EnvReader refuses others): deploy checks
# `env.job` in certsync.yaml against them, and the README's tables list each.
VARIABLES = (
    "CE_PROJECT_ID",
    "CE_JOB",
    "CE_JOBRUN",
    *CODE_ENGINE_URL_VARIABLES,
    *service_auth_variables("CODE_ENGINE"),
    "SECRETS_MANAGER_URL",
    *service_auth_variables("SECRETS_MANAGER"),
    "CERTSYNC_MAPPINGS",
    "CERTSYNC_MAPPINGS_FILE",
    "CERTSYNC_DISCOVER",
    "CERTSYNC_DISCOVERY_LABEL",
    "CERTSYNC_CODE_ENGINE_URLS",
    "CERTSYNC_SECRET_IDS",
    "ibmendata",
    "CERTSYNC_CONCURRENCY",
    "CERTSYNC_HTTP_TIMEOUT",
    "CERTSYNC_RETRY_ATTEMPTS",
    "CERTSYNC_RETRY_SECONDS",
    *RETENTION_VARIABLES,
    "CERTSYNC_VERIFY",
    "CERTSYNC_VERIFY_TIMEOUT",
    "CERTSYNC_TRUST_ANCHORS_FILE",
    "CERTSYNC_CONNECT_TO",
    "CERTSYNC_STATUS_CONFIGMAP",
    expiry.VARIABLE,
    *ALERT_VARIABLES,
    *service_auth_variables("EVENT_NOTIFICATIONS"),
    "CERTSYNC_ALERT_ON_UPDATE",
    "CERTSYNC_WATCH_UNMANAGED",
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
class Settings:
    project_id: str
    code_engine_url: str
    secrets_manager_url: str
    secrets_manager_auth: ServiceAuth
    code_engine_auth: ServiceAuth
    mappings: tuple[SecretMapping, ...]
    concurrency: int
    secret_ids: tuple[str, ...]  # --secret or CERTSYNC_SECRET_IDS, as bare ids
    secret_ids_from: str  # which of the two named them (for messages)
    notification: Notification | None  # from `ibmendata`
    jobrun: str | None
    job_name: str | None  # CE_JOB: set when running on Code Engine; its runs are pruned
    retention: Retention
    http_timeout: float
    retry: RetryPolicy
    verify: bool = True  # CERTSYNC_VERIFY: check what custom domains serve
    verify_timeout: float = 600.0  # seconds a target's domains get to serve a new certificate
    trust_anchors: tuple[x509.Certificate, ...] = ()  # besides the public roots
    connect_to: tuple[ConnectTo, ...] = ()
    status_configmap: str = "certsync-status"  # where the status record lives
    expiry_warn_days: int = expiry.DEFAULT_WARN_DAYS  # fewer days left: a warning and an alert
    alerts: AlertSettings | None = None  # None: alerts are off (not configured)
    allow_rollback: bool = False  # --allow-rollback: a person asked for an older certificate
    region: str = ""  # the job's own region (CE_REGION, else CODE_ENGINE_URL's); "" if unknown
    code_engine_urls: Mapping[str, str] = field(default_factory=dict)  # region -> API base
    discover: bool = False  # CERTSYNC_DISCOVER: also the targets secrets declare themselves
    discovery_label: str = "certsync"
    watch_unmanaged: bool = False  # CERTSYNC_WATCH_UNMANAGED: also watch unmanaged TLS secrets

    def code_engine_url_for(self, region: str) -> str:
        """A region's Code Engine API base: CERTSYNC_CODE_ENGINE_URLS, else the regional
        endpoint; "" (the job's own region) is CODE_ENGINE_URL."""
        if not region:
            return self.code_engine_url
        default = f"https://api.{region}.codeengine.cloud.ibm.com/v2"
        return self.code_engine_urls.get(region, default)

    def localize(self, mappings: Sequence[SecretMapping]) -> tuple[SecretMapping, ...]:
        """Mappings naming the job's own project or region spelled as not naming them (""), so a
        target has one identity however it is written."""
        project, region = self.project_id.lower(), self.region

        def local(m: SecretMapping) -> SecretMapping:
            if m.project != project and not (region and m.region == region):
                return m  # most mappings name neither: no copy (replace() costs ~10 us each)
            return replace(
                m,
                project="" if m.project == project else m.project,
                region="" if region and m.region == region else m.region,
            )

        return tuple(local(m) for m in mappings)

    def where(self, mapping: SecretMapping) -> dict[str, str | None]:
        """The project and region a mapping's target lives in, for its log lines."""
        return {
            "project": mapping.project or self.project_id,
            "region": mapping.region or self.region or None,
        }

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        *,
        cli_secret_ids: Sequence[str] = (),
        allow_rollback: bool = False,
    ) -> Settings:
        env = EnvReader(environ, VARIABLES)
        discover = env.boolean("CERTSYNC_DISCOVER", False)
        ids_from = "--secret" if cli_secret_ids else "CERTSYNC_SECRET_IDS"
        raw_ids = list(cli_secret_ids) or _split(env.get("CERTSYNC_SECRET_IDS") or "")
        settings = cls(
            project_id=env.require("CE_PROJECT_ID", "the Code Engine project (injected on CE)"),
            code_engine_url=code_engine_url(env),
            secrets_manager_url=_secrets_manager_url(env),
            secrets_manager_auth=read_service_auth(env, "SECRETS_MANAGER"),
            code_engine_auth=read_service_auth(env, "CODE_ENGINE"),
            mappings=_mappings(env, required=not discover),
            concurrency=env.integer("CERTSYNC_CONCURRENCY", 8, minimum=1, maximum=64),
            secret_ids=_secret_ids(env, raw_ids, ids_from),
            secret_ids_from=ids_from,
            notification=_notification(env),
            jobrun=env.get("CE_JOBRUN"),
            job_name=env.get("CE_JOB"),
            retention=Retention.from_env(env),
            http_timeout=env.number("CERTSYNC_HTTP_TIMEOUT", 30.0, minimum=1.0),
            retry=RetryPolicy(
                attempts=env.integer("CERTSYNC_RETRY_ATTEMPTS", 5, minimum=1, maximum=20),
                total_seconds=env.number("CERTSYNC_RETRY_SECONDS", 60.0, minimum=1.0),
            ),
            verify=env.boolean("CERTSYNC_VERIFY", True),
            verify_timeout=env.number("CERTSYNC_VERIFY_TIMEOUT", 600.0, minimum=1.0),
            trust_anchors=_trust_anchors(env),
            connect_to=_connect_to(env),
            status_configmap=_status_configmap(env),
            expiry_warn_days=env.integer(
                expiry.VARIABLE,
                expiry.DEFAULT_WARN_DAYS,
                minimum=expiry.MIN_WARN_DAYS,
                maximum=expiry.MAX_WARN_DAYS,
            ),
            alerts=_alerts(env),
            allow_rollback=allow_rollback,
            region=_region(env),
            code_engine_urls=_code_engine_urls(env),
            discover=discover,
            discovery_label=_discovery_label(env),
            watch_unmanaged=env.boolean("CERTSYNC_WATCH_UNMANAGED", False),
        )
        settings = replace(settings, mappings=settings.localize(settings.mappings))
        for problem in duplicate_targets(settings.mappings):
            env.problem(f"CERTSYNC_MAPPINGS: {problem}")
        if allow_rollback and not raw_ids:
            env.problem(
                "--allow-rollback needs the secrets to roll back named with --secret "
                "(or CERTSYNC_SECRET_IDS): a rollback is a deliberate act on chosen certificates."
            )
        env.check()
        return settings


def _region(env: EnvReader) -> str:
    """CE_REGION (Code Engine injects it), else the region in CODE_ENGINE_URL's host."""
    region = env.get("CE_REGION")
    if region:
        return region
    url = env.get("CODE_ENGINE_URL") or env.get("CE_API_BASE_URL") or ""
    found = _REGIONAL_HOST.match(urlsplit(url).hostname or "")
    return found.group(1) if found else ""


def _code_engine_urls(env: EnvReader) -> dict[str, str]:
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


def _discovery_label(env: EnvReader) -> str:
    label = env.get("CERTSYNC_DISCOVERY_LABEL", "certsync") or "certsync"
    if not _LABEL.match(label):
        env.problem(
            f"CERTSYNC_DISCOVERY_LABEL has value {label!r}. Not a single label (no commas or "
            "spaces, at most 64 characters)."
        )
    return label


def _secrets_manager_url(env: EnvReader) -> str:
    """The instance endpoint; a trailing `/api` (as in Event Notifications' and the console's
    `..._api_public_url`) is dropped, because the SDK adds `/api/v2/...` itself."""
    url = env.require("SECRETS_MANAGER_URL", "the Secrets Manager instance endpoint").rstrip("/")
    return url.removesuffix("/api")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _secret_ids(env: EnvReader, raw: list[str], source: str) -> tuple[str, ...]:
    ids: list[str] = []
    for ref in raw:
        try:
            ids.append(secret_id_from_ref(ref))
        except ValueError as exc:
            env.problem(f"{source}: {exc}")
    return tuple(ids)


def _mappings(env: EnvReader, *, required: bool = True) -> tuple[SecretMapping, ...]:
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


def _notification(env: EnvReader) -> Notification | None:
    raw = env.get("ibmendata")
    if raw is None:
        return None
    try:
        return parse_notification(raw)
    except MalformedEvent as exc:
        env.problem(f"ibmendata is not an Event Notifications notification: {exc}")
        return None


def _trust_anchors(env: EnvReader) -> tuple[x509.Certificate, ...]:
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


def _connect_to(env: EnvReader) -> tuple[ConnectTo, ...]:
    try:
        return parse_connect_to(env.get("CERTSYNC_CONNECT_TO") or "")
    except ValueError as exc:
        env.problem(f"CERTSYNC_CONNECT_TO: {exc}.")
        return ()


def _alerts(env: EnvReader) -> AlertSettings | None:
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


def _status_configmap(env: EnvReader) -> str:
    name = env.get("CERTSYNC_STATUS_CONFIGMAP", "certsync-status") or "certsync-status"
    if not _CONFIGMAP_NAME.match(name):
        env.problem(
            f"CERTSYNC_STATUS_CONFIGMAP has value {name!r}. Not a valid Code Engine config map "
            "name (lowercase letters, digits, '-' and '.', at most 253 characters)."
        )
    return name
