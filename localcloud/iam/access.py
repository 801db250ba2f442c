"""Which role a request needs: (method, path) -> (service, instance, accepted roles). Pure.

The middleware asks this for every request that carries a trusted profile's token; the answer
is checked against the profile's access policies (`policies.Policies.grants`). Rows, first match
wins, from each service's IAM page:
- Secrets Manager (ibm-cloud-docs/secrets-manager `iam.md`, "Service actions"): reading a
  secret's value (`secret.read`: the secret, a version, a secret by name) takes SecretsReader,
  Writer or Manager; metadata, lists, versions' metadata, groups and the notifications
  registration's details take Reader or above; creating, importing, rotating and updating take
  Writer or Manager; deleting a secret, managing groups, configurations, secrets policies and
  the notifications registration take Manager. The instance is the host's (one per account here,
  `Identity.sm_instance_id`).
- Code Engine (`/v2/projects/{project_id}/...`, and the same under `/codeengine/<region>` for a
  region other than the default, `code_engine.service`): reads take Reader, Writer or Manager;
  writes take Writer or Manager (Code Engine's IAM page: Writer "create, update and delete"
  project resources). The instance is the project id, whatever the region, so a policy on one
  project does not reach another. Listing projects (`GET /v2/projects`) needs the role on any
  project (real IAM filters the list instead; the stricter choice here).
- Event Notifications (ibm-cloud-docs/event-notifications `en-iam.md`, "Table 3. Actions mapped
  to different roles"): `POST .../notifications` takes Manager, Writer, Administrator, Event
  Source Manager or Event Notification Publisher (the docs do not list Channel Editor for it);
  sources take Manager/Administrator/Event Source Manager (reads Channel Editor too);
  subscriptions Manager/Writer/Administrator/Channel Editor (delete: not Writer); topics, rules
  and destinations: reads Reader and above, writes Manager/Writer/Administrator, deletes
  Manager/Administrator. The instance is the path's.
Anything else (IAM itself, the control plane, unknown paths) needs no role here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

SM, CE, EN = "secrets-manager", "codeengine", "event-notifications"


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


SM_READ = _roles("Reader", "SecretsReader", "Writer", "Manager")
SM_PAYLOAD = _roles("SecretsReader", "Writer", "Manager")
SM_WRITE = _roles("Writer", "Manager")
SM_MANAGE = _roles("Manager")
CE_READ = _roles("Reader", "Writer", "Manager")
CE_WRITE = _roles("Writer", "Manager")
EN_SEND = _roles(
    "Manager", "Writer", "Administrator", "Event Source Manager", "Event Notification Publisher"
)
EN_READ = _roles("Manager", "Reader", "Writer", "Administrator", "Channel Editor")
EN_WRITE = _roles("Manager", "Writer", "Administrator")
EN_DELETE = _roles("Manager", "Administrator")
EN_SOURCES = _roles("Manager", "Administrator", "Event Source Manager")
EN_SOURCES_READ = EN_SOURCES | {"Channel Editor"}
EN_SUBSCRIBE = _roles("Manager", "Writer", "Administrator", "Channel Editor")
EN_UNSUBSCRIBE = _roles("Manager", "Administrator", "Channel Editor")

READS = frozenset({"GET", "HEAD"})
ANY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
WRITES = ANY - READS


@dataclass(frozen=True)
class Requirement:
    service: str
    instance: str | None  # None: any instance of the service will do
    roles: frozenset[str]  # role display names, any one of which is enough


@dataclass(frozen=True)
class _Row:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    service: str
    roles: frozenset[str]


def _row(methods: frozenset[str] | str, pattern: str, service: str, roles: frozenset[str]) -> _Row:
    chosen = frozenset({methods}) if isinstance(methods, str) else methods
    return _Row(chosen, re.compile(pattern), service, roles)


_SECRET = r"^/api/v2/secrets/[^/]+"
_BY_NAME = r"^/api/v2/secret_groups/[^/]+/secret_types/[^/]+/secrets/[^/]+$"
_REGION = r"^(?:/codeengine/[^/]+)?"  # a region other than the default (code_engine.service)
_PROJECT = _REGION + r"/v2/projects/(?P<instance>[^/]+)"
_EN = r"^/event-notifications/v1/instances/(?P<instance>[^/]+)"

ROWS: Sequence[_Row] = (
    # Secrets Manager
    _row(READS, _SECRET + r"$", SM, SM_PAYLOAD),
    _row(READS, _SECRET + r"/versions/[^/]+$", SM, SM_PAYLOAD),
    _row(READS, _BY_NAME, SM, SM_PAYLOAD),
    _row("DELETE", _SECRET + r"$", SM, SM_MANAGE),
    _row(WRITES, r"^/api/v2/secret_groups", SM, SM_MANAGE),
    _row(ANY, r"^/api/v2/configurations", SM, SM_MANAGE),
    _row(ANY, _SECRET + r"/policies", SM, SM_MANAGE),
    _row(READS, r"^/api/v2/notifications/registration", SM, SM_READ),
    _row("POST", r"^/api/v2/notifications/registration/test$", SM, SM_READ),
    _row(WRITES, r"^/api/v2/notifications/registration", SM, SM_MANAGE),
    _row(READS, r"^/api/v2/", SM, SM_READ),
    _row(WRITES, r"^/api/v2/", SM, SM_WRITE),
    # Code Engine
    _row(READS, _REGION + r"/v2/projects/?$", CE, CE_READ),
    _row(READS, _PROJECT, CE, CE_READ),
    _row(WRITES, _PROJECT, CE, CE_WRITE),
    # Event Notifications
    _row("POST", _EN + r"/notifications$", EN, EN_SEND),
    _row(READS, _EN + r"/sources", EN, EN_SOURCES_READ),
    _row(WRITES, _EN + r"/sources", EN, EN_SOURCES),
    _row(READS, _EN + r"/subscriptions", EN, EN_READ),
    _row(frozenset({"POST", "PUT", "PATCH"}), _EN + r"/subscriptions", EN, EN_SUBSCRIBE),
    _row("DELETE", _EN + r"/subscriptions", EN, EN_UNSUBSCRIBE),
    _row(READS, _EN, EN, EN_READ),
    _row("DELETE", _EN, EN, EN_DELETE),
    _row(WRITES, _EN, EN, EN_WRITE),
)


def requirement(method: str, path: str, sm_instance: str) -> Requirement | None:
    """What `method path` needs, or None when no service role is involved."""
    for row in ROWS:
        if method not in row.methods:
            continue
        match = row.pattern.match(path)
        if match is None:
            continue
        if row.service == SM:
            instance: str | None = sm_instance
        else:
            instance = match.groupdict().get("instance")
        return Requirement(row.service, instance, row.roles)
    return None
