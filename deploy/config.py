"""`certsync.yaml`: what `python -m deploy` installs, read and checked once, every problem at once.

The commented example is `certsync.example.yaml` at the top of the repository. Code Engine's URL
defaults to IBM Cloud's public endpoint for `region`; Secrets Manager's and Event Notifications'
to the public endpoints of the regions their instances are in, which `deploy` looks up in the
Resource Controller (`deploy/instances.py`). Each can be overridden (private endpoints, or the local
IBM Cloud in tests and `make demo`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy import regions, schema, sizing
from deploy.keys import Build, Reader
from deploy.sizing import Size
from job.mappings import SecretMapping
from shared import expiry
from shared.errors import ConfigError

DELIVERIES = ("webhook", "job")
RESOURCE_CONTROLLER_URL = "https://resource-controller.cloud.ibm.com"  # ResourceControllerV2's


@dataclass(frozen=True)
class Config:
    path: str
    name: str
    region: str
    project: str  # Code Engine project name or id
    sm_instance: str  # Secrets Manager instance GUID (from the CRN, when a CRN was written)
    en_instance: str  # Event Notifications instance GUID (likewise)
    mappings: tuple[SecretMapping, ...]  # parsed by the job's own rules
    delivery: str  # "webhook" (the trigger app) or "job" (Event Notifications starts the job)
    schedule: str | None  # the safety net's cron expression (UTC), or None for none
    job_image: str
    trigger_image: str
    build: Build | None
    # The registry secret the job and app pull their images with: `images.registry_secret`, or
    # `build.registry_secret` (push and pull); None for public images.
    image_secret: str | None = None
    iam_url: str = "https://iam.cloud.ibm.com"
    resource_controller_url: str = RESOURCE_CONTROLLER_URL
    sm_instance_crn: str | None = None  # the CRN, when `secrets_manager.instance_id` is one
    en_instance_crn: str | None = None  # the CRN, when `event_notifications.instance_id` is one
    code_engine_url: str | None = None
    secrets_manager_url: str | None = None
    event_notifications_url: str | None = None
    alerts: bool = True  # certsync's own alerts, published as an Event Notifications source
    job_env: dict[str, str] = field(default_factory=dict)
    trigger_env: dict[str, str] = field(default_factory=dict)
    trigger_min_instances: int = 0  # instances kept running: no cold start, billed while idle
    # `expiry_warn_days`: the job's CERTSYNC_EXPIRY_WARN_DAYS, and where `doctor` warns.
    expiry_warn_days: int = expiry.DEFAULT_WARN_DAYS
    job_size: Size = sizing.JOB  # `job.cpu`, `job.memory`
    trigger_size: Size = sizing.TRIGGER  # `trigger.cpu`, `trigger.memory`
    # `code_engine.urls`: region -> Code Engine API base (with `/v2`), for other regions' projects.
    code_engine_urls: dict[str, str] = field(default_factory=dict)
    watch_unmanaged: bool = False  # the job also watches TLS secrets no mapping manages
    # The mappings as written: the config map holds them as the user wrote them (CERTSYNC_MAPPINGS),
    # and `plan` names a mapping's secret as it is written.
    mappings_written: tuple[dict[str, Any], ...] = ()

    # -- names of what certsync creates --------------------------------------------------
    @property
    def job_name(self) -> str:
        return self.name

    @property
    def app_name(self) -> str:
        return f"{self.name}-trigger"

    @property
    def config_map_name(self) -> str:
        return f"{self.name}-mappings"

    @property
    def webhook_secret_name(self) -> str:
        return f"{self.name}-webhook"

    @property
    def profile_name(self) -> str:
        return self.name

    @property
    def alerts_name(self) -> str:
        """The alerts' source and topic in Event Notifications."""
        return f"{self.name}-alerts"

    @property
    def canary_name(self) -> str:
        """`doctor --canary`'s certificate in Secrets Manager and TLS secret in Code Engine."""
        return f"{self.name}-canary"

    # -- where the services answer -------------------------------------------------------
    @property
    def ce_url(self) -> str:
        return self.code_engine_url or regions.code_engine_url(self.region)

    def ce_url_for(self, region: str) -> str:
        """A region's Code Engine API base: `code_engine.urls`, else `code_engine.url` for the
        config's own region, else IBM's public regional endpoint."""
        if region in self.code_engine_urls:
            return self.code_engine_urls[region]
        return self.ce_url if region == self.region else regions.code_engine_url(region)

    @property
    def mappings_json(self) -> str:
        return json.dumps(list(self.mappings_written), separators=(",", ":"), sort_keys=True)


def load(path: str | Path) -> Config:
    """Read and check `path`; raises ConfigError listing every problem, each naming its key."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{where}: cannot be read ({exc.strerror})"]) from None
    import yaml  # only `deploy` reads YAML; the job imports it only for a YAML mappings file

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([schema.yaml_problem(where, exc, text)]) from None
    return parse(raw, where)


def parse(raw: Any, where: str = "certsync.yaml") -> Config:
    if not isinstance(raw, dict):
        raise ConfigError([f"{where}: expected a mapping of settings at the top level"])
    reader = Reader(raw, where)
    for problem in schema.unknown_keys(raw):
        reader.problem(problem)
    name, region = reader.name(), reader.region()
    ce, sm, en = (
        reader.section(key) for key in ("code_engine", "secrets_manager", "event_notifications")
    )
    project = reader.string("code_engine.project", ce.get("project"))
    sm_instance, sm_crn = reader.instance(
        "secrets_manager.instance_id", sm.get("instance_id"), "secrets-manager"
    )
    en_instance, en_crn = reader.instance(
        "event_notifications.instance_id", en.get("instance_id"), "event-notifications"
    )
    delivery = reader.string("delivery", default="webhook")
    if delivery and delivery not in DELIVERIES:
        reader.problem(f"'delivery' has value {delivery!r}: use 'webhook' or 'job'")
    schedule = reader.schedule()
    mappings, written = reader.mappings()
    job_image, trigger_image, build, image_secret = reader.images(delivery)
    env = reader.section("env")
    job_env, trigger_env = reader.env(env, "job"), reader.env(env, "trigger")
    return reader.done(
        Config(
            path=where,
            name=name,
            region=region,
            project=project,
            sm_instance=sm_instance,
            en_instance=en_instance,
            sm_instance_crn=sm_crn,
            en_instance_crn=en_crn,
            mappings=mappings,
            mappings_written=written,
            delivery=delivery,
            schedule=schedule,
            job_image=job_image,
            trigger_image=trigger_image,
            build=build,
            image_secret=image_secret,
            **_urls(reader, ce, sm, en),
            alerts=reader.boolean("alerts", default=True),
            job_env=job_env,
            trigger_env=trigger_env,
            expiry_warn_days=reader.expiry_warn_days(job_env),
            job_size=reader.size("job"),
            trigger_size=reader.size("trigger"),
            trigger_min_instances=reader.min_instances(),
            code_engine_urls=reader.urls("code_engine.urls", ce.get("urls")),
            watch_unmanaged=reader.boolean("watch_unmanaged", default=False),
        )
    )


def _urls(
    reader: Reader, ce: dict[str, Any], sm: dict[str, Any], en: dict[str, Any]
) -> dict[str, Any]:
    """Where the services answer, each optional: IAM, the Resource Controller, and the
    `url` of the `code_engine`, `secrets_manager` and `event_notifications` sections."""
    raw = reader.raw
    return {
        "iam_url": reader.url("iam_url", raw.get("iam_url")) or "https://iam.cloud.ibm.com",
        "resource_controller_url": (
            reader.url("resource_controller_url", raw.get("resource_controller_url"))
            or RESOURCE_CONTROLLER_URL
        ),
        "code_engine_url": reader.url("code_engine.url", ce.get("url")),
        "secrets_manager_url": reader.url("secrets_manager.url", sm.get("url")),
        "event_notifications_url": reader.url("event_notifications.url", en.get("url")),
    }
