"""Code Engine v2: the project's config maps, what they may hold, and how many there may be.

Known real behaviour (SDK, IBM's SDK integration tests, terraform-provider-ibm, docs, Kubernetes):
- create 201, get and replace 200, delete 202 (IBM's `test/integration/test_v2.py`); bodies carry
  an `ETag` equal to `entity_tag`; replace is a PUT of the whole `data` that needs `If-Match` (`*`
  for any version), like secrets. `resource_type` is `config_map_v2`, and lists show `data` (the
  SDK's unit-test bodies).
- names: 1..253 characters, a lowercase DNS subdomain, as secrets (`checks.SECRET_NAME`; CLI
  `configmap create --name`, docs `cmd_defs.md`; terraform-provider-ibm's validator).
- keys: at most 253 characters of alphanumerics, '-', '_' or '.'; values: any characters, at most
  1048576 (SDK `create_config_map`). Code Engine keeps them as Kubernetes config maps, whose
  validation also refuses the keys `.` and `..` and keys starting with `..` (`IsConfigMapKey`),
  and values that total more than 1 MiB: "Too long: must have at most 1048576 bytes"
  (`ValidateConfigMap`, `MaxSecretSize`; kubernetes.io "ConfigMaps": "The data stored in a
  ConfigMap cannot exceed 1 MiB"). IBM's docs state no total (`configmap.md`, `limits.md`).
- quota: "You are limited to 100 configmaps per project" (docs `limits.md` "Project quotas");
  Kubernetes' ResourceQuota refuses the next one with 403 "exceeded quota", as lithops-cloud/
  lithops#536 shows for Code Engine's configmaps; checked before a name conflict (409), as for
  job runs (`job_runs`).
- Code Engine creates the `istio-ca-root` and `kube-root-ca` configmaps in every project, and
  re-creates them when they are deleted (docs `configmap.md` #inside-configmaps).

Unknown, so the stricter choice is made:
- the 1 MiB counts keys and values, in UTF-8 bytes (Kubernetes counts only values); over it is a
  400 `request_too_large` that names the size and the limit. Values must be valid Unicode (no lone
  surrogates; Kubernetes would replace them).
- the two system config maps show in lists and count against the quota (a ResourceQuota counts
  every configmap of the namespace), leaving 98 for the user. Their names are Kubernetes' and
  Istio's (`kube-root-ca.crt`, `istio-ca-root-cert`; the docs shorten them), each holds a CA
  certificate; deleting one answers 202 and it is back at once with a new id. Replacing one is
  allowed and kept.
- `data` is left out of a config map's JSON when empty (Kubernetes' `omitempty`); replace without
  `data` empties the config map (PUT).
- unknown body fields are a 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from localcloud.code_engine.checks import (
    SECRET_NAME,
    check_if_match,
    check_name,
    conflict,
    invalid,
    not_found,
    reject_unknown,
)
from localcloud.code_engine.model import ConfigMap
from localcloud.code_engine.scope import Scope
from localcloud.http import BadRequest
from localcloud.pki import Profile, issue

MAX_CONFIG_MAPS = 100
MAX_SIZE = 1024 * 1024  # bytes of keys and values together
MAX_KEY = 253
KEY = re.compile(r"[-._a-zA-Z0-9]+")
CREATE_FIELDS = {"name", "data"}
REPLACE_FIELDS = {"data"}
SYSTEM = {"istio-ca-root-cert": "root-cert.pem", "kube-root-ca.crt": "ca.crt"}  # name: its key


class ConfigMaps:
    """Callers hold no lock; every method takes the project's."""

    def __init__(self, scope: Scope) -> None:
        self._lock = scope.lock
        self._project = scope.project
        self._now = scope.now
        self._tags = scope.tags
        self._maps: dict[str, ConfigMap] = {}
        self.max_config_maps = MAX_CONFIG_MAPS
        self._system = {
            name: {key: issue(f"{name} CA", profile=Profile(ca=True, days=3650)).cert_pem}
            for name, key in SYSTEM.items()
        }
        for name in self._system:
            self._restore(name)

    # -- the API ----------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(body, CREATE_FIELDS)
        name = check_name(body.get("name"), SECRET_NAME, 253)
        data = check_data(name, body.get("data"))
        with self._lock:
            if len(self._maps) >= self.max_config_maps:
                raise quota_exceeded(len(self._maps), self.max_config_maps)
            if name in self._maps:
                raise conflict("Config map", name)
            found = self._maps[name] = ConfigMap(name, data, self._tags.next(), self._now())
            return found.to_dict(self._project())

    def replace(self, name: str, if_match: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT semantics: `data` replaces all of it; `If-Match` as `check_if_match` requires."""
        reject_unknown(body, REPLACE_FIELDS)
        with self._lock:
            found = self._found(name)
            check_if_match("Config map", name, if_match, found.entity_tag)
            found.data = check_data(name, body.get("data"))
            found.entity_tag = self._tags.next()
            return found.to_dict(self._project())

    def get(self, name: str) -> dict[str, Any]:
        with self._lock:
            return self._found(name).to_dict(self._project())

    def delete(self, name: str) -> None:
        with self._lock:
            if self._maps.pop(name, None) is None:
                raise not_found("Config map", name)
            if name in self._system:
                self._restore(name)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            project = self._project()
            return [found.to_dict(project) for found in self._maps.values()]

    # -- what the rest of the project asks ----------------------------------------------------
    def stored(self, name: str) -> ConfigMap | None:
        """The stored config map, or None (job runs resolve env references with it)."""
        with self._lock:
            return self._maps.get(name)

    # -- internals ----------------------------------------------------------------------------
    def _found(self, name: str) -> ConfigMap:
        found = self._maps.get(name)
        if found is None:
            raise not_found("Config map", name)
        return found

    def _restore(self, name: str) -> None:
        data = dict(self._system[name])
        self._maps[name] = ConfigMap(name, data, self._tags.next(), self._now())


def check_data(name: str, data: Any) -> dict[str, str]:
    """400 unless `data` maps valid keys to strings, at most 1 MiB in all (keys and values, UTF-8
    bytes). Messages name keys and sizes, never values."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise invalid("'data' must be an object of string values")
    size = 0
    for key, value in data.items():
        if not isinstance(key, str) or not _valid_key(key):
            raise invalid(
                f"Invalid data key '{str(key)[:64]}': must be at most {MAX_KEY} characters of "
                "alphanumerics, '-', '_' or '.', and not '.', '..' or start with '..'"
            )
        if not isinstance(value, str):
            raise invalid(f"The value of data key '{key}' must be a string")
        try:
            size += len(key) + len(value.encode())
        except UnicodeEncodeError:
            raise invalid(f"The value of data key '{key}' is not valid Unicode text") from None
    if size > MAX_SIZE:
        raise BadRequest(
            f"Config map '{name}' holds {size} bytes of data; the maximum size of a config map is "
            f"1 MiB ({MAX_SIZE} bytes), keys and values together",
            code="request_too_large",
        )
    return dict(data)


def _valid_key(key: str) -> bool:
    """Kubernetes' `IsConfigMapKey`: the pattern, 253 at most, and no `.`/`..` path segments."""
    dots = key == "." or key.startswith("..")
    return len(key) <= MAX_KEY and bool(KEY.fullmatch(key)) and not dots


def quota_exceeded(held: int, quota: int) -> BadRequest:
    """Kubernetes' 403 `exceeded quota` (job runs answer otherwise: `job_runs.quota_exceeded`)."""
    return BadRequest(
        f"config map quota exceeded: the project holds {held} config maps (limit {quota}), "
        "including the 2 that Code Engine creates; delete one before you create another",
        status=403,
        code="exceeded_quota",
    )
