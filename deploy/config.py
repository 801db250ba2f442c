"""`certsync.yaml`: what `python -m deploy` installs, read and checked once, every problem at once.

The commented example is `certsync.example.yaml` at the top of the repository. Code Engine's URL
defaults to IBM Cloud's public endpoint for `region`; Secrets Manager's and Event Notifications'
to the public endpoints of the regions their instances are in, which `deploy` looks up in the
Resource Controller (`deploy/instances.py`). Each can be overridden (private endpoints, or the local
IBM Cloud in tests and `make demo`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy import regions
from deploy.instances import parse_instance_id
from job.mappings import parse_mappings
from shared.errors import ConfigError

# Code Engine resource names (jobs, apps, config maps, secrets): lowercase alphanumerics and '-',
# starting with a letter, at most 63 characters (docs `cmd_defs.md`). certsync appends at most
# "-trigger" / "-mappings" / "-webhook" to `name`, so `name` keeps 10 characters of room.
_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,51}[a-z0-9])?$")
_CRON_FIELD = re.compile(r"^[0-9*/,\-]+$")
DELIVERIES = ("webhook", "job")
RESOURCE_CONTROLLER_URL = "https://resource-controller.cloud.ibm.com"  # ResourceControllerV2's
KNOWN_KEYS = {
    "name",
    "region",
    "iam_url",
    "resource_controller_url",
    "code_engine",
    "secrets_manager",
    "event_notifications",
    "mappings",
    "delivery",
    "schedule",
    "images",
    "build",
    "env",
    "alerts",
    "watch_unmanaged",
}


@dataclass(frozen=True)
class Build:
    """Build both images in Code Engine from a git repository holding certsync."""

    source: str  # git URL
    revision: str  # branch, tag or commit
    registry: str  # where the images go, e.g. `private.us.icr.io/my-namespace`
    registry_secret: str  # a Code Engine registry secret that may push there
    tag: str = "latest"

    def image(self, component: str) -> str:
        return f"{self.registry}/certsync-{component}:{self.tag}"


@dataclass(frozen=True)
class Config:
    path: str
    name: str
    region: str
    project: str  # Code Engine project name or id
    sm_instance: str  # Secrets Manager instance GUID (from the CRN, when a CRN was written)
    en_instance: str  # Event Notifications instance GUID (likewise)
    mappings: tuple[dict[str, Any], ...]  # as written, validated by the job's own parser
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
    # `code_engine.urls`: region -> Code Engine API base (with `/v2`), for other regions' projects.
    code_engine_urls: dict[str, str] = field(default_factory=dict)
    watch_unmanaged: bool = False  # the job also watches TLS secrets no mapping manages

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
        return json.dumps(list(self.mappings), separators=(",", ":"), sort_keys=True)


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
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError([f"{where} is not valid YAML: {first}"]) from None
    return parse(raw, where)


def parse(raw: Any, where: str = "certsync.yaml") -> Config:
    if not isinstance(raw, dict):
        raise ConfigError([f"{where}: expected a mapping of settings at the top level"])
    reader = _Reader(raw, where)
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        reader.problem(f"unknown keys {unknown}; known keys are {sorted(KNOWN_KEYS)}")
    name = reader.string("name", default="certsync")
    if name and not _NAME.match(name):
        reader.problem(
            f"'name' has value {name!r}: use lowercase letters, digits and '-', starting with a "
            "letter, at most 53 characters (Code Engine names, with room for suffixes)"
        )
    region = reader.string("region")
    if region and region not in regions.CODE_ENGINE:
        reader.problem(
            f"'region' has value {region!r}: use the Code Engine project's region, one of "
            f"{regions.named(regions.CODE_ENGINE)} (IBM Cloud docs, Code Engine 'Regions')"
        )
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
    mappings = reader.mappings()
    job_image, trigger_image, build, image_secret = reader.images(delivery)
    env = reader.section("env")
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
            delivery=delivery,
            schedule=schedule,
            job_image=job_image,
            trigger_image=trigger_image,
            build=build,
            image_secret=image_secret,
            iam_url=reader.url("iam_url", raw.get("iam_url")) or "https://iam.cloud.ibm.com",
            resource_controller_url=(
                reader.url("resource_controller_url", raw.get("resource_controller_url"))
                or RESOURCE_CONTROLLER_URL
            ),
            code_engine_url=reader.url("code_engine.url", ce.get("url")),
            secrets_manager_url=reader.url("secrets_manager.url", sm.get("url")),
            event_notifications_url=reader.url("event_notifications.url", en.get("url")),
            alerts=reader.boolean("alerts", default=True),
            job_env=reader.env(env, "job"),
            trigger_env=reader.env(env, "trigger"),
            code_engine_urls=reader.urls("code_engine.urls", ce.get("urls")),
            watch_unmanaged=reader.boolean("watch_unmanaged", default=False),
        )
    )


class _Reader:
    def __init__(self, raw: dict[str, Any], where: str) -> None:
        self.raw = raw
        self.where = where
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.where}: {text}")

    def done(self, config: Config) -> Config:
        if self.problems:
            raise ConfigError(self.problems)
        return config

    def section(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key, {})
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(f"'{key}' must be a mapping")
            return {}
        return value

    def string(self, key: str, value: Any = None, *, default: str | None = None) -> str:
        if value is None and "." not in key:
            value = self.raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if default is not None:
                return default
            self.problem(f"'{key}' is missing")
            return ""
        if not isinstance(value, str):
            self.problem(f"'{key}' has value {value!r}: expected a string")
            return ""
        return value.strip()

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"'{key}' has value {value!r}: expected true or false")
            return default
        return value

    def instance(self, key: str, value: Any, service: str) -> tuple[str, str | None]:
        """(GUID, CRN or None): an instance named by its GUID or its CRN (`deploy/instances.py`)."""
        text = self.string(key, value)
        if not text:
            return "", None
        guid, crn, problems = parse_instance_id(text, service)
        for problem in problems:
            self.problem(f"'{key}' has value {text!r}: {problem}")
        return guid, crn

    def url(self, key: str, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
            self.problem(f"'{key}' has value {value!r}: expected an http(s) URL")
            return None
        return value.rstrip("/")

    def urls(self, key: str, value: Any) -> dict[str, str]:
        """region -> URL (`code_engine.urls`)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(f"'{key}' must map region names to API base URLs")
            return {}
        out = {}
        for region, url in value.items():
            checked = self.url(f"{key}.{region}", url)
            if checked and isinstance(region, str):
                out[region] = checked
        return out

    def schedule(self) -> str | None:
        value = self.raw.get("schedule", "17 3 * * *")
        if value is None or value is False:
            return None
        fields = str(value).split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
            self.problem(
                f"'schedule' has value {value!r}: expected a 5-field cron expression such as "
                "'17 3 * * *', or null for no safety net"
            )
            return None
        return " ".join(fields)

    def mappings(self) -> tuple[dict[str, Any], ...]:
        value = self.raw.get("mappings")
        if not isinstance(value, list) or not value:
            self.problem("'mappings' must be a non-empty list of {secret: ..., target: ...}")
            return ()
        try:
            parse_mappings(json.dumps(value), source="'mappings'")
        except (ValueError, TypeError) as exc:
            self.problem(str(exc))
            return ()
        return tuple(value)

    def images(self, delivery: str) -> tuple[str, str, Build | None, str | None]:
        """(job image, trigger image, build, the registry secret both are pulled with)."""
        images, build = self.raw.get("images"), self.raw.get("build")
        if (images is None) == (build is None):
            self.problem("set exactly one of 'images' (references you built) or 'build'")
            return "", "", None, None
        if images is not None:
            if not isinstance(images, dict):
                self.problem("'images' must be a mapping with 'job' and 'trigger'")
                return "", "", None, None
            job = self.string("images.job", images.get("job"))
            trigger = (
                self.string("images.trigger", images.get("trigger"))
                if delivery == "webhook"
                else str(images.get("trigger") or "")
            )
            secret = images.get("registry_secret")
            secret = self.string("images.registry_secret", secret) if secret is not None else None
            if secret is None:
                self.pullable("images.job", job)
                self.pullable("images.trigger", trigger)
            return job, trigger, None, secret
        if not isinstance(build, dict):
            self.problem("'build' must be a mapping with 'source', 'registry', 'registry_secret'")
            return "", "", None, None
        parsed = Build(
            source=self.string("build.source", build.get("source")),
            revision=self.string("build.revision", build.get("revision"), default="main"),
            registry=self.string("build.registry", build.get("registry")).rstrip("/"),
            registry_secret=self.string("build.registry_secret", build.get("registry_secret")),
            tag=self.string("build.tag", build.get("tag"), default="latest"),
        )
        if parsed.source and not re.match(r"^(https://|git@)", parsed.source):
            self.problem(f"'build.source' has value {parsed.source!r}: expected a git URL")
        return parsed.image("job"), parsed.image("trigger"), parsed, parsed.registry_secret

    def pullable(self, key: str, image: str) -> None:
        """An image on IBM Cloud Container Registry needs a pull secret: its namespaces are
        private (Code Engine docs `add-registry.md`; only IBM's samples in `icr.io/codeengine`
        are public), and without one every job run and app revision fails to pull (SDK
        `create_job` `image_secret`)."""
        host = image.split("/", 1)[0] if "/" in image else ""
        private = host == "icr.io" or host.endswith(".icr.io")
        if private and not image.startswith("icr.io/codeengine/"):
            self.problem(
                f"'{key}' ({image}) is in IBM Cloud Container Registry, which needs a pull "
                "secret: set 'images.registry_secret' to a Code Engine registry secret "
                f"(ibmcloud ce registry create --name certsync-registry --server {host} "
                "--username iamapikey --password-from-file <API key file>)"
            )

    def env(self, env: dict[str, Any], component: str) -> dict[str, str]:
        value = env.get(component) or {}
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in value.items()
        ):
            self.problem(f"'env.{component}' must map variable names to values")
            return {}
        out = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()}
        for name in out:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                self.problem(f"'env.{component}' has an invalid variable name {name!r}")
        return out
