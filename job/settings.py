"""The job's settings: read once from an injected environment mapping, every problem at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from cryptography import x509

from job.mappings import SecretMapping, duplicate_targets
from job.variables import (
    ALERT_VARIABLES,
    AlertSettings,
    ConnectTo,
    read_alerts,
    read_code_engine_urls,
    read_connect_to,
    read_discovery_label,
    read_mappings,
    read_notification,
    read_region,
    read_secret_ids,
    read_secrets_manager_url,
    read_status_configmap,
    read_trust_anchors,
    split_list,
)
from shared import expiry
from shared.events import Notification
from shared.retry import RetryPolicy
from shared.runs import RETENTION_VARIABLES, Retention
from shared.settings import (
    CODE_ENGINE_URL_VARIABLES,
    EnvReader,
    ServiceAuth,
    code_engine_url,
    read_service_auth,
    service_auth_variables,
)

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
        raw_ids = list(cli_secret_ids) or split_list(env.get("CERTSYNC_SECRET_IDS") or "")
        settings = cls(
            project_id=env.require("CE_PROJECT_ID", "the Code Engine project (injected on CE)"),
            code_engine_url=code_engine_url(env),
            secrets_manager_url=read_secrets_manager_url(env),
            secrets_manager_auth=read_service_auth(env, "SECRETS_MANAGER"),
            code_engine_auth=read_service_auth(env, "CODE_ENGINE"),
            mappings=read_mappings(env, required=not discover),
            concurrency=env.integer("CERTSYNC_CONCURRENCY", 8, minimum=1, maximum=64),
            secret_ids=read_secret_ids(env, raw_ids, ids_from),
            secret_ids_from=ids_from,
            notification=read_notification(env),
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
            trust_anchors=read_trust_anchors(env),
            connect_to=read_connect_to(env),
            status_configmap=read_status_configmap(env),
            expiry_warn_days=env.integer(
                expiry.VARIABLE,
                expiry.DEFAULT_WARN_DAYS,
                minimum=expiry.MIN_WARN_DAYS,
                maximum=expiry.MAX_WARN_DAYS,
            ),
            alerts=read_alerts(env),
            allow_rollback=allow_rollback,
            region=read_region(env),
            code_engine_urls=read_code_engine_urls(env),
            discover=discover,
            discovery_label=read_discovery_label(env),
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
