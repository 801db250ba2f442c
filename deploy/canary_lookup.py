"""What the canary reads: its certificate in Secrets Manager, its job runs, the trigger's record."""

from __future__ import annotations

from typing import Any

import requests

from deploy.engine import Session
from shared.errors import CertsyncError
from shared.sdk import call_pages

LABEL = "certsync-canary"


def find_certificate(session: Session) -> str | None:
    """The canary certificate's id, or None when no canary has ever run."""
    from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsPager

    name, clients = f"{session.config.name}-canary", session.clients
    listed = call_pages(
        SecretsPager(
            client=clients.secrets_manager, search=name, secret_types=["imported_cert"], limit=100
        ),
        what=f"list Secrets Manager certificates named '{name}'",
        policy=clients.policy,
    )
    for item in listed:
        if item.get("name") != name:
            continue
        if LABEL not in (item.get("labels") or []):
            raise CertsyncError(
                f"a certificate named '{name}' exists without the label '{LABEL}'; it is not "
                "certsync's canary and is left alone: rename it, or set another 'name' in "
                f"{session.config.path}"
            )
        return str(item["id"])
    return None


def _names_secret(run: dict[str, Any], secret_id: str) -> bool:
    for variable in run.get("run_env_variables") or []:
        if variable.get("name") == "ibmendata" and secret_id in str(variable.get("value") or ""):
            return True
    return False


def trigger_record(session: Session) -> dict[str, Any] | None:
    """The trigger's `GET /deliveries`, read with the webhook's token; None when unknown."""
    if session.config.delivery != "webhook":
        return None
    url = session.code_engine.app_url()
    if url is None:
        return None
    try:
        token = session.code_engine.webhook_token()
        response = requests.get(
            f"{url}/deliveries", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
    except (RuntimeError, requests.RequestException):
        return None
    if response.status_code != 200:
        return None
    body = response.json()
    return body if isinstance(body, dict) else None


def canary_runs(session: Session, secret_id: str) -> list[dict[str, Any]]:
    """The job's runs that carry a notification naming the canary (in `ibmendata`)."""
    from ibm_code_engine_sdk.code_engine_v2 import JobRunsPager

    runs = call_pages(
        JobRunsPager(
            client=session.clients.code_engine,
            project_id=session.facts.project_id,
            job_name=session.config.job_name,
            limit=100,
        ),
        what=f"list the job runs of '{session.config.job_name}'",
        policy=session.clients.policy,
    )
    return [r for r in runs if _names_secret(r, secret_id)]
