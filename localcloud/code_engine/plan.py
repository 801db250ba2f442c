"""Code Engine v2: turn a submitted job run into what the runner executes.

The process command is built the Kubernetes way (`process`). Env precedence, lowest first:
minimal base (PATH, HOME, LANG), the image's env, the run's env variables (job's, overridden by
name by the run's), then what Code Engine injects (CE_*, JOB_ARRAY_SIZE; JOB_INDEX and
JOB_INDEX_RETRY_COUNT per attempt).
Secret and config map references are resolved when the run is submitted (real Code Engine resolves
them when each instance's container is created). A run in `daemon` mode runs each index once.

Such a failure shows as `last_failure_reason` `ImagePullBackOff` (unknown image, or a private
image without a usable pull secret: `pulls`) or `CreateContainerConfigError` (unresolvable env
reference): the Kubernetes container reasons for these cases (docs `ts-jobrun-notcompleting.md`:
"Check for an `ImagePullBackOff` error"); what real Code Engine reports is not documented.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from localcloud.code_engine.job_settings import parse_array_spec
from localcloud.code_engine.model import ConfigMap, JobRun, Secret
from localcloud.code_engine.pulls import pull_failure
from localcloud.code_engine.runner import Image, Plan, base_env

SecretLookup = Callable[[str], Secret | None]
ConfigMapLookup = Callable[[str], ConfigMap | None]


def build_plan(
    run: JobRun,
    injected: Mapping[str, str],
    images: Mapping[str, Image],
    lookups: tuple[SecretLookup, ConfigMapLookup],
    pending_seconds: float,
) -> Plan:
    """`lookups`: where env references find secrets and config maps by name."""
    spec = run.spec
    indices = parse_array_spec(spec.scale_array_spec)
    image = images.get(spec.image_reference)
    env, error = resolve_env(spec.run_env_variables, *lookups)
    reason = None if error is None else "CreateContainerConfigError"
    denied = pull_failure(spec.image_reference, spec.image_secret, lookups[0])
    if denied is not None:
        error, reason = denied.message, "ImagePullBackOff"
    elif image is None:
        error = f"image '{spec.image_reference}' could not be pulled (not registered)"
        reason = "ImagePullBackOff"
    size = len(indices) if run.array_size_override is None else run.array_size_override
    instance = {**injected, "JOB_ARRAY_SIZE": str(size)}
    return Plan(
        name=run.name,
        argv=None if image is None else process(image, spec.run_commands, spec.run_arguments),
        cwd=None if image is None else image.cwd,
        env=base_env({**(image.env if image else {}), **env, **instance}),
        indices=indices,
        retry_limit=spec.scale_retry_limit or 0,
        max_seconds=spec.scale_max_execution_time,
        pending_seconds=pending_seconds,
        error=error,
        reason=reason,
    )


def process(image: Image, commands: list[str], arguments: list[str]) -> list[str]:
    """The container's command line, as Kubernetes builds it (docs `cmd-args.md`: "If
    `--command` is used, then any image `Entrypoint` value is overwritten and any image `Command`
    value is ignored. If `--argument` is used, then any image `Command` value is overwritten").
    An empty list is "not set" (SDK `create_job` `run_commands` / `run_arguments`: "If not
    specified an empty string array will be applied and the command specified by the container
    image, will be used")."""
    if commands:
        return [*commands, *arguments]
    return [*image.entrypoint, *(arguments or image.cmd)]


def resolve_env(
    env_vars: list[dict[str, str]], secret: SecretLookup, config_map: ConfigMapLookup
) -> tuple[dict[str, str], str | None]:
    """(env, error): literal values, and the data of the secrets and config maps referenced; the
    first reference that does not resolve (no such secret, config map or key) is an error that
    fails the run."""
    env: dict[str, str] = {}
    for var in env_vars:
        kind, ref = var["type"], var.get("reference", "")
        if kind == "literal":
            env[var["name"]] = var["value"]
            continue
        what = "config map" if kind.startswith("config_map") else "secret"
        found = config_map(ref) if what == "config map" else secret(ref)
        if found is None:
            return env, f"{what} '{ref}' not found"
        data = found.data
        if kind.endswith("_key_reference"):
            if var["key"] not in data:
                return env, f"key '{var['key']}' not found in {what} '{ref}'"
            env[var["name"]] = data[var["key"]]
        else:
            env.update({f"{var.get('prefix', '')}{k}": v for k, v in data.items()})
    return env, None
