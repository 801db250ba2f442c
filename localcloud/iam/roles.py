"""The IAM roles the emulator knows, by CRN and display name, and which of them each service takes.

A policy names its roles by CRN (`PolicyRole.role_id`); IAM refuses a role the service does not
define with a 400. The CRNs come from:
- the IAM-wide platform roles `crn:v1:bluemix:public:iam::::role:Viewer|Operator|Editor|
  Administrator` and service roles `crn:v1:bluemix:public:iam::::serviceRole:Reader|Writer|Manager`
  (`IamPolicyManagementV1.PolicyRole` docstring example `...iam::::role:Editor`; IAM docs
  `account/iam-service-roles-actions`);
- Secrets Manager's own service role `crn:v1:bluemix:public:secrets-manager::::serviceRole:
  SecretsReader` (ibm-cloud-docs/secrets-manager `iam.md`, "Table 2. Role ID values for API use",
  and its create-policy examples in every SDK language);
- Event Notifications' own service roles, whose display names are "Event Source Manager",
  "Channel Editor" and "Event Notification Publisher" (ibm-cloud-docs/event-notifications
  `en-iam.md` Table 2; terraform-ibm-modules/terraform-ibm-event-notifications validates
  exactly these names).
  The CRN of the publisher role is published, `crn:v1:bluemix:public:event-notifications::::
  serviceRole:Event-Notification-Publisher` (terraform-ibm-modules/terraform-ibm-secrets-manager
  examples). The other two CRNs are published nowhere we found: the docs name the roles only,
  and IBM's Terraform modules give the display name, which the provider resolves with
  `list_roles` (IBM-Cloud/terraform-provider-ibm, `resource_ibm_iam_authorization_policy.go`).
  Stricter choice: they get CRNs that are not the hyphenated spelling of the docs' action table
  (`Event-Source-Manager`), so a client that writes them by hand instead of asking
  `GET /v2/roles` fails here.

`GET /v2/roles` (`IamPolicyManagementV1.list_roles`, a `RoleCollection`): `service_roles` are the
roles `service_name` defines, `system_roles` the IAM-wide ones every service takes, `custom_roles`
none (the emulator has no custom roles). `source_service_name` and `policy_type` are accepted and
do not narrow the list (unknown for real). A role's `actions` are not modelled (an empty list).

Unknown for real, so the stricter choice is made here:
- The Secrets Manager docs' Table 2 also lists `secrets-manager::::serviceRole:Reader|Writer|
  Manager|Viewer|...`; the IAM-wide CRNs above are what IAM's role API returns for those roles,
  so only they are accepted (a service-prefixed spelling of a system role is a 400 here).
- A role must be defined by the policy's target service (or be a platform/system role): the
  Secrets Manager role on a Code Engine resource is a 400.
"""

from __future__ import annotations

from dataclasses import dataclass

_IAM = "crn:v1:bluemix:public:iam::::"
_EN = "crn:v1:bluemix:public:event-notifications::::serviceRole:"


@dataclass(frozen=True)
class Role:
    crn: str
    display_name: str
    description: str
    # The services that define it; empty for the IAM-wide roles every service takes.
    services: frozenset[str] = frozenset()


def _role(crn: str, name: str, description: str, *services: str) -> Role:
    return Role(crn, name, description, frozenset(services))


ROLES: tuple[Role, ...] = (
    _role(f"{_IAM}role:Viewer", "Viewer", "View instances and their metadata."),
    _role(f"{_IAM}role:Operator", "Operator", "Platform actions to configure and operate."),
    _role(f"{_IAM}role:Editor", "Editor", "Create, modify and delete instances."),
    _role(f"{_IAM}role:Administrator", "Administrator", "All platform actions, access too."),
    _role(f"{_IAM}serviceRole:Reader", "Reader", "Read-only actions within the service."),
    _role(f"{_IAM}serviceRole:Writer", "Writer", "Beyond Reader: create and edit resources."),
    _role(f"{_IAM}serviceRole:Manager", "Manager", "Beyond Writer: privileged actions."),
    _role(
        "crn:v1:bluemix:public:secrets-manager::::serviceRole:SecretsReader",
        "SecretsReader",
        "Read-only actions, and access to the secret data.",
        "secrets-manager",
    ),
    _role(
        f"{_EN}EventSourceManager",
        "Event Source Manager",
        "Service-to-service source registration; manage sources; send notifications.",
        "event-notifications",
    ),
    _role(
        f"{_EN}ChannelEditor",
        "Channel Editor",
        "View, create, update and delete subscriptions.",
        "event-notifications",
    ),
    _role(
        f"{_EN}Event-Notification-Publisher",
        "Event Notification Publisher",
        "Send notifications and view notification counts.",
        "event-notifications",
    ),
)
BY_CRN = {role.crn: role for role in ROLES}
BY_NAME = {role.display_name: role for role in ROLES}


def role_for(service: str, crn: str) -> Role | None:
    """The role `crn` names, when `service` takes it (None for an unknown role or service)."""
    role = BY_CRN.get(crn)
    if role is None or (role.services and service not in role.services):
        return None
    return role


def display_name(name_or_crn: str) -> str | None:
    """A role's display name, given it or its CRN (None when unknown)."""
    if name_or_crn in BY_NAME:
        return name_or_crn
    role = BY_CRN.get(name_or_crn)
    return role.display_name if role else None


def collection(service_name: str | None) -> dict[str, list[dict[str, object]]]:
    """The `RoleCollection` `GET /v2/roles?service_name=...` answers."""

    def body(role: Role) -> dict[str, object]:
        return {
            "display_name": role.display_name,
            "description": role.description,
            "actions": [],
            "crn": role.crn,
        }

    return {
        "custom_roles": [],
        "service_roles": [
            body(r)
            for r in ROLES
            if r.services and (service_name is None or service_name in r.services)
        ],
        "system_roles": [body(r) for r in ROLES if not r.services],
    }
