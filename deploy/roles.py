"""IAM roles by the display names IBM documents, resolved to CRNs by IAM itself, and the policy
documents certsync writes with them (`IamPolicyManagementV1.create_policy`): the trusted profile's
access policies and the service authorizations, and the attributes it reads back.

Role CRNs are not all published (Event Notifications' "Event Source Manager" is named in the docs,
`en-iam.md`, never spelled as a CRN), so none is written here: Policy Management's `list_roles`
(`GET /v2/roles`, IamPolicyManagementV1) gives each service's roles with their display names and
CRNs, as IBM's Terraform provider does for `ibm_iam_authorization_policy`'s `roles`
(terraform-provider-ibm `resource_ibm_iam_authorization_policy.go`: `ListRoles` with the target
service, the source service and `policy_type`).
"""

from __future__ import annotations

from typing import Any

from deploy.clients import Clients
from deploy.model import MARKER, Resource
from shared.errors import PermanentError


class Roles:
    """Display name <-> CRN, per target service (and source, for an authorization); each
    service's listing is asked for once, whenever it is first needed."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self._listed: dict[tuple[str, str | None], dict[str, str]] = {}

    def crns(self, names: list[str], service: str, source: str | None = None) -> list[str]:
        """The CRNs of `names` on `service`; a name IAM does not list stops the change."""
        known = self._by_name(service, source)
        missing = [name for name in names if name not in known]
        if missing:
            raise PermanentError(
                f"IAM lists no role {', '.join(repr(m) for m in missing)} for service "
                f"'{service}' (it has {', '.join(sorted(known)) or 'none'}); nothing was granted. "
                f"See `ibmcloud iam roles --service {service}`"
            )
        return [known[name] for name in names]

    def names(
        self, roles: list[dict[str, Any]], service: str, source: str | None = None
    ) -> list[str]:
        """A policy's roles (`PolicyRole`s) as display names, sorted; a CRN IAM does not list
        for `service` stays a CRN, so it shows as a difference."""
        by_crn = {crn: name for name, crn in self._by_name(service, source).items()}
        return sorted(by_crn.get(r.get("role_id", ""), r.get("role_id", "")) for r in roles)

    def _by_name(self, service: str, source: str | None) -> dict[str, str]:
        key = (service, source)
        if key not in self._listed:
            listed = self.clients.call(
                lambda: self.clients.policies.list_roles(
                    service_name=service,
                    source_service_name=source,
                    policy_type="authorization" if source else None,
                ),
                f"list the IAM roles of service '{service}'",
            )
            self._listed[key] = {
                str(role["display_name"]): str(role["crn"])
                for group in ("system_roles", "service_roles", "custom_roles")  # specific wins
                for role in listed.get(group) or []
                if role.get("display_name") and role.get("crn")
            }
        return self._listed[key]


def access_body(
    resource: Resource, account_id: str, iam_id: str, role_crns: list[str]
) -> dict[str, Any]:
    """The trusted profile (`iam_id`) gets `role_crns` on one service instance."""
    spec = resource.spec
    return {
        "type": "access",
        "subjects": [{"attributes": [{"name": "iam_id", "value": iam_id}]}],
        "roles": [{"role_id": crn} for crn in role_crns],
        "resources": [_side(account_id, spec["service_name"], spec["service_instance"])],
        "description": f"certsync: {resource.detail} ({MARKER})",
    }


def authorization_body(resource: Resource, account_id: str, role_crns: list[str]) -> dict[str, Any]:
    """One service instance gets `role_crns` on another."""
    spec = resource.spec
    return {
        "type": "authorization",
        "subjects": [_side(account_id, spec["source_service"], spec["source_instance"])],
        "roles": [{"role_id": crn} for crn in role_crns],
        "resources": [_side(account_id, spec["target_service"], spec["target_instance"])],
        "description": f"certsync: {resource.name} ({MARKER})",
    }


def _side(account_id: str, service: str, instance: str) -> dict[str, Any]:
    return {
        "attributes": [
            {"name": "accountId", "value": account_id},
            {"name": "serviceName", "value": service},
            {"name": "serviceInstance", "value": instance},
        ]
    }


def attributes(items: Any) -> dict[str, str]:
    """The `name: value` attributes of a policy's first subject or resource."""
    if not items:
        return {}
    return {a.get("name", ""): a.get("value", "") for a in items[0].get("attributes") or []}
