"""Secrets Manager v2 state: groups, secrets and versions, guarded by one lock.

Errors are raised as `BadRequest` with IBM's envelope. The real error `code`/`message` strings for
Secrets Manager are not publicly documented; the statuses (400 malformed ID, 404 unknown,
409 duplicate name) are, and the codes used here (`bad_request`, `not_found`, `conflict`) follow
IBM's API handbook.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from localcloud.account import Identity
from localcloud.http import BadRequest
from localcloud.secrets_manager.model import Details, Group, Secret, Version, now
from localcloud.secrets_manager.query import UUID_RE

DEFAULT_GROUP_DESCRIPTION = (
    "The default secret group. Secrets that are not assigned to a group are stored here."
)
SERVICE_ACTOR = "SecretsManager"


def not_found(what: str, ident: str) -> BadRequest:
    return BadRequest(f"Not found: {what} '{ident}' does not exist", status=404, code="not_found")


def check_id(value: str, what: str, aliases: tuple[str, ...] = ()) -> None:
    """IDs are UUIDs (path-parameter pattern in the API definition); malformed ones get 400."""
    if value not in aliases and not UUID_RE.match(value):
        raise BadRequest(f"Invalid {what} '{value}': must be a UUID")


class Store:
    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.lock = threading.RLock()
        created = now()
        self.groups: dict[str, Group] = {
            "default": Group(
                "default", "default", DEFAULT_GROUP_DESCRIPTION, created, SERVICE_ACTOR, created
            )
        }
        self.secrets: dict[str, Secret] = {}

    # -- groups --------------------------------------------------------------------------
    def create_group(self, name: str, description: str | None, created_by: str) -> Group:
        with self.lock:
            if any(g.name == name for g in self.groups.values()):
                raise BadRequest(
                    f"Conflict: a secret group with name '{name}' already exists",
                    status=409,
                    code="conflict",
                )
            created = now()
            group = Group(str(uuid.uuid4()), name, description or "", created, created_by, created)
            self.groups[group.id] = group
            return group

    def group(self, group_id: str) -> Group:
        check_id(group_id, "secret group ID", ("default",))
        with self.lock:
            found = self.groups.get(group_id)
        if found is None:
            raise not_found("secret group", group_id)
        return found

    def group_by_name(self, name: str) -> Group:
        with self.lock:
            found = next((g for g in self.groups.values() if g.name == name), None)
        if found is None:
            raise not_found("secret group", name)
        return found

    def resolve_group(self, name_or_id: str) -> Group:
        with self.lock:
            if name_or_id in self.groups:
                return self.groups[name_or_id]
        return self.group_by_name(name_or_id)

    def group_list(self) -> list[Group]:
        with self.lock:
            return list(self.groups.values())

    # -- secrets -------------------------------------------------------------------------
    def add_secret(
        self,
        secret_type: str,
        name: str,
        version: Version,
        details: Details,
        extra: dict[str, Any] | None = None,
    ) -> Secret:
        """A new secret of `version`, created by its creator, in group `details.group` (an id)."""
        group_id = details.group
        with self.lock:
            self.group(group_id)
            for other in self.secrets.values():
                same = (other.name, other.group_id, other.secret_type)
                if same == (name, group_id, secret_type):
                    raise BadRequest(
                        f"Conflict: a secret of type '{secret_type}' with name '{name}' "
                        "already exists in this secret group",
                        status=409,
                        code="conflict",
                    )
            secret_id = str(uuid.uuid4())
            secret = Secret(
                id=secret_id,
                crn=self.identity.secret_crn(secret_id),
                name=name,
                secret_type=secret_type,
                group_id=group_id,
                created_at=version.created_at,
                created_by=version.created_by,
                versions=[version],
                description=details.description,
                labels=list(details.labels or []),
                custom_metadata=dict(details.custom_metadata or {}),
                extra=dict(extra or {}),
                updated_at=version.created_at,
            )
            self.secrets[secret_id] = secret
            return secret

    def secret(self, secret_id: str) -> Secret:
        check_id(secret_id, "secret ID")
        with self.lock:
            found = self.secrets.get(secret_id)
        if found is None:
            raise not_found("secret", secret_id)
        return found

    def by_name(self, group_name: str, secret_type: str, name: str) -> Secret:
        group = self.group_by_name(group_name)
        with self.lock:
            for secret in self.secrets.values():
                if (secret.group_id, secret.secret_type, secret.name) == (
                    group.id,
                    secret_type,
                    name,
                ):
                    return secret
        raise not_found("secret", name)

    def delete(self, secret_id: str) -> None:
        secret = self.secret(secret_id)
        with self.lock:
            self.secrets.pop(secret.id, None)

    def all(self) -> list[Secret]:
        with self.lock:
            return list(self.secrets.values())

    def version(self, secret: Secret, version_id: str) -> Version:
        check_id(version_id, "version ID", ("current", "previous"))
        with self.lock:
            if version_id == "current":
                return secret.current
            if version_id == "previous" and secret.previous is not None:
                return secret.previous
            found = next((v for v in secret.versions if v.id == version_id), None)
        if found is None:
            raise not_found("secret version", version_id)
        return found

    def mark_downloaded(self, secret: Secret, version: Version) -> None:
        with self.lock:
            version.downloaded = True
            if version is secret.current:
                secret.downloaded = True
                secret.retrieved_at = now()

    def add_version(self, secret: Secret, version: Version) -> None:
        with self.lock:
            if self.secrets.get(secret.id) is not secret:
                raise not_found("secret", secret.id)
            secret.versions.append(version)
            secret.updated_at = version.created_at
