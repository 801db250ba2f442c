"""IAM Policy Management's policy documents (`IamPolicyManagementV1.create_policy`): the bodies
certsync writes for the trusted profile's access policies and the service authorizations, and the
attributes it reads back. Pure."""

from __future__ import annotations

from typing import Any

from deploy.model import MARKER, Resource


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
