"""Code Engine v2: the settings of apps, checked, with their defaults.

Defaults as terraform-provider-ibm documents them for `ibm_code_engine_app` (image_port 8080,
managed_domain_mappings `local_public`, run_service_account `default`, scale_concurrency 100,
scale_cpu_limit `1`, scale_down_delay 0, scale_ephemeral_storage_limit `400M`,
scale_initial_instances 1, scale_max_instances 10, scale_memory_limit `4G`, scale_min_instances 0,
scale_request_timeout 300); `run_compute_resource_token_enabled` is shown as `false` when unset
(the SDK's example shows the flag; its default is not documented). Field names and enums are the
SDK's `App`/`AppPatch`. Bounds from terraform where it gives them (scale_concurrency_target
1..1000, scale_down_delay 0..3600).

Unknown, stricter choice made: unknown body fields are a 400, as for jobs; `image_port` must be
1..65535; the other integers must not be negative; `scale_min_instances` above a non-zero
`scale_max_instances` is a 400; probes must be objects whose `type` is `tcp` or `http`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from localcloud.code_engine.app_model import AppSpec
from localcloud.code_engine.checks import invalid, pick
from localcloud.code_engine.job_settings import (
    SERVICE_ACCOUNTS,
    bounded,
    image_and_run,
    one_of,
)
from localcloud.code_engine.resources import check_limits

SPEC_FIELDS = {f.name for f in dataclasses.fields(AppSpec)}
CREATE_FIELDS = SPEC_FIELDS | {"name"}
PATCH_FIELDS = SPEC_FIELDS
DOMAIN_MAPPINGS = {"local", "local_private", "local_public"}
INT_BOUNDS = {
    "image_port": (1, 65535),
    "run_as_user": (0, 2**31 - 1),
    "scale_concurrency": (1, 1000),
    "scale_concurrency_target": (1, 1000),
    "scale_down_delay": (0, 3600),
    "scale_initial_instances": (0, 250),
    "scale_max_instances": (0, 250),
    "scale_min_instances": (0, 250),
    "scale_request_timeout": (1, 600),
}
LIMITS = ("scale_cpu_limit", "scale_ephemeral_storage_limit", "scale_memory_limit")


def app_settings(body: Mapping[str, Any], *, allowed: set[str]) -> dict[str, Any]:
    """Validated settings present in `body` (no defaults applied); 400 on anything else."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise invalid(f"Unknown field(s): {', '.join(unknown)}")
    return {**image_and_run(body), **_scalars(body)}


def _scalars(body: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, (low, high) in INT_BOUNDS.items():
        if body.get(field) is not None:
            out[field] = bounded(body, field, low, high)
    for field in LIMITS:
        if body.get(field) is not None:
            out[field] = pick(body, field, str)
    if body.get("run_compute_resource_token_enabled") is not None:
        out["run_compute_resource_token_enabled"] = pick(
            body, "run_compute_resource_token_enabled", bool
        )
    if body.get("run_service_account") is not None:
        out["run_service_account"] = one_of(body, "run_service_account", SERVICE_ACCOUNTS)
    if body.get("managed_domain_mappings") is not None:
        out["managed_domain_mappings"] = one_of(body, "managed_domain_mappings", DOMAIN_MAPPINGS)
    for field in ("probe_liveness", "probe_readiness"):
        if body.get(field) is not None:
            out[field] = _probe(body, field)
    return out


def new_app_spec(settings: dict[str, Any]) -> AppSpec:
    if "image_reference" not in settings:
        raise invalid("'image_reference' is required")
    return _checked(AppSpec(**settings))


def patched(spec: AppSpec, settings: dict[str, Any]) -> AppSpec:
    """JSON merge patch of an app's settings."""
    return _checked(dataclasses.replace(spec, **settings))


def _checked(spec: AppSpec) -> AppSpec:
    check_limits(spec.scale_cpu_limit, spec.scale_memory_limit, spec.scale_ephemeral_storage_limit)
    low, high = spec.scale_min_instances, spec.scale_max_instances
    if high and low > high:
        raise invalid(f"'scale_min_instances' {low} must not exceed 'scale_max_instances' {high}")
    return spec


def _probe(body: Mapping[str, Any], field: str) -> dict[str, Any]:
    probe = pick(body, field, dict)
    if probe.get("type", "tcp") not in ("tcp", "http"):
        raise invalid(f"Invalid '{field}.type': must be one of http, tcp")
    return dict(probe)
