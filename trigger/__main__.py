"""Composition root: `python -m trigger` reads the environment, builds the client, serves the app.

Exit codes: 0 after a clean shutdown, 2 for bad configuration (each problem logged, naming its
variable), as for the job.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import structlog
import uvicorn

from shared.clients import code_engine_client
from shared.errors import ConfigError
from shared.logging import configure_logging
from shared.retry import RetryPolicy
from shared.runs import RunHistory
from trigger.app import create_app
from trigger.jobruns import CodeEngineJobRuns
from trigger.settings import Settings
from trigger.submitter import Submitter

EXIT_CONFIG = 2
log = structlog.get_logger("certsync.trigger")


def main(environ: Mapping[str, str]) -> int:
    configure_logging()
    try:
        settings = Settings.from_env(environ)
        client = code_engine_client(
            settings.code_engine_url, settings.code_engine_auth, timeout=settings.ce_timeout
        )
    except ConfigError as exc:
        return _rejected(exc.problems)
    except ValueError as exc:  # the SDK validating credentials (e.g. a quoted API key)
        return _rejected([f"Code Engine credentials: {exc}"])
    # Pruning runs inside a submission attempt, which the submitter retries: one attempt here.
    history = RunHistory(
        client,
        settings.project_id,
        settings.job_name,
        settings.retention,
        policy=RetryPolicy(attempts=1, total_seconds=settings.retry.total_seconds),
    )
    job_runs = CodeEngineJobRuns(client, settings.project_id, settings.job_name, history)
    app = create_app(settings, Submitter(job_runs, settings.retry))
    config = uvicorn.Config(
        app,
        host="0.0.0.0",  # noqa: S104 - inside a container, reached through Code Engine's ingress
        port=settings.port,
        lifespan="on",
        log_config=None,  # our own request lines replace uvicorn's access log
        access_log=False,
        server_header=False,
        # On SIGTERM, stop accepting and let in-flight submissions (background tasks) finish.
        timeout_graceful_shutdown=settings.shutdown_seconds,
    )
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
    # On SIGTERM uvicorn shuts down gracefully, then re-raises the signal: the process ends as
    # signalled (the app logs `trigger_stopped` first).
    uvicorn.Server(config).run()
    return 0


def _rejected(problems: list[str]) -> int:
    log.error("settings_rejected", problems=problems)
    print("certsync trigger: bad configuration:", *problems, sep="\n  - ", file=sys.stderr)
    return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main(os.environ))
