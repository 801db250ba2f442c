"""IAM through `ibm-platform-services`: the trusted profile, its links and policies, and the
service-to-service authorizations (IAM Identity v1 and IAM Policy Management v1)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from ibm_platform_services.iam_policy_management_v1 import PoliciesPager

from deploy.clients import Clients
from deploy.config import Config
from deploy.desired import policy_name
from deploy.model import MARKER, Facts, Found, Kind, Known, Resource
from deploy.roles import Roles, access_body, attributes, authorization_body
from shared.errors import NotFoundError


class Iam:
    kinds: tuple[Kind, ...] = (Kind.PROFILE, Kind.LINK, Kind.POLICY, Kind.AUTHORIZATION)

    def __init__(self, clients: Clients, config: Config, facts: Facts) -> None:
        self.clients = clients
        self.config = config
        self.facts = facts
        self.roles = Roles(clients)

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> list[Found]:
        found: list[Found] = []
        profile = self._profile()
        if profile is not None:
            managed = MARKER in (profile.get("description") or "")
            spec = {"description": profile.get("description") or ""}
            handle = _profile_handle(profile)
            found.append(Found(Kind.PROFILE, self.config.profile_name, spec, managed, handle))
            found += self._links(profile["id"], managed)
            found += self._policies(profile["iam_id"])
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

    def _links(self, profile_id: str, managed: bool) -> list[Found]:
        result = self.clients.call(
            lambda: self.clients.identity.list_links(profile_id=profile_id),
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
            handle = {"id": link["id"], "profile_id": profile_id}
            out.append(Found(Kind.LINK, link.get("name") or "", spec, managed, handle))
        return out

    def _policies(self, iam_id: str) -> list[Found]:
        policies = self.clients.pages(
            PoliciesPager(
                client=self.clients.policies,
                account_id=self.facts.account_id,
                iam_id=iam_id,
                type="access",
            ),
            f"list the access policies of trusted profile '{self.config.profile_name}'",
        )
        out = []
        for policy in policies:
            resource = attributes(policy.get("resources"))
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
            subject = attributes(policy.get("subjects"))
            resource = attributes(policy.get("resources"))
            spec: dict[str, Any] = {
                "source_service": subject.get("serviceName"),
                "source_instance": subject.get("serviceInstance"),
                "target_service": resource.get("serviceName"),
                "target_instance": resource.get("serviceInstance"),
            }
            key = tuple(spec.values())  # source service and instance, target's
            if key not in wanted:
                continue
            spec["roles"] = self.roles.names(policy.get("roles") or [], key[2] or "", source=key[0])
            name = f"{spec['source_service']} -> {spec['target_service']}"
            managed = MARKER in (policy.get("description") or "")
            out.append(Found(Kind.AUTHORIZATION, name, spec, managed, {"id": policy["id"]}))
        return _prefer_managed(out)

    def _profile_of(self, known: Known) -> dict[str, Any]:
        """The trusted profile's handle: read or created before its links and policies."""
        return known[(Kind.PROFILE, self.config.profile_name)].handle

    # -- writing ---------------------------------------------------------------------------
    def create(self, resource: Resource, known: Known) -> Found:
        spec, name = resource.spec, resource.name
        identity, policies = self.clients.identity, self.clients.policies
        profile = self.config.profile_name
        requests: dict[Kind, tuple[Callable[[], Any], str]] = {
            Kind.PROFILE: (
                lambda: identity.create_profile(
                    name=name, account_id=self.facts.account_id, description=spec["description"]
                ),
                f"create trusted profile '{name}'",
            ),
            Kind.LINK: (
                lambda: identity.create_link(
                    profile_id=self._profile_of(known)["id"],
                    cr_type=spec["cr_type"],
                    link={k: spec[k] for k in ("crn", "component_type", "component_name")},
                    name=name,
                ),
                f"create link '{name}' on trusted profile '{profile}'",
            ),
            Kind.POLICY: (
                lambda: policies.create_policy(**self._access_body(resource, known)),
                f"create the {name} access policy of '{profile}'",
            ),
            Kind.AUTHORIZATION: (
                lambda: policies.create_policy(**self._authorization_body(resource)),
                f"create authorization {name}",
            ),
        }
        body = self.clients.call(*requests[resource.kind])
        handle: dict[str, Any] = {"id": body.get("id")}
        if resource.kind is Kind.PROFILE:
            handle = _profile_handle(body)
        elif resource.kind is Kind.LINK:
            handle["profile_id"] = self._profile_of(known)["id"]
        return Found(resource.kind, name, spec, True, handle)

    def update(self, resource: Resource, found: Found, known: Known) -> Found:
        if resource.kind is Kind.LINK:
            self.delete(found)
            return self.create(resource, known)
        if resource.kind is Kind.PROFILE:
            self._update_profile(resource, str(found.handle["id"]))
            return Found(resource.kind, resource.name, resource.spec, True, found.handle)
        body = (
            self._access_body(resource, known)
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
        return Found(resource.kind, resource.name, resource.spec, True, found.handle)

    def _update_profile(self, resource: Resource, profile_id: str) -> None:
        identity = self.clients.identity
        current = self.clients.call(
            lambda: identity.get_profile(profile_id=profile_id),
            f"get trusted profile '{resource.name}'",
        )
        self.clients.call(
            lambda: identity.update_profile(
                profile_id=profile_id,
                if_match=current.get("entity_tag") or "*",
                description=resource.spec["description"],
            ),
            f"update trusted profile '{resource.name}'",
        )

    def delete(self, found: Found) -> None:
        identity, ident = self.clients.identity, found.handle["id"]
        requests: dict[Kind, Callable[[], Any]] = {
            Kind.PROFILE: lambda: identity.delete_profile(profile_id=ident),
            Kind.LINK: lambda: identity.delete_link(
                profile_id=found.handle["profile_id"], link_id=ident
            ),
        }
        request = requests.get(
            found.kind, lambda: self.clients.policies.delete_policy(policy_id=ident)
        )
        with contextlib.suppress(NotFoundError):  # already gone
            self.clients.call(request, f"delete {found.kind.value} '{found.name}'")

    def _policy_etag(self, policy_id: str) -> str:
        response: dict[str, Any] = {}

        def get() -> Any:
            detailed = self.clients.policies.get_policy(policy_id=policy_id)
            response["etag"] = detailed.get_headers().get("ETag", "")
            return detailed

        self.clients.call(get, f"get policy {policy_id}")
        return str(response.get("etag") or "*")

    def _access_body(self, resource: Resource, known: Known) -> dict[str, Any]:
        crns = self.roles.crns(resource.spec["roles"], resource.spec["service_name"])
        iam_id = self._profile_of(known)["iam_id"]
        return access_body(resource, self.facts.account_id, iam_id, crns)

    def _authorization_body(self, resource: Resource) -> dict[str, Any]:
        spec = resource.spec
        crns = self.roles.crns(spec["roles"], spec["target_service"], source=spec["source_service"])
        return authorization_body(resource, self.facts.account_id, crns)


def _profile_handle(profile: dict[str, Any]) -> dict[str, Any]:
    return {k: profile.get(k) for k in ("id", "iam_id", "entity_tag")}


def _prefer_managed(found: list[Found]) -> list[Found]:
    """One per name: certsync's own if there is one, else the first."""
    by_name: dict[str, Found] = {}
    for item in found:
        if item.name not in by_name or (item.managed and not by_name[item.name].managed):
            by_name[item.name] = item
    return list(by_name.values())
