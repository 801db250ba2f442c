"""Reading settings from an injected environment mapping, collecting every problem at once.

Entry points build their frozen settings dataclass from an `EnvReader`; nothing reads `os.environ`
except the composition roots (`__main__`), which pass it in.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TextIO

import structlog

from shared.errors import ConfigError

EXIT_CONFIG = 2  # both entry points: bad configuration, reported before any API call

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SecretValue:
    """A secret setting (API key, token): masked in repr and str, revealed only on purpose."""

    _value: str

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretValue('**********')"

    __str__ = __repr__


class EnvReader:
    """Typed access to an environment mapping that records problems instead of raising early.

    `known`: the entry point's list of the variables it reads (`job.settings.VARIABLES`,
    `trigger.settings.VARIABLES`), which `deploy` checks `env.job`/`env.trigger` against and the
    README's tables are tested against. Reading a name missing from it is a bug, raised at once.
    """

    def __init__(self, environ: Mapping[str, str], known: Collection[str] | None = None) -> None:
        self.environ = environ
        self.known = known
        self.problems: list[str] = []

    def get(self, name: str, default: str | None = None) -> str | None:
        if self.known is not None and name not in self.known:
            raise LookupError(f"{name} is read but missing from the entry point's VARIABLES")
        value = self.environ.get(name)
        if value is None or value.strip() == "":
            return default
        return value.strip()

    def require(self, name: str, why: str = "") -> str:
        value = self.get(name)
        if value is None:
            self.problem(f"{name} is not set{': ' + why if why else ''}.")
            return ""
        return value

    def secret(self, name: str) -> SecretValue | None:
        value = self.get(name)
        return SecretValue(value) if value is not None else None

    def integer(self, name: str, default: int, *, minimum: int = 1, maximum: int = 1000) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problem(f"{name} has value {raw!r}. Not a valid integer.")
            return default
        if not minimum <= value <= maximum:
            self.problem(f"{name} has value {value}. Must be between {minimum} and {maximum}.")
            return default
        return value

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):  # float() accepts 'nan' and 'inf'
            self.problem(f"{name} has value {raw!r}. Not a valid number.")
            return default
        if value < minimum:
            self.problem(f"{name} has value {value}. Must be at least {minimum}.")
            return default
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        raw = self.get(name)
        if raw is None:
            return default
        if raw.lower() in TRUE:
            return True
        if raw.lower() in FALSE:
            return False
        self.problem(f"{name} has value {raw!r}. Not a valid boolean (use true or false).")
        return default

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def check(self) -> None:
        """Raise ConfigError listing every problem found so far."""
        if self.problems:
            raise ConfigError(list(self.problems))


CODE_ENGINE_URL_VARIABLES = ("CODE_ENGINE_URL", "CE_API_BASE_URL", "CE_REGION")


def code_engine_url(env: EnvReader) -> str:
    """`CODE_ENGINE_URL`, else `${CE_API_BASE_URL}/v2`, else `CE_REGION`'s regional endpoint."""
    explicit = env.get("CODE_ENGINE_URL")
    if explicit:
        return explicit.rstrip("/")
    base = env.get("CE_API_BASE_URL")
    if base:
        return base.rstrip("/") + "/v2"
    region = env.get("CE_REGION")
    if region:
        return f"https://api.{region}.codeengine.cloud.ibm.com/v2"
    env.problem(
        "CODE_ENGINE_URL is not set, and neither CE_API_BASE_URL nor CE_REGION is set "
        "to derive it from."
    )
    return ""


def config_invalid(
    program: str, problems: list[str], *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Report bad configuration; returns the exit code, 2. The readable list goes to stderr; the
    `config_invalid` log line goes to the logs only where stdout is not a terminal (Code Engine, a
    pipe, a file), so a person at a terminal reads each problem once."""
    out, err = out or sys.stdout, err or sys.stderr
    if not out.isatty():
        structlog.get_logger("certsync").error("config_invalid", problems=problems)
    print(f"{program}: bad configuration:", *problems, sep="\n  - ", file=err)
    return EXIT_CONFIG


@dataclass(frozen=True)
class ServiceAuth:
    prefix: str
    auth_type: str  # "iam" or "container"
    apikey: SecretValue | None = None
    profile_name: str | None = None
    profile_id: str | None = None
    cr_token_filename: str | None = None
    auth_url: str | None = None


def service_auth_variables(prefix: str) -> tuple[str, ...]:
    """The variables `read_service_auth` reads for `prefix`."""
    names = ("AUTH_TYPE", "APIKEY", "IAM_PROFILE_NAME", "IAM_PROFILE_ID", "CR_TOKEN_FILENAME")
    return tuple(f"{prefix}_{name}" for name in (*names, "AUTH_URL"))


def read_service_auth(env: EnvReader, prefix: str) -> ServiceAuth:
    """Read `<prefix>_AUTH_TYPE` and friends, recording problems on `env`."""
    auth_type = (env.get(f"{prefix}_AUTH_TYPE") or "").lower()
    apikey = env.secret(f"{prefix}_APIKEY")
    if not auth_type:
        if apikey is None:
            env.problem(
                f"{prefix}_AUTH_TYPE is not set: use 'container' with {prefix}_IAM_PROFILE_NAME "
                f"(a trusted profile, recommended) or 'iam' with {prefix}_APIKEY."
            )
            return ServiceAuth(prefix, "")
        auth_type = "iam"
    auth = ServiceAuth(
        prefix=prefix,
        auth_type=auth_type,
        apikey=apikey,
        profile_name=env.get(f"{prefix}_IAM_PROFILE_NAME"),
        profile_id=env.get(f"{prefix}_IAM_PROFILE_ID"),
        cr_token_filename=env.get(f"{prefix}_CR_TOKEN_FILENAME"),
        auth_url=env.get(f"{prefix}_AUTH_URL"),
    )
    if auth_type == "iam" and apikey is None:
        env.problem(f"{prefix}_APIKEY is not set, and {prefix}_AUTH_TYPE is 'iam'.")
    elif auth_type == "container" and not (auth.profile_name or auth.profile_id):
        env.problem(
            f"{prefix}_IAM_PROFILE_NAME (or {prefix}_IAM_PROFILE_ID) is not set, "
            f"and {prefix}_AUTH_TYPE is 'container'."
        )
    elif auth_type not in ("iam", "container"):
        env.problem(f"{prefix}_AUTH_TYPE has value {auth_type!r}. Supported: 'container', 'iam'.")
    return auth
