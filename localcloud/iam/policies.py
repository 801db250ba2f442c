"""IAM Policy Management v1 policies: checked on the way in, stored, and evaluated.

Checked as documented (`IamPolicyManagementV1.create_policy`/`replace_policy` docstrings):
- `type` is `access` or `authorization`;
- access: the subject is an `iam_id` (or `access_group_id`); the resource includes `accountId`
  and one of `serviceType`, `serviceName`, `resourceGroupId`, `service_group_id`;
- authorization: subject and resource both include `accountId`; the subject includes
  `serviceName` (or `resourceGroupId`);
- attribute values are 1 to 1,000 characters; operators are `stringEquals` or `stringMatch`;
- roles are CRNs the target service defines (`roles.py`), else 400;
- a replace needs `If-Match` with the policy's ETag (the `ETag` header of `GET /v1/policies/{id}`);
  the policy type cannot change.

Unknown for real, so the stricter choice is made here: a stale `If-Match` answers 412
(`precondition_failed`); a second policy with the same type, subjects and resources answers 409
`policy_conflict_error` with `details.conflicts_with` naming it (the `ConflictsWith` model); one
subject and one resource per policy; `stringMatch` wildcards are stored but match literally.

Propagation: a service authorization takes effect `propagation_seconds` after it is created or
replaced (LocalCloud's `authorization_delay`, 0 unless a test sets it). IAM's docs give no figure;
IBM's Terraform modules wait 30 s after creating one before using it (terraform-ibm-modules,
`time_sleep.wait_for_en_authorization_policy`, "workaround for
https://github.com/IBM-Cloud/terraform-provider-ibm/issues/4478").

Evaluation (`grants`, `authorizes`): a resource attribute that is absent matches everything
(a policy without `serviceInstance` covers every instance of the service in the account); any
attribute the emulator does not evaluate (`resourceType`, `resource`, tags...) makes the policy
narrower than an instance, so it grants no instance-wide call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from localcloud.iam import roles
from localcloud.iam.errors import PolicyError

TYPES = ("access", "authorization")
OPERATORS = ("stringEquals", "stringMatch")
SERVICE_KEYS = ("serviceType", "serviceName", "resourceGroupId", "service_group_id")
EVALUATED = {"accountId", "serviceName", "serviceInstance", "serviceType"}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def invalid(message: str) -> PolicyError:
    return PolicyError(400, "invalid_body", message)


def _attributes(block: Any, where: str) -> dict[str, str]:
    """A subject's or resource's attributes as name -> value, each checked."""
    items = block.get("attributes") if isinstance(block, dict) else None
    if not isinstance(items, list) or not items:
        raise invalid(f"{where}.attributes must be a non-empty list")
    found: dict[str, str] = {}
    for attribute in items:
        name = attribute.get("name") if isinstance(attribute, dict) else None
        value = attribute.get("value") if isinstance(attribute, dict) else None
        if not isinstance(name, str) or not isinstance(value, str) or not 1 <= len(value) <= 1000:
            raise invalid(f"{where}: every attribute needs a name and a value of 1-1000 characters")
        if attribute.get("operator", "stringEquals") not in OPERATORS:
            raise invalid(f"{where}: operator must be one of {', '.join(OPERATORS)}")
        found[name] = value
    return found


@dataclass(frozen=True)
class Policy:
    id: str
    type: str
    subjects: list[dict[str, Any]]
    roles: tuple[roles.Role, ...]
    resources: list[dict[str, Any]]
    description: str | None
    created_at: str
    created_by_id: str
    last_modified_at: str
    last_modified_by_id: str
    version: int = 1

    @property
    def subject(self) -> dict[str, str]:
        return {a["name"]: a["value"] for a in self.subjects[0]["attributes"]}

    @property
    def resource(self) -> dict[str, str]:
        return {a["name"]: a["value"] for a in self.resources[0]["attributes"]}

    @property
    def etag(self) -> str:
        digest = hashlib.sha256(f"{self.id}|{self.version}".encode()).hexdigest()[:40]
        return f'W/"{self.version}-{digest}"'

    def to_json(self, base_url: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "subjects": self.subjects,
            "roles": [
                {"role_id": r.crn, "display_name": r.display_name, "description": r.description}
                for r in self.roles
            ],
            "resources": self.resources,
            "href": f"{base_url}/v1/policies/{self.id}",
            "created_at": self.created_at,
            "created_by_id": self.created_by_id,
            "last_modified_at": self.last_modified_at,
            "last_modified_by_id": self.last_modified_by_id,
            "state": "active",
        }
        if self.description is not None:
            body["description"] = self.description
        return body

    def same_target(self, other: Policy) -> bool:
        return (self.type, self.subject, self.resource) == (
            other.type,
            other.subject,
            other.resource,
        )


def checked(body: dict[str, Any], account_id: str) -> dict[str, Any]:
    """The parts of a create/replace body, checked; raises PolicyError (400) at the first fault."""
    kind = body.get("type")
    if kind not in TYPES:
        raise invalid(f"type must be one of {', '.join(TYPES)}")
    subjects, resources, role_list = body.get("subjects"), body.get("resources"), body.get("roles")
    if not isinstance(subjects, list) or len(subjects) != 1:
        raise invalid("subjects must be a list with exactly one subject")
    if not isinstance(resources, list) or len(resources) != 1:
        raise invalid("resources must be a list with exactly one resource")
    if not isinstance(role_list, list) or not role_list:
        raise invalid("roles must be a non-empty list")
    subject, resource = (
        _attributes(subjects[0], "subjects[0]"),
        _attributes(resources[0], "resources[0]"),
    )
    _check_attributes(kind, subject, resource, account_id)
    granted = _roles_for(resource.get("serviceName", ""), role_list)
    description = body.get("description")
    return {
        "type": kind,
        "subjects": subjects,
        "roles": granted,
        "resources": resources,
        "description": description if isinstance(description, str) else None,
    }


def _check_attributes(
    kind: str, subject: dict[str, str], resource: dict[str, str], account_id: str
) -> None:
    if "accountId" not in resource:
        raise invalid("resources[0] must include the accountId attribute")
    if kind == "access":
        if not ({"iam_id", "access_group_id"} & subject.keys()):
            raise invalid("an access policy's subject must include iam_id or access_group_id")
        if not any(key in resource for key in SERVICE_KEYS):
            raise invalid(f"resources[0] must include one of {', '.join(SERVICE_KEYS)}")
    else:
        if "accountId" not in subject:
            raise invalid("an authorization policy's subject must include accountId")
        if not ({"serviceName", "resourceGroupId"} & subject.keys()):
            raise invalid("an authorization policy's subject must include serviceName")
    if resource["accountId"] != account_id:
        # Unknown for real (the caller has no access to another account's policies): 403.
        raise PolicyError(403, "forbidden", f"Not authorized for account '{resource['accountId']}'")


def _roles_for(service: str, entries: list[Any]) -> tuple[roles.Role, ...]:
    granted = []
    for entry in entries:
        crn = entry.get("role_id") if isinstance(entry, dict) else None
        role = roles.role_for(service, crn) if isinstance(crn, str) else None
        if role is None:
            raise invalid(f"Role '{str(crn)[:120]}' does not exist for service '{service or '*'}'")
        granted.append(role)
    return tuple(granted)


def _covers(resource: dict[str, str], account_id: str, service: str, instance: str | None) -> bool:
    if set(resource) - EVALUATED or resource.get("accountId") != account_id:
        return False
    if "serviceName" in resource:
        if resource["serviceName"] != service:
            return False
    elif resource.get("serviceType") != "service":  # "all IAM-enabled services"
        return False
    wanted = resource.get("serviceInstance")
    return wanted is None or instance is None or wanted == instance


@dataclass
class Policies:
    account_id: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    _policies: dict[str, Policy] = field(default_factory=dict)
    propagation_seconds: float = 0.0
    _effective: dict[str, float] = field(default_factory=dict)  # id -> monotonic time

    def create(self, body: dict[str, Any], caller: str) -> Policy:
        parts = checked(body, self.account_id)
        now = _now()
        policy = Policy(
            id=str(uuid.uuid4()),
            created_at=now,
            created_by_id=caller,
            last_modified_at=now,
            last_modified_by_id=caller,
            **parts,
        )
        with self.lock:
            self._check_unique(policy)
            self._policies[policy.id] = policy
            self._effective[policy.id] = time.monotonic() + self.propagation_seconds
        return policy

    def get(self, policy_id: str) -> Policy:
        policy = self._policies.get(policy_id)
        if policy is None:
            raise PolicyError(404, "policy_not_found", f"Policy '{policy_id[:80]}' was not found.")
        return policy

    def replace(self, policy_id: str, if_match: str, body: dict[str, Any], caller: str) -> Policy:
        parts = checked(body, self.account_id)
        with self.lock:
            current = self.get(policy_id)
            if if_match != current.etag:
                raise PolicyError(
                    412,
                    "precondition_failed",
                    f"Policy '{policy_id}' was modified: If-Match does not match its ETag.",
                )
            if parts["type"] != current.type:
                raise invalid("The policy type cannot be changed.")
            updated = dataclasses.replace(
                current,
                last_modified_at=_now(),
                last_modified_by_id=caller,
                version=current.version + 1,
                **parts,
            )
            self._check_unique(updated)
            self._policies[policy_id] = updated
            self._effective[policy_id] = time.monotonic() + self.propagation_seconds
            return updated

    def delete(self, policy_id: str) -> None:
        with self.lock:
            self.get(policy_id)
            del self._policies[policy_id]
            self._effective.pop(policy_id, None)

    def listing(self, filters: dict[str, str]) -> list[Policy]:
        if filters.get("account_id") != self.account_id:
            return []  # "Only policies ... that the caller has read access to are returned."
        chosen = []
        for policy in list(self._policies.values()):  # in order of creation
            if "iam_id" in filters and policy.subject.get("iam_id") != filters["iam_id"]:
                continue
            if "type" in filters and policy.type != filters["type"]:
                continue
            if "service_type" in filters and not _of_service_type(policy, filters["service_type"]):
                continue
            chosen.append(policy)
        return chosen

    # -- evaluation -------------------------------------------------------------------------
    def grants(
        self, iam_id: str, service: str, instance: str | None, accepted: frozenset[str]
    ) -> bool:
        """Whether an access policy for `iam_id` grants one of the `accepted` role names on
        `service` (`instance`, or, when None, any instance of it)."""
        with self.lock:
            policies = list(self._policies.values())
        return any(
            p.type == "access"
            and p.subject.get("iam_id") == iam_id
            and _covers(p.resource, self.account_id, service, instance)
            and any(r.display_name in accepted for r in p.roles)
            for p in policies
        )

    def authorizes(self, source: tuple[str, str], target: tuple[str, str], role_name: str) -> bool:
        now = time.monotonic()
        with self.lock:
            policies = [p for p in self._policies.values() if self._effective.get(p.id, 0) <= now]
        for p in policies:
            if p.type != "authorization" or role_name not in {r.display_name for r in p.roles}:
                continue
            subject = p.subject
            if (
                subject.get("serviceName") != source[0]
                or subject.get("accountId") != self.account_id
            ):
                continue
            if subject.get("serviceInstance", source[1]) != source[1]:
                continue
            if _covers(p.resource, self.account_id, target[0], target[1]):
                return True
        return False

    def _check_unique(self, policy: Policy) -> None:
        for other in self._policies.values():
            if other.id != policy.id and other.same_target(policy):
                conflict = {"etag": other.etag, "policy": other.id}
                raise PolicyError(
                    409,
                    "policy_conflict_error",
                    "Failed to create policy: a policy with the same subject and resource "
                    f"already exists ({other.id}).",
                    details={"conflicts_with": conflict},
                )


def _of_service_type(policy: Policy, service_type: str) -> bool:
    platform = policy.resource.get("serviceType") == "platform_service"
    return platform if service_type == "platform_service" else not platform
