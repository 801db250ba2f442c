"""What deploy compares on Code Engine's jobs, apps and builds, and what it says when an app is
not ready. Pure."""

from __future__ import annotations

from typing import Any

from deploy.sizing import canonical
from deploy.workloads import sort_env

ENV_KEYS = ("type", "name", "value", "reference", "key", "prefix")
JOB_FIELDS = (
    "image_reference",
    "image_secret",
    "run_compute_resource_token_enabled",
    "scale_retry_limit",
    "scale_max_execution_time",
    "scale_cpu_limit",
    "scale_memory_limit",
)
APP_FIELDS = (
    "image_reference",
    "image_secret",
    "image_port",
    "run_compute_resource_token_enabled",
    "scale_min_instances",
    "scale_cpu_limit",
    "scale_memory_limit",
)
BUILD_FIELDS = (
    "output_image",
    "output_secret",
    "source_type",
    "source_url",
    "source_revision",
    "strategy_type",
    "strategy_spec_file",
)


def workload_spec(body: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """A job's or app's fields that certsync manages, normalised to compare with `==`."""
    env = [
        {k: v for k, v in var.items() if k in ENV_KEYS and v not in (None, "")}
        for var in body.get("run_env_variables") or []
    ]
    spec: dict[str, Any] = canonical({k: body.get(k) for k in fields})
    spec["run_compute_resource_token_enabled"] = bool(spec["run_compute_resource_token_enabled"])
    spec["run_env_variables"] = sort_env(env)
    return spec


def app_not_ready(name: str, app: dict[str, Any]) -> str:
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


class BuildFailed(Exception):
    """A build run failed or an app did not become ready: apply stops, naming it."""
