"""`python -m job [--secret ID ...] [--allow-rollback] [--dry-run]` and `python -m job status
[--json]`: the composition root.

Reads the environment once, builds the clients, syncs the selected mappings, records the status
and sends the alerts that are due, prunes the job's own finished runs (on Code Engine), and exits
0 (all in sync), 1 (any failed) or 2 (bad configuration, before any API call). `--dry-run` plans
every selected mapping against the real services and writes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import structlog
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from job.alerts import Notifier
from job.discovery import Problem, combine
from job.domain_mappings import DomainMappings
from job.mappings import SecretMapping, SelectedBy, Selection, select
from job.outcome import Outcome, Result
from job.report import report, watch_expiry
from job.rollout import Rollout
from job.runner import FetchOnce, run_all
from job.served import ServedCertificates
from job.settings import Settings
from job.sites import Sites
from job.sources import SecretSource
from job.status_cli import show_status
from job.status_store import StatusStore
from job.survey import find_declared, take_snapshot
from job.sync import Syncer
from job.unchanged import Snapshot
from shared import __version__
from shared.clients import (
    Lazy,
    build_authenticator,
    code_engine_client,
    event_notifications_client,
    same_identity,
    secrets_manager_client,
)
from shared.errors import CertsyncError, ConfigError
from shared.logging import configure_logging
from shared.runs import RunHistory
from shared.settings import config_invalid

log = structlog.get_logger("certsync.job")

EXIT_OK = 0  # 1: a mapping failed; 2: bad configuration (shared.settings.EXIT_CONFIG)


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


def configure(
    environ: Mapping[str, str], secret_ids: Sequence[str], *, allow_rollback: bool = False
) -> Settings:
    settings = Settings.from_env(environ, cli_secret_ids=secret_ids, allow_rollback=allow_rollback)
    if not settings.discover:  # with discovery, what the secrets declare is known only later
        selection = select(settings.mappings, secret_ids=settings.secret_ids)
        if selection.selected_by is SelectedBy.SECRET_IDS and selection.unmapped:
            names = ", ".join(repr(i) for i in selection.unmapped)
            raise ConfigError([f"{settings.secret_ids_from} names {names}, which no mapping has."])
    return settings


@dataclass(frozen=True)
class Services:
    source: SecretSource
    sites: Sites
    history: RunHistory | None  # None when not running as a Code Engine job (no CE_JOB)
    store: StatusStore
    notifier: Notifier | None  # None when alerts are not configured


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
    home = sites.client()
    history = None
    if settings.job_name:
        history = RunHistory(
            home, settings.project_id, settings.job_name, settings.retention, policy=settings.retry
        )
    store = StatusStore(home, settings.project_id, settings.status_configmap, policy=settings.retry)
    notifier = None
    if settings.alerts is not None:
        alerts = settings.alerts
        client = event_notifications_client(alerts.url, alerts.auth, timeout=timeout)
        notifier = Notifier(client, alerts.instance_id, alerts.source_id, policy=settings.retry)
    return Services(SecretSource(secrets_manager, settings.retry), sites, history, store, notifier)


@dataclass(frozen=True)
class Plan:
    """What a run syncs, decided after discovery: the selection, the outcomes already known
    (targets with two sources), and the labelled secrets whose declaration is malformed."""

    selection: Selection
    conflicts: tuple[Outcome, ...] = ()
    malformed: tuple[Problem, ...] = ()
    listed: tuple[dict[str, Any], ...] = ()
    discovery_failed: bool = False


def plan_run(settings: Settings, services: Services) -> Plan:
    mappings: tuple[SecretMapping, ...] = settings.mappings
    conflicts: tuple[Outcome, ...] = ()
    malformed: tuple[Problem, ...] = ()
    listed: list[dict[str, Any]] = []
    failed = False
    if settings.discover:
        try:
            found, listed = find_declared(services.source, settings.discovery_label)
        except CertsyncError as exc:
            log.error("discovery_failed", label=settings.discovery_label, error=str(exc))
            failed = True
        else:
            declared = settings.localize(found.mappings)
            mappings, clashes = combine(settings.mappings, declared)
            conflicts = tuple(Outcome(m, Result.FAILED, why, 0.0) for m, why in clashes)
            malformed = found.problems
            log.info(
                "mappings_discovered",
                label=settings.discovery_label,
                secrets=found.secrets,
                mappings=len(declared),
                malformed=len(malformed),
                conflicts=len(conflicts),
            )
    selection = select(mappings, secret_ids=settings.secret_ids, notification=settings.notification)
    if selection.selected_by is not SelectedBy.ALL:  # a problem matters to the runs it touches
        wanted = {m.secret_id for m in selection.mappings} | set(selection.unmapped)
        conflicts = tuple(o for o in conflicts if o.mapping.secret_id in wanted)
        malformed = tuple(p for p in malformed if p.secret_id in wanted)
    return Plan(selection, conflicts, malformed, tuple(listed), failed)


def public_roots() -> tuple[x509.Certificate, ...]:
    """The maintained public root store (certifi's copy of Mozilla's)."""
    with warnings.catch_warnings():
        # One of Mozilla's roots has a negative serial number, which cryptography warns about.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return tuple(x509.load_pem_x509_certificates(Path(certifi.where()).read_bytes()))


def prune_runs(history: RunHistory, current: str | None) -> None:
    """Delete the job's finished runs beyond the retention; a failure never fails the run."""
    try:
        pruned = history.prune(dt.datetime.now(dt.UTC), current=current)
    except CertsyncError as exc:
        log.warning("runs_prune_failed", error=str(exc), status=getattr(exc, "status", None))
        return
    log.info("runs_pruned", deleted=len(pruned.deleted), kept=pruned.kept)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = os.environ if environ is None else environ
    if args.command == "status":
        return show_status(env, as_json=args.json)
    configure_logging()
    structlog.contextvars.clear_contextvars()
    try:
        settings = configure(env, args.secret, allow_rollback=args.allow_rollback)
        services = build_services(settings)
    except ConfigError as exc:
        return config_invalid("certsync", exc.problems)
    except ValueError as exc:  # the SDK core checking credentials (e.g. a quoted API key)
        return config_invalid("certsync", [f"credentials: {exc}"])
    notification = settings.notification
    structlog.contextvars.bind_contextvars(
        ce_jobrun=settings.jobrun,
        notification_id=notification.key if notification else None,
    )
    if not settings.verify:
        log.warning(
            "verification_disabled",
            reason="CERTSYNC_VERIFY=off: what custom domains serve is not checked in this run",
        )
    if settings.alerts is None and not args.dry_run:
        log.info("alerts_disabled", reason="EVENT_NOTIFICATIONS_URL and friends are not set")
    run = plan_run(settings, services)
    selection = run.selection
    log.info(
        "run_started",
        selected=len(selection.mappings),
        mappings=len(settings.mappings),
        selected_by=selection.selected_by.value,
        event_type=notification.kind if notification else None,
        unmapped_secret_ids=list(selection.unmapped) or None,
        allow_rollback=settings.allow_rollback or None,
        dry_run=args.dry_run or None,
    )
    for problem in run.malformed:
        log.error("mapping_failed", secret_id=problem.secret_id, reason=problem.reason)
    snapshot, first = None, None
    if selection.selected_by is SelectedBy.ALL and selection.mappings:
        snapshot, first = take_snapshot(
            selection.mappings,
            source=services.source,
            sites=services.sites,
            store=services.store,
            listed=run.listed,
            concurrency=settings.concurrency,
        )
    result = run_all(
        selection.mappings,
        _syncer(settings, services, selection, snapshot, dry_run=args.dry_run),
        concurrency=settings.concurrency,
        dry_run=args.dry_run,
        failed=run.conflicts,
        where=settings.where,
    )
    now = dt.datetime.now(dt.UTC)
    watch_expiry(result.outcomes, now, settings.expiry_warn_days)
    if not args.dry_run:
        report(
            result.outcomes,
            now,
            store=services.store,
            notifier=services.notifier,
            warn_days=settings.expiry_warn_days,
            on_update=settings.alerts.on_update if settings.alerts else False,
            first=first,
        )
        if services.history is not None:
            prune_runs(services.history, settings.jobrun)
    exit_code = result.exit_code if not (run.malformed or run.discovery_failed) else 1
    finish = log.info if exit_code == EXIT_OK else log.error
    counts = result.counts()
    counts["failed"] += len(run.malformed)
    finish("run_finished", exit_code=exit_code, seconds=result.seconds, **counts)
    return exit_code


def _syncer(
    settings: Settings,
    services: Services,
    selection: Selection,
    snapshot: Snapshot | None,
    *,
    dry_run: bool,
) -> Syncer:
    home = services.sites.site(SecretMapping("", ""))
    return Syncer(
        fetch=FetchOnce(services.source.fetch),
        targets=home.targets,
        allow_rollback=settings.allow_rollback,
        rollout=home.rollout,
        roots=(*public_roots(), *settings.trust_anchors) if settings.verify else (),
        check_current=selection.selected_by is SelectedBy.ALL,
        dry_run=dry_run,
        sites=services.sites.site,
        unchanged=(lambda m: snapshot.outcome(m, dt.datetime.now(dt.UTC))) if snapshot else None,
    )


if __name__ == "__main__":
    sys.exit(main())
