"""`python -m job status [--json]`: the status record, for a person or a pipeline.

Needs only what reaches the Code Engine project (`CE_PROJECT_ID`, `CODE_ENGINE_URL` or its
defaults, `CODE_ENGINE_AUTH_TYPE` and friends) and `CERTSYNC_STATUS_CONFIGMAP`: it runs from
anywhere with credentials. Exit 0 when the record was read, 1 when it could not be, 2 for bad
configuration.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict
from typing import TextIO

from job.code_engine import StatusStore
from job.settings import VARIABLES
from job.status import Record
from shared.clients import code_engine_client
from shared.errors import CertsyncError
from shared.logging import configure_logging
from shared.retry import RetryPolicy
from shared.settings import EnvReader, code_engine_url, config_invalid, read_service_auth

COLUMNS = ("TARGET", "SECRET", "SERIAL", "NOT AFTER", "DAYS", "OUTCOME", "CHANGED", "DOMAINS")


def show_status(environ: Mapping[str, str], *, as_json: bool, out: TextIO = sys.stdout) -> int:
    configure_logging(sys.stderr)  # stdout holds only the table or the one JSON document
    env = EnvReader(environ, VARIABLES)
    project = env.require("CE_PROJECT_ID", "the Code Engine project that holds the record")
    url = code_engine_url(env)
    auth = read_service_auth(env, "CODE_ENGINE")
    name = env.get("CERTSYNC_STATUS_CONFIGMAP", "certsync-status") or "certsync-status"
    problems = list(env.problems)
    if not problems:
        try:
            client = code_engine_client(url, auth, timeout=30.0)
        except ValueError as exc:  # the SDK core checking credentials
            problems.append(f"Code Engine credentials: {exc}")
    if problems:
        if as_json:
            print(json.dumps({"ok": False, "problems": problems}, indent=2), file=out)
        return config_invalid("certsync status", problems, out=out)
    store = StatusStore(client, project, name, policy=RetryPolicy(attempts=3, total_seconds=20))
    try:
        record, tag = store.read()
    except CertsyncError as exc:
        print(f"certsync status: {exc}", file=sys.stderr)
        if as_json:
            print(json.dumps({"ok": False, "error": str(exc)}, indent=2), file=out)
        return 1
    if as_json:
        body = {target: asdict(status) for target, status in sorted(record.items())}
        print(json.dumps(body, indent=2), file=out)
    elif tag is None:
        print(
            f"No status record yet: config map {name!r} does not exist (no run has finished).",
            file=out,
        )
    else:
        print(render_table(record, dt.datetime.now(dt.UTC)), file=out)
    return 0


def render_table(record: Record, now: dt.datetime) -> str:
    rows = [COLUMNS]
    for target, s in sorted(record.items()):
        left = s.days_left(now)
        verified = sum(1 for d in s.domains.values() if d.verified)
        rows.append(
            (
                target,
                s.secret_id[:13],
                (s.serial or "-")[:16],
                (s.not_after or "-")[:10],
                "-" if left is None else str(left),
                s.outcome,
                (s.changed_at or "-")[:16].replace("T", " "),
                f"{verified}/{len(s.domains)} verified" if s.domains else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    reasons = [f"  {t}: {s.reason}" for t, s in sorted(record.items()) if not s.in_sync]
    return "\n".join(lines + (["", "Not in sync:", *reasons] if reasons else []))
