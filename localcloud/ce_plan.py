"""Code Engine v2 emulator: turn a stored job run into what the runner executes.

The process command is the image's registered argv (its entrypoint), replaced by `run_commands`
when set, followed by `run_arguments`. Env precedence, lowest first: minimal base (PATH, HOME,
LANG), the image's env, the run's env variables (job's, overridden by name by the run's), then
what Code Engine injects (CE_*, JOB_ARRAY_SIZE; JOB_INDEX and JOB_INDEX_RETRY_COUNT per attempt).
Secret references are resolved when the run is submitted (real Code Engine resolves them when each
instance's container is created). A run in `daemon` mode runs each index once.

Such a failure shows as `last_failure_reason` `ImagePullBackOff` (unknown image) or
`CreateContainerConfigError` (unresolvable env reference): the Kubernetes container reasons for
these cases; what real Code Engine reports is not documented.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localcloud.ce_jobs import parse_array_spec
from localcloud.ce_runner import Image, Plan, base_env


def build_plan(
    run: Mapping[str, Any],
    images: Mapping[str, Image],
    secrets: Mapping[str, Mapping[str, Any]],
    pending_seconds: float,
) -> Plan:
    indices = parse_array_spec(run["scale_array_spec"])
    image = images.get(run["image_reference"])
    env, error = resolve_env(run["run_env_variables"], secrets)
    reason = None if error is None else "CreateContainerConfigError"
    if image is None:
        error = f"image '{run['image_reference']}' could not be pulled (not registered)"
        reason = "ImagePullBackOff"
    size = run.get("scale_array_size_variable_override", len(indices))
    injected = {e["name"]: e["value"] for e in run["computed_env_variables"]}
    injected["JOB_ARRAY_SIZE"] = str(size)
    return Plan(
        name=run["name"],
        argv=None if image is None else (run["run_commands"] or image.argv) + run["run_arguments"],
        cwd=None if image is None else image.cwd,
        env=base_env({**(image.env if image else {}), **env, **injected}),
        indices=indices,
        retry_limit=run.get("scale_retry_limit", 0),
        max_seconds=run.get("scale_max_execution_time"),
        pending_seconds=pending_seconds,
        error=error,
        reason=reason,
    )


def resolve_env(
    env_vars: list[dict[str, str]], secrets: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, str], str | None]:
    """(env, error): literal values and secret references; the first unresolvable one is an
    error that fails the run (config maps are not emulated, so they never resolve)."""
    env: dict[str, str] = {}
    for var in env_vars:
        kind = var["type"]
        if kind == "literal":
            env[var["name"]] = var["value"]
            continue
        if kind.startswith("config_map"):
            return env, f"config map '{var['reference']}' not found (not emulated)"
        secret = secrets.get(var["reference"])
        if secret is None:
            return env, f"secret '{var['reference']}' not found"
        data: Mapping[str, str] = secret["data"]
        if kind == "secret_key_reference":
            if var["key"] not in data:
                return env, f"key '{var['key']}' not found in secret '{var['reference']}'"
            env[var["name"]] = data[var["key"]]
        else:
            env.update({f"{var.get('prefix', '')}{k}": v for k, v in data.items()})
    return env, None
