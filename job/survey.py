"""Before syncing: the mappings secrets declare (discovery), and what the run knows without
reading any single secret (the status record, the secrets' list metadata, the targets' entity
tags), for `job.unchanged`.

Each listing is a few pages for the whole run: Secrets Manager's list at 1,000 a page, Code
Engine's secrets at 100 a page per (project, region), one config map. A listing that fails costs
nothing but the shortcut: every mapping is then read as before (`snapshot_skipped`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import structlog

from job.code_engine import StatusStore
from job.discovery import Discovered, discover
from job.mappings import SecretMapping
from job.secrets_manager import SecretSource
from job.sites import Sites
from job.status import Record
from job.unchanged import Snapshot
from shared.errors import CertsyncError

log = structlog.get_logger("certsync.job")
T = TypeVar("T")


def find_declared(source: SecretSource, label: str) -> tuple[Discovered, list[dict[str, Any]]]:
    """The mappings the certificates labelled `label` declare, and their list metadata; raises
    CertsyncError when they cannot be listed."""
    listed = source.list_certificates(labels=[label])
    return discover(listed), listed


def take_snapshot(
    mappings: Sequence[SecretMapping],
    *,
    source: SecretSource,
    sites: Sites,
    store: StatusStore,
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

        read = start(store.read)
        more = None
        if any(m.secret_id not in known for m in mappings):
            more = start(source.list_certificates)
        tags = {place: start(sites.targets(*place).list_tags) for place in places}
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
