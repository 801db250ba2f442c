"""`python -m deploy status`: the job's status record, each target's domains and the job's last run,
read with the user's own key and the config (the project is found by its name, as every verb does).

The table and the record are `python -m job status`'s own (job/status_cli.py, job/code_engine.py).
Domains are the Code Engine domain mappings of the job's project whose TLS secret is the target;
targets in other projects (a mapping's `project`) show their recorded domain checks only.
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TextIO

from deploy.arguments import EXIT_OK, dump
from deploy.clients import Clients
from deploy.config import Config
from job.code_engine import StatusStore
from job.status import Record
from job.status_cli import render_table

if TYPE_CHECKING:
    from deploy.engine import Session

STATUS_CONFIGMAP = "certsync-status"  # the job's default (job/settings.py)


@dataclass(frozen=True)
class LastRun:
    name: str
    status: str
    created_at: str
    finished_at: str | None


@dataclass(frozen=True)
class Status:
    configmap: str
    exists: bool  # False: no run has finished yet, the config map does not exist
    record: Record
    domains: dict[str, list[dict[str, str]]]  # target -> its domain mappings
    last_run: LastRun | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "status_configmap": self.configmap,
            "record_exists": self.exists,
            "targets": {t: asdict(s) for t, s in sorted(self.record.items())},
            "domains": self.domains,
            "last_run": asdict(self.last_run) if self.last_run else None,
        }


def run_status(session: Session, args: argparse.Namespace, header: str, out: TextIO) -> int:
    status = read_status(session.clients, session.config, session.facts.project_id)
    if args.json:
        dump(out, status.to_dict())
    else:
        print(status_text(status, header, dt.datetime.now(dt.UTC)), file=out)
    return EXIT_OK


def status_store(clients: Clients, config: Config, project_id: str) -> StatusStore:
    """The job's status record, where the job keeps it: `CERTSYNC_STATUS_CONFIGMAP` in `env.job`,
    or the default."""
    name = config.job_env.get("CERTSYNC_STATUS_CONFIGMAP") or STATUS_CONFIGMAP
    return StatusStore(clients.code_engine, project_id, name, policy=clients.policy)


def read_status(clients: Clients, config: Config, project_id: str) -> Status:
    store = status_store(clients, config, project_id)
    record, tag = store.read()
    targets = sorted({t for t, s in record.items() if not s.project} | _home_targets(config))
    by_secret = _domain_mappings(clients, project_id)
    domains = {t: by_secret.get(t, []) for t in targets}
    last_run = _last_run(clients, config, project_id)
    return Status(store.name, tag is not None, record, domains, last_run)


def _home_targets(config: Config) -> set[str]:
    return {m.target for m in config.mappings if not m.project}


def _domain_mappings(clients: Clients, project_id: str) -> dict[str, list[dict[str, str]]]:
    from ibm_code_engine_sdk.code_engine_v2 import DomainMappingsPager

    pager = DomainMappingsPager(client=clients.code_engine, project_id=project_id, limit=100)
    by_secret: dict[str, list[dict[str, str]]] = {}
    for mapping in clients.pages(pager, "list Code Engine domain mappings"):
        component = mapping.get("component") or {}
        by_secret.setdefault(str(mapping.get("tls_secret") or ""), []).append(
            {
                "domain": str(mapping.get("name") or ""),
                "component": str(component.get("name") or ""),
                "status": str(mapping.get("status") or ""),
            }
        )
    return by_secret


def job_runs(clients: Clients, config: Config, project_id: str) -> list[dict[str, Any]]:
    from ibm_code_engine_sdk.code_engine_v2 import JobRunsPager

    pager = JobRunsPager(
        client=clients.code_engine, project_id=project_id, job_name=config.job_name, limit=100
    )
    return clients.pages(pager, f"list the job runs of '{config.job_name}'")


def _last_run(clients: Clients, config: Config, project_id: str) -> LastRun | None:
    runs = [  # doctor's dry runs write nothing: the last run is the last that could sync
        r
        for r in job_runs(clients, config, project_id)
        if "--dry-run" not in (r.get("run_arguments") or [])
    ]
    if not runs:
        return None
    run = max(runs, key=lambda r: str(r.get("created_at") or ""))
    details = run.get("status_details") or {}
    return LastRun(
        name=str(run.get("name") or ""),
        status=str(run.get("status") or "unknown"),
        created_at=str(run.get("created_at") or ""),
        finished_at=details.get("completion_time"),
    )


def status_text(status: Status, header: str, now: dt.datetime) -> str:
    lines = [header, ""]
    if status.exists:
        lines.append(render_table(status.record, now))
    else:
        lines.append(
            f"No status record yet: config map '{status.configmap}' does not exist (no run has "
            "finished)."
        )
    lines += ["", "Domains (Code Engine domain mappings serving each target):"]
    for target, mappings in status.domains.items():
        served = ", ".join(
            f"{m['domain']} -> {m['component'] or '?'} ({m['status'] or 'unknown'})"
            for m in mappings
        )
        lines.append(f"  {target}: {served or 'none'}")
    if not status.domains:
        lines.append("  (no targets)")
    lines.append("")
    run = status.last_run
    if run is None:
        lines.append("Last run: none (the job has not run yet)")
    else:
        finished = f", finished {_when(run.finished_at)}" if run.finished_at else ""
        started = f"started {_when(run.created_at)}"
        lines.append(f"Last run: {run.name} {run.status}, {started}{finished}")
    return "\n".join(lines)


def _when(iso: str) -> str:
    return iso[:19].replace("T", " ") + " UTC" if iso else "-"
