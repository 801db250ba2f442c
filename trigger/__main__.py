"""Composition root: `python -m trigger` reads the environment, builds the client, serves the app.

Exit codes: 0 after a clean shutdown, 2 for bad configuration (each problem logged, naming its
variable), as for the job.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import structlog
import uvicorn

from shared import __version__
from shared.clients import code_engine_client
from shared.errors import ConfigError
from shared.logging import configure_logging
from shared.runs import RunHistory
from shared.settings import config_invalid
from trigger.app import create_app
from trigger.jobruns import CodeEngineJobRuns, Job
from trigger.settings import Settings
from trigger.submitter import Submitter

if TYPE_CHECKING:
    from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2

log = structlog.get_logger("certsync.trigger")


def server_config(settings: Settings, client: CodeEngineV2) -> uvicorn.Config:
    """The app over its job-runs adapter, served by uvicorn as the image runs it."""
    # Pruning is part of a submission attempt, which the job-runs adapter retries: one try each.
    history = RunHistory(
        client,
        settings.project_id,
        settings.job_name,
        settings.retention,
        policy=replace(settings.retry, attempts=1),
    )
    # At most `submit_connections` submissions at once: as many tasks, threads and connections.
    job_runs = CodeEngineJobRuns(
        Job(client, settings.project_id, settings.job_name),
        policy=settings.retry,
        history=history,
        workers=settings.submit_connections,
    )
    app = create_app(settings, Submitter(job_runs, settings.submit_connections))
    return uvicorn.Config(
        app,
        host="0.0.0.0",  # noqa: S104 - inside a container, reached through Code Engine's ingress
        port=settings.port,
        lifespan="on",
        log_config=None,  # our own request lines replace uvicorn's access log
        access_log=False,
        server_header=False,
        # uvicorn's pure-Python parser, the one the lock files install (named, not "auto", so a
        # C parser installed beside it changes nothing).
        http="h11",
        # On SIGTERM, stop accepting and finish the requests being answered (submissions are
        # drained after that, by the app's lifespan shutdown).
        timeout_graceful_shutdown=settings.shutdown_seconds,
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m trigger",
        description="certsync's webhook: Event Notifications POSTs a rotation to /events, the "
        "trigger acknowledges it at once and submits the job runs that sync it. Configured by "
        "its environment (CERTSYNC_JOB_NAME, CE_PROJECT_ID, CERTSYNC_WEBHOOK_TOKEN, "
        "CERTSYNC_ALLOWED_SOURCES, PORT, ...: see the README's trigger section).",
    )
    parser.add_argument("--version", action="version", version=f"certsync {__version__}")
    return parser.parse_args(argv)


def main(environ: Mapping[str, str], argv: Sequence[str] = ()) -> int:
    parse_args(argv)
    configure_logging()
    try:
        settings = Settings.from_env(environ)
        client = code_engine_client(
            settings.code_engine_url,
            settings.code_engine_auth,
            timeout=settings.ce_timeout,
            pool_size=settings.submit_connections,
        )
    except ConfigError as exc:
        return config_invalid("certsync trigger", exc.problems)
    except ValueError as exc:  # the SDK validating credentials (e.g. a quoted API key)
        return config_invalid("certsync trigger", [f"Code Engine credentials: {exc}"])
    config = server_config(settings, client)
    log.info(
        "trigger_started",
        port=settings.port,
        project_id=settings.project_id,
        job_name=settings.job_name,
        authentication="bearer token" if settings.webhook_token else "disabled",
        allowed_sources=sorted(settings.allowed_sources) or "any",
    )
    if settings.webhook_token is None:
        log.warning(
            "authentication_disabled",
            reason="CERTSYNC_ALLOW_UNAUTHENTICATED=true and no CERTSYNC_WEBHOOK_TOKEN",
        )
    # On SIGTERM uvicorn shuts down gracefully, runs the app's lifespan shutdown (which lets
    # submissions finish), then re-raises the signal: the process ends as signalled.
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ, sys.argv[1:]))
