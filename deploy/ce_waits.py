"""What `apply` waits for in Code Engine: a build run to finish, an app's new revision to be ready.
Both read under the one polling helper (`deploy.clients.wait_for_status` on `shared.retry.poll`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deploy.clients import Clients, Wait, wait_for_status
from shared.errors import CertsyncError

BUILD_TIMEOUT = 1800.0  # a Code Engine build may take up to its `timeout` (default 600 s)
APP_TIMEOUT = 600.0
Progress = Callable[[str], None]


class BuildFailed(CertsyncError):
    """A build run failed or an app did not become ready: apply stops, naming it."""


def run_build(clients: Clients, project: str, build: str, progress: Progress) -> None:
    """Start a run of `build` and wait until it succeeded; BuildFailed names the run otherwise."""
    ce = clients.code_engine
    run = clients.call(
        lambda: ce.create_build_run(project_id=project, build_name=build),
        f"start a run of Code Engine build '{build}'",
    )
    run_name = str(run["name"])
    progress(f"building '{build}' (build run '{run_name}')")
    body = _wait(
        lambda: clients.call(
            lambda: ce.get_build_run(project_id=project, name=run_name),
            f"get Code Engine build run '{run_name}'",
        ),
        Wait(f"build run '{run_name}'", frozenset({"succeeded", "failed"}), BUILD_TIMEOUT),
        clients,
        progress,
    )
    if body.get("status") != "succeeded":
        reason = (body.get("status_details") or {}).get("reason") or "no reason given"
        raise BuildFailed(
            f"Code Engine build run '{run_name}' failed ({reason}); see "
            f"`ibmcloud ce buildrun logs --name {run_name}`"
        )


def wait_for_app(clients: Clients, project: str, name: str, progress: Progress) -> dict[str, Any]:
    """The app once it is ready; BuildFailed says why it is not."""
    progress(f"waiting for app '{name}' to be ready")
    app = _wait(
        lambda: clients.call(
            lambda: clients.code_engine.get_app(project_id=project, name=name),
            f"get Code Engine app '{name}'",
        ),
        # `warning` is final too (SDK `App.StatusEnum`): the new revision failed and an
        # earlier one serves (docs `appdeploy-access.md`, "Ready (with warnings)").
        Wait(f"app '{name}'", frozenset({"ready", "failed", "warning"}), APP_TIMEOUT),
        clients,
        progress,
    )
    if app.get("status") != "ready":
        raise BuildFailed(_app_not_ready(name, app))
    return app


def _wait(
    get: Callable[[], dict[str, Any]], wait: Wait, clients: Clients, progress: Progress
) -> dict[str, Any]:
    body, final = wait_for_status(get, wait, progress, sleep=clients.policy.sleep)
    if not final:
        raise BuildFailed(f"{wait.label} still '{body.get('status')}' after {wait.timeout:.0f} s")
    return body


def _app_not_ready(name: str, app: dict[str, Any]) -> str:
    details = app.get("status_details") or {}
    reason = details.get("reason") or "no reason given"
    created, ready = details.get("latest_created_revision"), details.get("latest_ready_revision")
    if app.get("status") == "warning":
        serving = f"revision '{ready}' still serves" if ready else "an earlier revision serves"
        return (
            f"Code Engine app '{name}' is in status 'warning' ({reason}): its new revision "
            f"'{created}' failed and {serving}; apply stopped. See "
            f"`ibmcloud ce revision get --name {created}` and `ibmcloud ce app logs --name {name}`"
        )
    return (
        f"Code Engine app '{name}' did not become ready ({reason}); see "
        f"`ibmcloud ce app logs --name {name}`"
    )
