"""`python -m job [--secret ID ...] [--allow-rollback] [--dry-run]` and `python -m job status
[--json]`: the composition root.

Reads the environment once, builds the clients and hands them to the run (`job.run`); exits 0
(all in sync), 1 (any failed) or 2 (bad configuration, before any API call). `--dry-run` plans
every selected mapping against the real services and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from job.code_engine import DomainMappings, Sites, StatusStore
from job.event_notifications import Notifier
from job.rollout import Rollout
from job.run import Services, execute, plan_run
from job.secrets_manager import SecretSource
from job.served import ServedCertificates
from job.settings import Settings
from job.status_cli import show_status
from shared import __version__
from shared.clients import (
    Lazy,
    build_authenticator,
    code_engine_client,
    event_notifications_client,
    same_identity,
    secrets_manager_client,
)
from shared.errors import ConfigError
from shared.logging import configure_logging
from shared.runs import RunHistory
from shared.settings import config_invalid

log = structlog.get_logger("certsync.job")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m job",
        description="Sync IBM Cloud Secrets Manager certificates into Code Engine TLS secrets.",
    )
    parser.add_argument("--version", action="version", version=f"certsync {__version__}")
    parser.add_argument(
        "command",
        nargs="?",
        choices=["sync", "status"],
        default="sync",
        help="sync (the default) or status: print the status record",
    )
    parser.add_argument("--json", action="store_true", help="status: print JSON, not a table")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="plan every selected mapping and say what would be done and why; write nothing",
    )
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="ID",
        help="sync only the mappings of this secret (id or CRN); repeatable",
    )
    parser.add_argument(
        "--allow-rollback",
        action="store_true",
        help="write the certificate from Secrets Manager even where Code Engine holds a newer one "
        "(a deliberate rollback; needs --secret)",
    )
    return parser


def build_services(settings: Settings) -> Services:
    """The SDK clients behind their adapters (no network I/O until the first call)."""
    timeout, pool = settings.http_timeout, settings.concurrency
    sm_auth = build_authenticator(settings.secrets_manager_auth)  # checks credentials now
    secrets_manager = Lazy(
        lambda: secrets_manager_client(
            settings.secrets_manager_url, sm_auth, timeout=timeout, pool_size=pool
        )
    )
    code_engine_auth = (  # one token for every region, and for both services when it can be
        sm_auth
        if same_identity(settings.secrets_manager_auth, settings.code_engine_auth)
        else build_authenticator(settings.code_engine_auth)
    )

    def code_engine(url: str) -> Any:
        return code_engine_client(url, code_engine_auth, timeout=timeout, pool_size=pool)

    rollout = None
    if settings.verify:
        served = ServedCertificates(settings.connect_to, timeout=min(settings.http_timeout, 10.0))

        def rollout(domains: DomainMappings) -> Rollout:
            return Rollout(domains, served, timeout=settings.verify_timeout)

    sites = Sites(
        project_id=settings.project_id,
        url_for=settings.code_engine_url_for,
        client=code_engine,
        policy=settings.retry,
        rollout=rollout,
    )
    home, project, policy = sites.client(), settings.project_id, settings.retry
    history = None
    if settings.job_name:
        history = RunHistory(home, project, settings.job_name, settings.retention, policy=policy)
    store = StatusStore(home, project, settings.status_configmap, policy=policy)
    notifier = None
    if settings.alerts is not None:
        alerts = settings.alerts
        client = event_notifications_client(alerts.url, alerts.auth, timeout=timeout)
        notifier = Notifier(client, alerts.instance_id, alerts.source_id, policy=policy)
    return Services(SecretSource(secrets_manager, policy), sites, history, store, notifier)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = os.environ if environ is None else environ
    if args.command == "status":
        return show_status(env, as_json=args.json)
    configure_logging()
    structlog.contextvars.clear_contextvars()
    try:
        settings = Settings.from_env(
            env, cli_secret_ids=args.secret, allow_rollback=args.allow_rollback
        )
        structlog.contextvars.bind_contextvars(
            ce_jobrun=settings.jobrun,
            notification_id=settings.notification.key if settings.notification else None,
        )
        services = build_services(settings)
        run = plan_run(settings, services)
    except ConfigError as exc:
        return config_invalid("certsync", exc.problems)
    except ValueError as exc:  # the SDK core checking credentials (e.g. a quoted API key)
        return config_invalid("certsync", [f"credentials: {exc}"])
    if not settings.verify:
        log.warning(
            "verification_disabled",
            reason="CERTSYNC_VERIFY=off: what custom domains serve is not checked in this run",
        )
    if settings.alerts is None and not args.dry_run:
        log.info("alerts_disabled", reason="EVENT_NOTIFICATIONS_URL and friends are not set")
    return execute(settings, services, run, dry_run=args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
