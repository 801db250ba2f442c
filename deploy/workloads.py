"""What runs in Code Engine: the mappings config map, the webhook token secret, the builds, the
job and the trigger app, with the environment that makes each authenticate as the trusted
profile (no API key anywhere) and find the services."""

from __future__ import annotations

import json
from typing import Any

from deploy.config import Config
from deploy.model import MARKER_KEY, Facts, Kind, Resource
from shared import expiry

TOKEN_KEY = "CERTSYNC_WEBHOOK_TOKEN"
PUBLIC_IAM = "https://iam.cloud.ibm.com"
SOURCE_ID_UNKNOWN = "<the alerts source's id, known once it exists>"


def code_engine_resources(config: Config, facts: Facts, alert_source: str | None) -> list[Resource]:
    """The config map, the webhook token, the builds, the job and the trigger app."""
    webhook = config.delivery == "webhook"
    out = [
        Resource(
            Kind.CONFIG_MAP,
            config.config_map_name,
            {"data": {"CERTSYNC_MAPPINGS": config.mappings_json, MARKER_KEY: config.name}},
            detail=f"{len(config.mappings)} mapping(s)",
        )
    ]
    if webhook:
        out.append(
            Resource(
                Kind.SECRET,
                config.webhook_secret_name,
                {"format": "generic", "keys": sorted([TOKEN_KEY, MARKER_KEY])},
                detail="the webhook's bearer token (generated once, never shown)",
            )
        )
    if config.build is not None:
        components = ["job", "trigger"] if webhook else ["job"]
        out += [_build(config, component) for component in components]
    out.append(_job(config, facts, alert_source))
    if webhook:
        out.append(_app(config, facts))
    return out


def _build(config: Config, component: str) -> Resource:
    build = config.build
    assert build is not None
    spec = {
        "output_image": build.image(component),
        "output_secret": build.registry_secret,
        "source_type": "git",
        "source_url": build.source,
        "source_revision": build.revision,
        "strategy_type": "dockerfile",
        "strategy_spec_file": f"Dockerfile.{component}",
    }
    return Resource(Kind.BUILD, f"{config.name}-{component}", spec, detail=build.image(component))


def _auth_env(config: Config, prefix: str) -> dict[str, str]:
    env = {f"{prefix}_AUTH_TYPE": "container", f"{prefix}_IAM_PROFILE_NAME": config.profile_name}
    if config.iam_url != PUBLIC_IAM:
        env[f"{prefix}_AUTH_URL"] = config.iam_url
    return env


def _endpoint_env(config: Config) -> dict[str, str]:
    return {"CODE_ENGINE_URL": config.code_engine_url} if config.code_engine_url else {}


def _watch_env(config: Config) -> dict[str, str]:
    """`watch_unmanaged` and `code_engine.urls`, as the job reads them."""
    env = {"CERTSYNC_WATCH_UNMANAGED": "true"} if config.watch_unmanaged else {}
    if config.code_engine_urls:
        urls = json.dumps(config.code_engine_urls, sort_keys=True, separators=(",", ":"))
        env["CERTSYNC_CODE_ENGINE_URLS"] = urls
    return env


def _job(config: Config, facts: Facts, alert_source: str | None) -> Resource:
    alerts = (
        {
            "EVENT_NOTIFICATIONS_URL": facts.en_url,
            **_auth_env(config, "EVENT_NOTIFICATIONS"),
            "CERTSYNC_EN_INSTANCE_ID": config.en_instance,
            "CERTSYNC_EN_SOURCE_ID": alert_source or SOURCE_ID_UNKNOWN,
        }
        if config.alerts
        else {}
    )
    literal = {
        "SECRETS_MANAGER_URL": facts.sm_url,
        **_auth_env(config, "SECRETS_MANAGER"),
        **_auth_env(config, "CODE_ENGINE"),
        **_endpoint_env(config),
        **alerts,
        expiry.VARIABLE: str(config.expiry_warn_days),
        **_watch_env(config),
        MARKER_KEY: config.name,
        **config.job_env,
    }
    env = [
        *_literals(literal),
        {"type": "config_map_full_reference", "reference": config.config_map_name},
    ]
    spec = {
        "image_reference": config.job_image,
        "image_secret": config.image_secret,  # None: a public image (a change clears it)
        "run_compute_resource_token_enabled": True,
        "scale_retry_limit": 2,
        "scale_max_execution_time": 900,
        **config.job_size.spec(),
        "run_env_variables": sort_env(env),
    }
    return Resource(Kind.JOB, config.job_name, spec, detail=config.job_image)


def _app(config: Config, facts: Facts) -> Resource:
    literal = {
        "CERTSYNC_JOB_NAME": config.job_name,
        "CERTSYNC_ALLOWED_SOURCES": facts.sm_crn,
        **_auth_env(config, "CODE_ENGINE"),
        **_endpoint_env(config),
        MARKER_KEY: config.name,
        **config.trigger_env,
    }
    env = [
        *_literals(literal),
        {"type": "secret_full_reference", "reference": config.webhook_secret_name},
    ]
    spec = {
        "image_reference": config.trigger_image,
        "image_secret": config.image_secret,
        "image_port": 8080,
        "run_compute_resource_token_enabled": True,
        "scale_min_instances": config.trigger_min_instances,
        **config.trigger_size.spec(),
        "run_env_variables": sort_env(env),
    }
    return Resource(Kind.APP, config.app_name, spec, detail=config.trigger_image)


def _literals(values: dict[str, str]) -> list[dict[str, Any]]:
    return [{"type": "literal", "name": k, "value": v} for k, v in values.items()]


def sort_env(env: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(env, key=lambda e: (e.get("type", ""), e.get("name", ""), e.get("reference", "")))
