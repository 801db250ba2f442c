"""One run of the job, from the selection to the exit code: discover and select the mappings;
take the snapshot (what the run knows without reading any single secret, `job.plan.Snapshot`);
sync (or plan) each, concurrently, one log line each; watch expiry, record the status and send
the alerts that are due; prune the job's own finished runs. Exit 0 (all in sync) or 1 (any
failed).

Each listing of the snapshot is a few pages for the whole run; one that fails costs nothing but
the shortcut: every mapping is then read as before (`snapshot_skipped`)."""

from __future__ import annotations

import contextvars
import datetime as dt
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from job.alerts import UnmanagedSecret
from job.code_engine import Sites, StatusStore
from job.discovery import Problem, combine, discover
from job.domains import public_roots
from job.event_notifications import Notifier
from job.mappings import SecretMapping, SelectedBy, Selection, select
from job.plan import Snapshot
from job.report import Lines, Reporting, find_unmanaged, report, watch_expiry, watch_unmanaged
from job.secrets_manager import FetchOnce, SecretSource
from job.settings import Settings
from job.status import Outcome, Record, Result
from job.sync import Rules, Syncer
from shared.errors import CertsyncError, ConfigError
from shared.runs import RunHistory

log = structlog.get_logger("certsync.job")
T = TypeVar("T")
DONE = Lines()  # each mapping's line says what was done, with the mapping's own place


@dataclass(frozen=True)
class Services:
    source: SecretSource
    sites: Sites
    history: RunHistory | None  # None when not running as a Code Engine job (no CE_JOB)
    store: StatusStore
    notifier: Notifier | None  # None when alerts are not configured


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
    """The selection (the one `select` of the run); ConfigError, before any API call, when
    `--secret`/CERTSYNC_SECRET_IDS names a secret no configured mapping has."""
    mappings = settings.mappings
    conflicts: tuple[Outcome, ...] = ()
    malformed: tuple[Problem, ...] = ()
    listed: list[dict[str, Any]] = []
    failed = False
    if settings.discover:  # with discovery, what the secrets declare is known only now
        try:
            listed = services.source.list_certificates(labels=[settings.discovery_label])
        except CertsyncError as exc:
            log.error("discovery_failed", label=settings.discovery_label, error=str(exc))
            failed = True
        else:
            found = discover(listed)
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
    if (
        selection.selected_by is SelectedBy.SECRET_IDS
        and selection.unmapped
        and not settings.discover
    ):
        names = ", ".join(repr(i) for i in selection.unmapped)
        raise ConfigError([f"{settings.secret_ids_from} names {names}, which no mapping has."])
    if selection.selected_by is not SelectedBy.ALL:  # a problem matters to the runs it touches
        wanted = {m.secret_id for m in selection.mappings} | set(selection.unmapped)
        conflicts = tuple(o for o in conflicts if o.mapping.secret_id in wanted)
        malformed = tuple(p for p in malformed if p.secret_id in wanted)
    return Plan(selection, conflicts, malformed, tuple(listed), failed)


def execute(settings: Settings, services: Services, run: Plan, *, dry_run: bool) -> int:
    """Sync (or plan) the selection and report; the run's exit code."""
    selection = run.selection
    _log_start(settings, selection, dry_run)
    for problem in run.malformed:
        log.error(Result.FAILED.event, secret_id=problem.secret_id, reason=problem.reason)
    snapshot, first = None, None
    if selection.selected_by is SelectedBy.ALL and selection.mappings:
        snapshot, first = take_snapshot(
            selection.mappings, services, listed=run.listed, concurrency=settings.concurrency
        )
    result = run_all(
        selection.mappings,
        _syncer(settings, services, selection, snapshot, dry_run=dry_run),
        concurrency=settings.concurrency,
        failed=run.conflicts,
        lines=Lines(dry_run=dry_run, where=settings.where, warn_days=settings.expiry_warn_days),
    )
    now = dt.datetime.now(dt.UTC)
    watch_expiry(result.outcomes, now, settings.expiry_warn_days)
    unmanaged = _unmanaged(settings, services, run, now)
    if not dry_run:
        to = Reporting(
            services.store,
            services.notifier,
            settings.expiry_warn_days,
            on_update=settings.alerts.on_update if settings.alerts else False,
        )
        report(result.outcomes, now, to, first=first, expiring_unmanaged=unmanaged)
        if services.history is not None:
            _prune_runs(services.history, settings.jobrun)
    exit_code = result.exit_code if not (run.malformed or run.discovery_failed) else 1
    counts = result.counts()
    counts[Result.FAILED.value] += len(run.malformed)
    finish = log.info if exit_code == 0 else log.error
    finish("run_finished", exit_code=exit_code, seconds=result.seconds, **counts)
    return exit_code


def take_snapshot(
    mappings: Sequence[SecretMapping],
    services: Services,
    *,
    listed: Sequence[dict[str, Any]] = (),
    concurrency: int = 1,
) -> tuple[Snapshot | None, tuple[Record, str | None] | None]:
    """The snapshot (None when a listing failed) and the status record as read (None when it
    could not be read). `listed`: metadata already in hand (from discovery). The listings are
    independent, so up to `concurrency` of them are in flight at once: a run over ten projects
    waits for about one round trip here, not eleven."""
    known = {str(s.get("id")): s for s in listed}
    places = sorted({(m.project, m.region) for m in mappings})
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(places) + 2))) as pool:

        def start(call: Callable[[], T]) -> Future[T]:
            return pool.submit(contextvars.copy_context().run, call)

        read = start(services.store.read)
        more = None
        if any(m.secret_id not in known for m in mappings):
            more = start(services.source.list_certificates)
        tags = {place: start(services.sites.targets(*place).list_tags) for place in places}
    try:
        record, tag = read.result()
    except CertsyncError as exc:
        log.warning("snapshot_skipped", reason=f"status record: {exc}")
        return None, None
    try:
        if more is not None:
            known.update((str(s.get("id")), s) for s in more.result())
        found = {place: listing.result() for place, listing in tags.items()}
    except CertsyncError as exc:
        log.warning("snapshot_skipped", reason=str(exc))
        return None, (record, tag)
    return Snapshot(record, known, found), (record, tag)


def _log_start(settings: Settings, selection: Selection, dry_run: bool) -> None:
    log.info(
        "run_started",
        selected=len(selection.mappings),
        mappings=len(settings.mappings),
        selected_by=selection.selected_by.value,
        event_type=settings.notification.kind if settings.notification else None,
        unmapped_secret_ids=list(selection.unmapped) or None,
        allow_rollback=settings.allow_rollback or None,
        dry_run=dry_run or None,
    )


def _syncer(
    settings: Settings,
    services: Services,
    selection: Selection,
    snapshot: Snapshot | None,
    *,
    dry_run: bool,
) -> Syncer:
    return Syncer(
        fetch=FetchOnce(services.source.fetch),
        sites=services.sites.site,
        rules=Rules(
            allow_rollback=settings.allow_rollback,
            roots=(*public_roots(), *settings.trust_anchors) if settings.verify else (),
            check_current=selection.selected_by is SelectedBy.ALL,
            dry_run=dry_run,
        ),
        unchanged=(lambda m: snapshot.outcome(m, dt.datetime.now(dt.UTC))) if snapshot else None,
    )


def _unmanaged(
    settings: Settings, services: Services, run: Plan, now: dt.datetime
) -> list[tuple[UnmanagedSecret, int]]:
    """With CERTSYNC_WATCH_UNMANAGED, on a full run: the expiring TLS secrets nothing manages."""
    if not settings.watch_unmanaged or run.selection.selected_by is not SelectedBy.ALL:
        return []
    managed: tuple[SecretMapping, ...] = (
        *run.selection.mappings,
        *(o.mapping for o in run.conflicts),
    )
    found, problems = find_unmanaged(services.sites.targets, managed)
    for problem in problems:
        log.warning("unmanaged_skipped", reason=problem)
    log.info("unmanaged_listed", secrets=len(found))
    return watch_unmanaged(found, now, settings.expiry_warn_days)


def _prune_runs(history: RunHistory, current: str | None) -> None:
    """Delete the job's finished runs beyond the retention; a failure never fails the run."""
    try:
        pruned = history.prune(dt.datetime.now(dt.UTC), current=current)
    except CertsyncError as exc:
        log.warning("runs_prune_failed", error=str(exc), status=getattr(exc, "status", None))
        return
    log.info("runs_pruned", deleted=len(pruned.deleted), kept=pruned.kept)


@dataclass(frozen=True)
class RunResult:
    outcomes: tuple[Outcome, ...]
    seconds: float

    @property
    def exit_code(self) -> int:
        return 0 if all(o.ok for o in self.outcomes) else 1

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((r.value for r in Result), 0)
        for outcome in self.outcomes:
            counts[outcome.result.value] += 1
        return counts


def run_all(
    mappings: Sequence[SecretMapping],
    syncer: Syncer,
    *,
    concurrency: int,
    failed: Sequence[Outcome] = (),
    lines: Lines = DONE,
) -> RunResult:
    """Sync (or with `lines.dry_run`, plan) each mapping; one log line each. `failed`: outcomes
    decided before any sync (a target with two sources), logged and counted the same way."""
    started = time.monotonic()
    done = []
    for outcome in failed:
        with lines.bound(outcome.mapping):
            done.append(lines.emit(outcome))
    if not mappings:
        return RunResult(tuple(done), 0.0)
    with ThreadPoolExecutor(max_workers=min(concurrency, len(mappings))) as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, _sync_and_log, syncer, m, lines)
            for m in mappings
        ]
        outcomes = tuple(f.result() for f in futures)
    return RunResult((*done, *outcomes), round(time.monotonic() - started, 3))


def _sync_and_log(syncer: Syncer, mapping: SecretMapping, lines: Lines) -> Outcome:
    with lines.bound(mapping):
        try:
            outcome = syncer.sync(mapping)
        except Exception as exc:  # a bug must not stop the other mappings
            outcome = Outcome(mapping, Result.FAILED, f"unexpected {type(exc).__name__}", 0.0)
            log.exception("mapping_crashed")
        return lines.emit(outcome)
