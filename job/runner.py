"""Run the selected mappings concurrently, fetching each secret once, and log one line each."""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass

import structlog

from job.certs import SourceCertificate
from job.mappings import SecretMapping
from job.outcome import DomainCheck, Outcome, Result
from job.sync import Syncer
from shared.expiry import DEFAULT_WARN_DAYS, days_left, expiring

log = structlog.get_logger("certsync.job")


class FetchOnce:
    """Memoises a fetch per secret id, so N targets of one secret cost one Secrets Manager read."""

    def __init__(self, fetch: Callable[[str], SourceCertificate]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._futures: dict[str, Future[SourceCertificate]] = {}

    def __call__(self, secret_id: str) -> SourceCertificate:
        with self._lock:
            future = self._futures.get(secret_id)
            owner = future is None
            if future is None:
                future = self._futures[secret_id] = Future()
        if owner:
            try:
                future.set_result(self._fetch(secret_id))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()


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


@dataclass(frozen=True)
class Lines:
    """How each mapping's log line reads: planned (`dry_run`) or done; the `project` and
    `region` it carries (`where`; by default the mapping's own); below `warn_days` days left, a
    domain serving the certificate is logged as a warning."""

    dry_run: bool = False
    where: Callable[[SecretMapping], dict[str, str | None]] | None = None
    warn_days: int = DEFAULT_WARN_DAYS

    def place(self, mapping: SecretMapping) -> dict[str, str | None]:
        if self.where is not None:
            return self.where(mapping)
        return {"project": mapping.project or None, "region": mapping.region or None}


def run_all(
    mappings: Sequence[SecretMapping],
    syncer: Syncer,
    *,
    concurrency: int,
    failed: Sequence[Outcome] = (),
    lines: Lines = Lines(),
) -> RunResult:
    """Sync (or with `lines.dry_run`, plan) each mapping; one log line each. `failed`: outcomes
    decided before any sync (a target with two sources), logged and counted the same way."""
    started = time.monotonic()
    done = []
    for outcome in failed:
        with _bound(lines, outcome.mapping):
            done.append(_emit(outcome, lines.dry_run, lines.warn_days))
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
    with _bound(lines, mapping):
        try:
            outcome = syncer.sync(mapping)
        except Exception as exc:  # a bug must not stop the other mappings
            outcome = Outcome(mapping, Result.FAILED, f"unexpected {type(exc).__name__}", 0.0)
            log.exception("mapping_crashed")
        return _emit(outcome, lines.dry_run, lines.warn_days)


def _bound(lines: Lines, mapping: SecretMapping) -> AbstractContextManager[object]:
    """The mapping's secret id, target and place on every line logged within."""
    return structlog.contextvars.bound_contextvars(
        secret_id=mapping.secret_id, target=mapping.target, **lines.place(mapping)
    )


def _emit(outcome: Outcome, dry_run: bool, warn_days: int) -> Outcome:
    """The mapping's one line, and one per custom domain."""
    level = log.error if not outcome.ok else log.warning if outcome.rollback else log.info
    event = "mapping_planned" if dry_run else outcome.result.event
    level(
        event,
        outcome=outcome.result.value,
        days_left=days_left(outcome.not_after, dt.datetime.now(dt.UTC)),
        reason=outcome.reason,
        serial=outcome.serial,
        not_after=outcome.not_after,
        previous_serial=outcome.previous_serial,
        previous_not_after=outcome.previous_not_after,
        seconds=outcome.seconds,
        **({"rollback": True} if outcome.rollback else {}),
    )
    for check in outcome.domains:
        _log_domain(check, dry_run, warn_days)
    return outcome


def _log_domain(check: DomainCheck, dry_run: bool, warn_days: int) -> None:
    """One line per custom domain: verified (with the seconds it took) or stale; in a dry run,
    what it serves now (`domain_checked`)."""
    left = days_left(check.served_not_after, dt.datetime.now(dt.UTC))
    fields = {"domain": check.domain, "serial": check.served_serial, "seconds": check.seconds}
    if dry_run:
        current = check.verified
        log.info("domain_checked", serves_certificate=current, reason=check.reason, **fields)
        return
    if not check.verified:
        log.error("domain_stale", reason=check.reason, days_left=left, **fields)
        return
    level = log.warning if expiring(left, warn_days) else log.info
    level("domain_verified", days_left=left, **fields)
