"""Code Engine v2: the project's secrets, and how many there may be.

What a secret may hold, by format, is `secret_data`'s. Quota: "You are limited to 100 secrets
per project" (docs `limits.md` "Project quotas"); the refusal is Kubernetes' 403 `exceeded quota`,
as for config maps (the real status and message are not documented). Deleting a secret that a
domain mapping uses is a 409 (`domain_mappings`: a stricter guess). Every write of a TLS secret
reaches the project's router, which serves the custom domains.
"""

from __future__ import annotations

import builtins  # `list` in annotations: the class has a `list` method
from collections.abc import Callable, Mapping
from typing import Any

from localcloud.code_engine import secret_data
from localcloud.code_engine.checks import (
    SECRET_NAME,
    check_if_match,
    check_name,
    conflict,
    invalid,
    not_found,
    reject_unknown,
)
from localcloud.code_engine.model import Secret
from localcloud.code_engine.router import Material, Router
from localcloud.code_engine.scope import Scope
from localcloud.http import BadRequest

MAX_SECRETS = 100  # docs `limits.md` "Project quotas": "limited to 100 secrets per project"
CREATE_FIELDS = {"format", "name", "data", "service_access", "service_operator"}
REPLACE_FIELDS = {"format", "data"}


class Secrets:
    def __init__(
        self, scope: Scope, *, router: Router, check_unused: Callable[[str], None]
    ) -> None:
        """`check_unused(name)`: raises while something still uses the secret (its domain
        mappings)."""
        self._scope = scope
        self._router = router
        self._check_unused = check_unused
        self._secrets: dict[str, Secret] = {}
        self.max_secrets = MAX_SECRETS  # secrets the project holds, of any format

    # -- the API ----------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(body, CREATE_FIELDS)
        name = check_name(body.get("name"), SECRET_NAME, 253)
        fmt = secret_data.check_format(body.get("format"))
        data = secret_data.check_data(fmt, body.get("data"))
        return self.put(name, fmt, data, replace=False)

    def replace(self, name: str, if_match: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT semantics; `If-Match` as `check_if_match` requires."""
        reject_unknown(body, REPLACE_FIELDS)
        with self._scope.lock:
            current = self._secrets.get(name)
            if current is None:
                raise not_found("Secret", name)
            check_if_match("Secret", name, if_match, current.entity_tag)
            fmt = secret_data.check_format(body.get("format"))
            if fmt != current.format:
                raise invalid(f"The format of secret '{name}' cannot be changed")
            return self.put(name, fmt, secret_data.check_data(fmt, body.get("data")))

    def get(self, name: str) -> dict[str, Any]:
        found = self.find(name)
        if found is None:
            raise not_found("Secret", name)
        return found

    def delete(self, name: str) -> None:
        with self._scope.lock:
            self._check_unused(name)
            if self._secrets.pop(name, None) is None:
                raise not_found("Secret", name)
            self._router.secret_written(name, None)

    def list(self, fmt: str | None = None) -> builtins.list[dict[str, Any]]:
        """As a list shows them: without `data`."""
        with self._scope.lock:
            project = self._scope.project()
            return [
                s.to_dict(project, with_data=False)
                for s in self._secrets.values()
                if fmt is None or s.format == fmt
            ]

    # -- the control plane --------------------------------------------------------------------
    def put(
        self, name: str, fmt: str, data: Mapping[str, str], *, replace: bool = True
    ) -> dict[str, Any]:
        """Store a secret, validated as the API does (tests seed with it)."""
        check_name(name, SECRET_NAME, 253)
        data = secret_data.check_data(secret_data.check_format(fmt), dict(data))
        scope = self._scope
        with scope.lock:
            old = self._secrets.get(name)
            if old is not None and not replace:
                raise conflict("Secret", name)
            if old is None and len(self._secrets) >= self.max_secrets:
                raise quota_exceeded(len(self._secrets), self.max_secrets)
            secret = Secret(name, fmt, data, scope.tags.next(), scope.now())
            if old is not None:
                secret.id, secret.created_at = old.id, old.created_at
            self._secrets[name] = secret
            if fmt == secret_data.TLS_FORMAT:
                self._router.secret_written(name, Material(data["tls_cert"], data["tls_key"]))
            return secret.to_dict(scope.project())

    def find(self, name: str) -> dict[str, Any] | None:
        """The secret as GET shows it (with `data`), or None."""
        with self._scope.lock:
            found = self._secrets.get(name)
            return None if found is None else found.to_dict(self._scope.project())

    # -- what the rest of the project asks ----------------------------------------------------
    def stored(self, name: str) -> Secret | None:
        """The stored secret, or None (env references, pull secrets, builds, domain mappings).
        Without the lock, as before the collections were split: the router's threads ask too."""
        return self._secrets.get(name)


def quota_exceeded(held: int, quota: int) -> BadRequest:
    """As for config maps (`config_maps.quota_exceeded`): Kubernetes' 403 `exceeded quota` (the
    real status and message are not documented)."""
    return BadRequest(
        f"secret quota exceeded: the project holds {held} secrets (limit {quota}); "
        "delete one before you create another",
        status=403,
        code="exceeded_quota",
    )
