"""Code Engine v2: the project's custom domain mappings, their rollouts, and what they publish.

Known real behaviour (SDK, IBM's SDK integration tests, terraform-provider-ibm, docs):
- create 201, get and update 200, delete 202; bodies carry an `ETag` equal to `entity_tag`;
  update is a JSON merge patch (`application/merge-patch+json`) that needs `If-Match` (`*` for
  any version), like jobs.
- `status` is `deploying`, then `ready` or `failed` (SDK enum; terraform waits from `deploying`
  for `ready`/`failed`); the docs' CLI shows `Status: ready`.
- at most 80 custom domain mappings per project (docs `limits.md` "Project quotas").
- the domain must be unique (docs `app-domainmapping.md`: unique in the region). Here it is unique
  per project only: a second mapping of a name in the project is a 409 like any duplicate, and
  each project has its own router, so two projects of a region may map the same name (laxer than
  the real service; `service.py`).
- deleting an app deletes its custom domain mappings; deleting a mapping deletes neither the app
  nor the TLS secret (docs `domainmappings.md` #delete-custom-domain).
- to use a renewed certificate, the docs update the secret, then the domain mapping
  (`domainmappings.md` #update-custom-domain-cli).

Unknown, so the stricter choice is made:
- every PATCH re-validates the mapping's certificate (as create does; a refused PATCH changes
  nothing) and redeploys, even one that changes no field: `status` goes back to `deploying`.
- the status change at the end of a rollout gives the mapping a new entity tag (Code Engine
  resources are Kubernetes objects, whose status writes bump `resourceVersion`); a client that
  read the mapping while it deployed gets 412 on an update and must read it again.
- deleting a TLS secret that a domain mapping uses is refused, 409 `resource_in_use`.
- replacing such a secret is not checked against its mappings: the router then serves what the
  secret holds, covering the domain or not.
- unknown body fields are a 400 (IBM's SDK integration test patches `{"name": {...}}` and expects
  200, which suggests the real API ignores them; rejecting is stricter).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

from cryptography import x509

from localcloud.code_engine import mapping_checks
from localcloud.code_engine.checks import (
    check_if_match,
    conflict,
    invalid,
    not_found,
    reject_unknown,
)
from localcloud.code_engine.model import DomainMapping, Secret
from localcloud.code_engine.router import FAIL, Material, Route, Router
from localcloud.code_engine.scope import Scope
from localcloud.http import BadRequest

MAX_DOMAIN_MAPPINGS = 80
CREATE_FIELDS = {"component", "name", "tls_secret"}
PATCH_FIELDS = {"component", "tls_secret"}


@dataclasses.dataclass(frozen=True)
class Rollout:
    """A create or update on its way: when it settles, whether it fails, what it publishes."""

    ready_at: float  # time.monotonic()
    fails: bool
    route: Route


class DomainMappings:
    """Callers hold no lock; every method takes the project's (shared with secrets and apps)."""

    def __init__(
        self,
        scope: Scope,
        *,
        secret: Callable[[str], Secret | None],
        app_exists: Callable[[str], bool],
        router: Router,
    ) -> None:
        self._lock = scope.lock
        self._project = scope.project
        self._now = scope.now
        self._tags = scope.tags
        self._secret = secret
        self._app_exists = app_exists
        self._router = router
        self._mappings: dict[str, DomainMapping] = {}
        self._rollouts: dict[str, Rollout] = {}
        self._published: dict[str, Route] = {}
        self.ready_seconds = 0.2  # how long a create or update stays `deploying`
        self.max_domain_mappings = MAX_DOMAIN_MAPPINGS
        self.trust_anchors: list[x509.Certificate] = []

    def trust_root(self, root: str | x509.Certificate) -> None:
        """Trust a root CA (a PEM string or a certificate) for the chains of domain mappings."""
        if isinstance(root, str):
            self.trust_anchors.extend(x509.load_pem_x509_certificates(root.encode()))
        else:
            self.trust_anchors.append(root)

    # -- the API ----------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        reject_unknown(body, CREATE_FIELDS)
        name = mapping_checks.check_domain(body.get("name"))
        component = mapping_checks.check_component(body.get("component"))
        secret = mapping_checks.check_tls_secret_name(body.get("tls_secret"))
        with self._lock:
            if len(self._mappings) >= self.max_domain_mappings:
                raise quota_exceeded(len(self._mappings), self.max_domain_mappings)
            if name in self._mappings:
                raise conflict("Domain mapping", name)
            route = self._checked_route(name, component, secret)
            mapping = DomainMapping(name, component, secret, self._tags.next(), self._now())
            self._mappings[name] = mapping
            self._deploy(mapping, route)
            return mapping.to_dict(self._project())

    def update(self, name: str, if_match: str | None, patch: Mapping[str, Any]) -> dict[str, Any]:
        """JSON merge patch with the If-Match rules of `checks.check_if_match`."""
        reject_unknown(patch, PATCH_FIELDS)
        with self._lock:
            mapping = self._settled(name)
            check_if_match("Domain mapping", name, if_match, mapping.entity_tag)
            current = {"component": mapping.component, "tls_secret": mapping.tls_secret}
            result = mapping_checks.merged(current, patch)
            component = mapping_checks.check_component(result.get("component"))
            secret = mapping_checks.check_tls_secret_name(result.get("tls_secret"))
            route = self._checked_route(name, component, secret)
            mapping.component, mapping.tls_secret = component, secret
            mapping.entity_tag = self._tags.next()
            self._deploy(mapping, route)
            return mapping.to_dict(self._project())

    def get(self, name: str) -> dict[str, Any]:
        with self._lock:
            return self._settled(name).to_dict(self._project())

    def delete(self, name: str) -> None:
        with self._lock:
            if self._mappings.pop(name, None) is None:
                raise not_found("Domain mapping", name)
            self._rollouts.pop(name, None)
            self._published.pop(name, None)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            project = self._project()
            return [self._settled(name).to_dict(project) for name in list(self._mappings)]

    # -- what the rest of the project asks ----------------------------------------------------
    def check_unused(self, secret: str) -> None:
        """409 while a mapping references `secret` (asked before the secret is deleted)."""
        with self._lock:
            users = sorted(m.name for m in self._mappings.values() if m.tls_secret == secret)
        if users:
            raise BadRequest(
                f"Secret '{secret}' is used by domain mapping(s) {', '.join(users)}; update or "
                "delete them first",
                status=409,
                code="resource_in_use",
            )

    def drop_component(self, app: str) -> None:
        """An app was deleted: so are its domain mappings."""
        with self._lock:
            for mapping in list(self._mappings.values()):
                if mapping.component["name"] == app:
                    self.delete(mapping.name)

    def route(self, domain: str) -> Route | None:
        """What the ready mapping of `domain` published, or None (the router's lookup)."""
        with self._lock:
            if domain not in self._mappings:
                return None
            self._settled(domain)
            return self._published.get(domain)

    # -- internals ----------------------------------------------------------------------------
    def _checked_route(self, domain: str, component: dict[str, str], secret: str) -> Route:
        """400 unless the app exists and `secret` is a TLS secret whose certificate is fit for
        `domain`; the route to publish once the rollout is done."""
        if not self._app_exists(component["name"]):
            raise invalid(f"Component app '{component['name']}' does not exist in the project")
        found = self._secret(secret)
        if found is None:
            raise invalid(f"TLS secret '{secret}' does not exist in the project")
        if found.format != "tls":
            raise invalid(f"Secret '{secret}' has format '{found.format}'; a TLS secret is needed")
        cert, key = found.data["tls_cert"], found.data["tls_key"]
        mapping_checks.check_certificate(
            domain, secret, cert, now=self._now(), anchors=self.trust_anchors
        )
        return Route(secret, Material(cert, key))

    def _deploy(self, mapping: DomainMapping, route: Route) -> None:
        mapping.status, mapping.reason = "deploying", "deploying"
        fails = self._router.mode_for(mapping.name) == FAIL
        ready_at = time.monotonic() + self.ready_seconds
        self._rollouts[mapping.name] = Rollout(ready_at, fails, route)

    def _settled(self, name: str) -> DomainMapping:
        """The mapping (404 if none), its rollout finished if its time has come."""
        mapping = self._mappings.get(name)
        if mapping is None:
            raise not_found("Domain mapping", name)
        rollout = self._rollouts.get(name)
        if rollout is None or time.monotonic() < rollout.ready_at:
            return mapping
        del self._rollouts[name]
        if rollout.fails:
            mapping.status, mapping.reason = "failed", self._router.fail_reason
            self._published.pop(name, None)
        else:
            mapping.status, mapping.reason = "ready", "ready"
            self._published[name] = rollout.route
        mapping.entity_tag = self._tags.next()
        return mapping


def quota_exceeded(held: int, quota: int) -> BadRequest:
    """Kubernetes' 403 `exceeded quota` (job runs answer otherwise: `job_runs.quota_exceeded`)."""
    return BadRequest(
        f"domain mapping quota exceeded: the project holds {held} custom domain mappings "
        f"(limit {quota}); delete one before you create another",
        status=403,
        code="exceeded_quota",
    )
