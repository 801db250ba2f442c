"""The trigger's settings, read once from an injected environment mapping.

`VARIABLES` lists what it reads; the README's trigger section documents each (a unit test keeps
the two in step).

Allowed sources are matched against the notification's `data.source_instance_crn`, the instance
Secrets Manager itself names in the event (and the job acts on), compared on the instance part
(`crn:v1:...:secrets-manager:<region>:a/<account>:<instance>`), so `::` endings and secret CRNs of
the instance match. The envelope's `source` is not used: its form for IBM Cloud sources is not
documented precisely enough to rely on. A notification without `data.source_instance_crn` is
refused when sources are restricted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.crn import secrets_manager_instance
from shared.retry import RetryPolicy
from shared.run_names import is_valid_name
from shared.runs import RETENTION_VARIABLES, Retention
from shared.settings import (
    CODE_ENGINE_URL_VARIABLES,
    EnvReader,
    SecretValue,
    ServiceAuth,
    code_engine_url,
    read_service_auth,
    service_auth_variables,
)

MIN_TOKEN_LENGTH = 16
MAX_BODY_BYTES = 256 * 1024
# Every variable the trigger reads, and only these (EnvReader refuses others): deploy checks
# `env.trigger` in certsync.yaml against them, and the README's tables list each.
VARIABLES = (
    "PORT",
    "CE_PROJECT_ID",
    *CODE_ENGINE_URL_VARIABLES,
    *service_auth_variables("CODE_ENGINE"),
    "CERTSYNC_JOB_NAME",
    "CERTSYNC_WEBHOOK_TOKEN",
    "CERTSYNC_ALLOW_UNAUTHENTICATED",
    "CERTSYNC_ALLOWED_SOURCES",
    *RETENTION_VARIABLES,
)


@dataclass(frozen=True)
class Settings:
    project_id: str
    code_engine_url: str
    code_engine_auth: ServiceAuth
    job_name: str
    webhook_token: SecretValue | None  # None only when unauthenticated requests are allowed
    allowed_sources: frozenset[str] = frozenset()  # instance CRNs, normalized; empty: any
    retention: Retention = field(default_factory=Retention)
    port: int = 8080
    max_body_bytes: int = MAX_BODY_BYTES
    # Submission: each call may take `ce_timeout`, new attempts start within `retry.total_seconds`;
    # `shutdown_seconds` (uvicorn's graceful shutdown) leaves room for both.
    ce_timeout: float = 10.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=5, total_seconds=15.0))
    shutdown_seconds: int = 30
    # Job runs submitted at once, each in a worker thread on its own kept-alive connection; more
    # wait their turn on the event loop. A few are enough: one submission takes a few ms of Code
    # Engine's time.
    submit_connections: int = 4

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read every variable; raise ConfigError naming each problem at once."""
        env = EnvReader(environ, VARIABLES)
        port = env.integer("PORT", 8080, minimum=1, maximum=65535)
        project_id = env.require("CE_PROJECT_ID", "the Code Engine project that holds the job")
        url = code_engine_url(env)
        auth = read_service_auth(env, "CODE_ENGINE")
        job_name = env.require("CERTSYNC_JOB_NAME", "the Code Engine job to run on rotation")
        if job_name and not is_valid_name(job_name):
            env.problem(
                f"CERTSYNC_JOB_NAME has value {job_name!r}. Not a valid Code Engine name "
                "(lowercase letters, digits and '-', at most 63 characters)."
            )
        token = _webhook_token(env)
        sources = _allowed_sources(env)
        retention = Retention.from_env(env)
        env.check()
        return cls(
            project_id=project_id,
            code_engine_url=url,
            code_engine_auth=auth,
            job_name=job_name,
            webhook_token=token,
            allowed_sources=sources,
            retention=retention,
            port=port,
        )


def _webhook_token(env: EnvReader) -> SecretValue | None:
    token = env.secret("CERTSYNC_WEBHOOK_TOKEN")
    allow_unauthenticated = env.boolean("CERTSYNC_ALLOW_UNAUTHENTICATED", False)
    if token is None:
        if not allow_unauthenticated:
            env.problem(
                "CERTSYNC_WEBHOOK_TOKEN is not set: set it to the bearer token Event Notifications "
                "sends in its Authorization header (or set CERTSYNC_ALLOW_UNAUTHENTICATED=true)."
            )
        return None
    value = token.reveal()
    if len(value) < MIN_TOKEN_LENGTH or any(c.isspace() or not c.isprintable() for c in value):
        env.problem(
            f"CERTSYNC_WEBHOOK_TOKEN is not usable: it needs at least {MIN_TOKEN_LENGTH} "
            "printable characters and no spaces (its value is not shown)."
        )
    return token


def _allowed_sources(env: EnvReader) -> frozenset[str]:
    raw = env.get("CERTSYNC_ALLOWED_SOURCES") or ""
    sources = set()
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        instance = secrets_manager_instance(item)
        if instance is None:
            env.problem(
                f"CERTSYNC_ALLOWED_SOURCES has value {item!r}. Not a Secrets Manager instance CRN "
                "(crn:v1:<cloud>:<type>:secrets-manager:<region>:a/<account>:<instance>::)."
            )
        else:
            sources.add(instance)
    return frozenset(sources)
