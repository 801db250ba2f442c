"""The checks of each key of certsync.yaml (`Reader`), and the `build` section's value.

Each method reads one key or section, records a problem naming the key when it is wrong, and
returns a usable value, so that `deploy.config.parse` reports every problem at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

from deploy import regions, schema, sizing
from deploy.instances import parse_instance_id
from deploy.sizing import Size
from job.mappings import SecretMapping, mappings_from
from shared import expiry
from shared.errors import ConfigError

T = TypeVar("T")
# Code Engine resource names (jobs, apps, config maps, secrets): lowercase alphanumerics and '-',
# starting with a letter, at most 63 characters (docs `cmd_defs.md`). certsync appends at most
# "-trigger" / "-mappings" / "-webhook" to `name`, so `name` keeps 10 characters of room.
_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,51}[a-z0-9])?$")
_CRON_FIELD = re.compile(r"^[0-9*/,\-]+$")
MAX_TRIGGER_INSTANCES = 10  # the app's `scale_max_instances`, Code Engine's default (SDK)


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


class Reader:
    """Reads each key of a parsed certsync.yaml, recording every problem with its key."""

    def __init__(self, raw: dict[str, Any], where: str) -> None:
        self.raw = raw
        self.where = where
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.where}: {text}")

    def done(self, config: T) -> T:
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
        if isinstance(value, dict) and any(str(k).startswith("crn:") for k in value):
            self.problem(f"'{key}' holds a mapping: {schema.unquoted_crn_hint(str(*value))}")
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

    def mappings(self) -> tuple[tuple[SecretMapping, ...], tuple[dict[str, Any], ...]]:
        """(the mappings parsed by the job's own rules, the mappings as written)."""
        value = self.raw.get("mappings")
        if not isinstance(value, list) or not value:
            self.problem("'mappings' must be a non-empty list of {secret: ..., target: ...}")
            return (), ()
        try:
            parsed = mappings_from(value, source="'mappings'")
        except ValueError as exc:
            self.problem(str(exc))
            return (), ()
        return parsed, tuple(value)

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
        for problem in schema.unknown_variables(component, list(out)):
            self.problem(problem)
        return out

    def expiry_warn_days(self, job_env: dict[str, str]) -> int:
        """`expiry_warn_days`, which deploy gives the job as CERTSYNC_EXPIRY_WARN_DAYS (also set
        in `env.job`, it must agree): one threshold for the job, its alerts and `doctor`."""
        value = self.raw.get("expiry_warn_days")
        in_env = job_env.get(expiry.VARIABLE)
        low, high = expiry.MIN_WARN_DAYS, expiry.MAX_WARN_DAYS
        if value is None:
            value = int(in_env) if in_env and in_env.isdigit() else expiry.DEFAULT_WARN_DAYS
        elif in_env is not None and in_env != str(value):
            self.problem(
                f"'expiry_warn_days' is {value!r} but 'env.job.{expiry.VARIABLE}' is {in_env!r}: "
                "set 'expiry_warn_days' alone"
            )
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(f"'expiry_warn_days' has value {value!r}: expected {low} to {high} days")
            return expiry.DEFAULT_WARN_DAYS
        return value

    def name(self) -> str:
        name = self.string("name", default="certsync")
        if name and not _NAME.match(name):
            self.problem(
                f"'name' has value {name!r}: use lowercase letters, digits and '-', starting "
                "with a letter, at most 53 characters (Code Engine names, with room for suffixes)"
            )
        return name

    def region(self) -> str:
        region = self.string("region")
        if region and region not in regions.CODE_ENGINE:
            self.problem(
                f"'region' has value {region!r}: use the Code Engine project's region, one of "
                f"{regions.named(regions.CODE_ENGINE)} (IBM Cloud docs, Code Engine 'Regions')"
            )
        return region

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

    def min_instances(self) -> int:
        """`trigger.min_instances`: 0 (scale to zero, the default) to MAX_TRIGGER_INSTANCES."""
        value = self.section("trigger").get("min_instances", 0)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"'trigger.min_instances' has value {value!r}: expected a whole number")
            return 0
        if not 0 <= value <= MAX_TRIGGER_INSTANCES:
            self.problem(
                f"'trigger.min_instances' has value {value}: expected 0 to "
                f"{MAX_TRIGGER_INSTANCES} (the app's maximum number of instances)"
            )
            return 0
        return value

    def size(self, key: str) -> Size:
        size, problems = sizing.parse_size(key, self.section(key))
        for problem in problems:
            self.problem(problem)
        return size
