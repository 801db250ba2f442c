"""IAM through `ibm-platform-services`: the trusted profile, its links and policies, and the
service-to-service authorizations (IAM Identity v1 and IAM Policy Management v1)."""

from __future__ import annotations

import contextlib
from typing import Any

from ibm_platform_services.iam_policy_management_v1 import PoliciesPager

from deploy.clients import Clients
from deploy.config import Config
from deploy.desired import policy_name
from deploy.model import MARKER, Facts, Found, Kind, Resource
from deploy.roles import Roles
from shared.errors import NotFoundError


class Iam:
    kinds: tuple[Kind, ...] = (Kind.PROFILE, Kind.LINK, Kind.POLICY, Kind.AUTHORIZATION)

    def __init__(self, clients: Clients, config: Config, facts: Facts) -> None:
        self.clients = clients
        self.config = config
        self.facts = facts
        self.roles = Roles(clients)
        self.profile: dict[str, Any] | None = None

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> list[Found]:
        found: list[Found] = []
        self.profile = self._profile()
        if self.profile is not None:
            managed = MARKER in (self.profile.get("description") or "")
            found.append(
                Found(
                    Kind.PROFILE,
                    self.config.profile_name,
                    {"description": self.profile.get("description") or ""},
                    managed,
                    {"id": self.profile["id"], "entity_tag": self.profile.get("entity_tag")},
                )
            )
            found += self._links(managed)
            found += self._policies()
        found += self._authorizations()
        return found

    def _profile(self) -> dict[str, Any] | None:
        result = self.clients.call(
            lambda: self.clients.identity.list_profiles(
                account_id=self.facts.account_id, name=self.config.profile_name
            ),
            f"list trusted profiles named '{self.config.profile_name}'",
        )
        for profile in result.get("profiles") or []:
            if profile.get("name") == self.config.profile_name:
                return dict(profile)
        return None

    def _links(self, managed: bool) -> list[Found]:
        assert self.profile is not None
        result = self.clients.call(
            lambda: self.clients.identity.list_links(profile_id=self.profile_id),
            f"list the links of trusted profile '{self.config.profile_name}'",
        )
        out = []
        for link in result.get("links") or []:
            target = link.get("link") or {}
            spec = {
                "cr_type": link.get("cr_type"),
                "crn": target.get("crn"),
                "component_type": target.get("component_type"),
                "component_name": target.get("component_name"),
            }
            out.append(Found(Kind.LINK, link.get("name") or "", spec, managed, {"id": link["id"]}))
        return out

    def _policies(self) -> list[Found]:
        policies = self.clients.pages(
            PoliciesPager(
                client=self.clients.policies,
                account_id=self.facts.account_id,
                iam_id=self.iam_id,
                type="access",
            ),
            f"list the access policies of trusted profile '{self.config.profile_name}'",
        )
        out = []
        for policy in policies:
            resource = _attributes(policy.get("resources"))
            service = resource.get("serviceName", "")
            name = policy_name(service, resource.get("serviceInstance", ""), self.facts.project_id)
            spec = {
                "service_name": service,
                "service_instance": resource.get("serviceInstance"),
                "roles": self.roles.names(policy.get("roles") or [], service),
            }
            managed = MARKER in (policy.get("description") or "")
            out.append(Found(Kind.POLICY, name, spec, managed, {"id": policy["id"]}))
        return _prefer_managed(out)

    def _authorizations(self) -> list[Found]:
        # Every authorization of the account, not only certsync's: a busy account has pages.
        policies = self.clients.pages(
            PoliciesPager(
                client=self.clients.policies,
                account_id=self.facts.account_id,
                type="authorization",
            ),
            "list service authorizations",
        )
        wanted = {
            (
                "secrets-manager",
                self.config.sm_instance,
                "event-notifications",
                self.config.en_instance,
            ),
            ("event-notifications", self.config.en_instance, "codeengine", self.facts.project_id),
        }
        out = []
        for policy in policies:
            subject = _attributes(policy.get("subjects"))
            resource = _attributes(policy.get("resources"))
            spec: dict[str, Any] = {
                "source_service": subject.get("serviceName"),
                "source_instance": subject.get("serviceInstance"),
                "target_service": resource.get("serviceName"),
                "target_instance": resource.get("serviceInstance"),
            }
            key = tuple(
                spec[k]
                for k in ("source_service", "source_instance", "target_service", "target_instance")
            )
            if key not in wanted:
                continue
            spec["roles"] = self.roles.names(policy.get("roles") or [], key[2] or "", source=key[0])
            name = f"{spec['source_service']} -> {spec['target_service']}"
            managed = MARKER in (policy.get("description") or "")
            out.append(Found(Kind.AUTHORIZATION, name, spec, managed, {"id": policy["id"]}))
        return _prefer_managed(out)

    @property
    def profile_id(self) -> str:
        assert self.profile is not None, "the trusted profile is read or created first"
        return str(self.profile["id"])

    @property
    def iam_id(self) -> str:
        assert self.profile is not None, "the trusted profile is read or created first"
        return str(self.profile["iam_id"])

    # -- writing ---------------------------------------------------------------------------
    def create(self, resource: Resource) -> None:
        spec = resource.spec
        if resource.kind is Kind.PROFILE:
            self.profile = self.clients.call(
                lambda: self.clients.identity.create_profile(
                    name=resource.name,
                    account_id=self.facts.account_id,
                    description=spec["description"],
                ),
                f"create trusted profile '{resource.name}'",
            )
        elif resource.kind is Kind.LINK:
            link = {k: spec[k] for k in ("crn", "component_type", "component_name")}
            self.clients.call(
                lambda: self.clients.identity.create_link(
                    profile_id=self.profile_id,
                    cr_type=spec["cr_type"],
                    link=link,
                    name=resource.name,
                ),
                f"create link '{resource.name}' on trusted profile '{self.config.profile_name}'",
            )
        elif resource.kind is Kind.POLICY:
            self.clients.call(
                lambda: self.clients.policies.create_policy(**self._access_body(resource)),
                f"create the {resource.name} access policy of '{self.config.profile_name}'",
            )
        elif resource.kind is Kind.AUTHORIZATION:
            self.clients.call(
                lambda: self.clients.policies.create_policy(**self._authorization_body(resource)),
                f"create authorization {resource.name}",
            )

    def update(self, resource: Resource, found: Found) -> None:
        if resource.kind is Kind.PROFILE:
            current = self.clients.call(
                lambda: self.clients.identity.get_profile(profile_id=found.handle["id"]),
                f"get trusted profile '{resource.name}'",
            )
            self.clients.call(
                lambda: self.clients.identity.update_profile(
                    profile_id=found.handle["id"],
                    if_match=current.get("entity_tag") or "*",
                    description=resource.spec["description"],
                ),
                f"update trusted profile '{resource.name}'",
            )
            return
        if resource.kind is Kind.LINK:
            self.delete(found)
            self.create(resource)
            return
        body = (
            self._access_body(resource)
            if resource.kind is Kind.POLICY
            else self._authorization_body(resource)
        )
        policy_id = found.handle["id"]
        etag = self._policy_etag(policy_id)
        self.clients.call(
            lambda: self.clients.policies.replace_policy(
                policy_id=policy_id, if_match=etag, **body
            ),
            f"update {resource.kind.value} '{resource.name}'",
        )

    def delete(self, found: Found) -> None:
        what = f"delete {found.kind.value} '{found.name}'"
        with contextlib.suppress(NotFoundError):  # already gone
            if found.kind is Kind.PROFILE:
                self.clients.call(
                    lambda: self.clients.identity.delete_profile(profile_id=found.handle["id"]),
                    what,
                )
            elif found.kind is Kind.LINK:
                self.clients.call(
                    lambda: self.clients.identity.delete_link(
                        profile_id=self.profile_id, link_id=found.handle["id"]
                    ),
                    what,
                )
            else:
                self.clients.call(
                    lambda: self.clients.policies.delete_policy(policy_id=found.handle["id"]), what
                )

    def _policy_etag(self, policy_id: str) -> str:
        response: dict[str, Any] = {}

        def get() -> Any:
            detailed = self.clients.policies.get_policy(policy_id=policy_id)
            response["etag"] = detailed.get_headers().get("ETag", "")
            return detailed

        self.clients.call(get, f"get policy {policy_id}")
        return str(response.get("etag") or "*")

    def _access_body(self, resource: Resource) -> dict[str, Any]:
        spec = resource.spec
        return {
            "type": "access",
            "subjects": [{"attributes": [{"name": "iam_id", "value": self.iam_id}]}],
            "roles": [
                {"role_id": crn} for crn in self.roles.crns(spec["roles"], spec["service_name"])
            ],
            "resources": [
                {
                    "attributes": [
                        {"name": "accountId", "value": self.facts.account_id},
                        {"name": "serviceName", "value": spec["service_name"]},
                        {"name": "serviceInstance", "value": spec["service_instance"]},
                    ]
                }
            ],
            "description": f"certsync: {resource.detail} ({MARKER})",
        }

    def _authorization_body(self, resource: Resource) -> dict[str, Any]:
        spec = resource.spec
        account = self.facts.account_id

        def side(service: str, instance: str) -> dict[str, Any]:
            return {
                "attributes": [
                    {"name": "accountId", "value": account},
                    {"name": "serviceName", "value": service},
                    {"name": "serviceInstance", "value": instance},
                ]
            }

        return {
            "type": "authorization",
            "subjects": [side(spec["source_service"], spec["source_instance"])],
            "roles": [
                {"role_id": crn}
                for crn in self.roles.crns(
                    spec["roles"], spec["target_service"], source=spec["source_service"]
                )
            ],
            "resources": [side(spec["target_service"], spec["target_instance"])],
            "description": f"certsync: {resource.name} ({MARKER})",
        }


def _attributes(items: Any) -> dict[str, str]:
    """The `name: value` attributes of a policy's first subject or resource."""
    if not items:
        return {}
    return {a.get("name", ""): a.get("value", "") for a in items[0].get("attributes") or []}


def _prefer_managed(found: list[Found]) -> list[Found]:
    """One per name: certsync's own if there is one, else the first."""
    by_name: dict[str, Found] = {}
    for item in found:
        if item.name not in by_name or (item.managed and not by_name[item.name].managed):
            by_name[item.name] = item
    return list(by_name.values())
