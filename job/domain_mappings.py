"""Code Engine domain mappings adapter: the custom domains serving a TLS secret, and refreshes.

Listing is paged (`list_domain_mappings`, up to 100 a page) and done once per run. A refresh is a
merge-patch of the mapping's own `tls_secret` with `If-Match`: Code Engine's docs say to edit the
TLS secret on renewal, yet their CLI walkthrough also runs `domainmapping update`, and Knative
(knative/serving#14142) has been seen serving a replaced secret's old certificate until the
mapping changed. Nobody has settled which is true today, so certsync does both; with `If-Match`
the refresh can never undo someone else's change.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.retry import RetryPolicy
from shared.sdk import call_api

PAGE_SIZE = 100


class DomainMappingsApi(Protocol):
    """The SDK calls the job makes (ibm_code_engine_sdk CodeEngineV2)."""

    def list_domain_mappings(self, project_id: str, **kwargs: Any) -> Any: ...

    def get_domain_mapping(self, project_id: str, name: str, **kwargs: Any) -> Any: ...

    def update_domain_mapping(
        self,
        project_id: str,
        name: str,
        if_match: str,
        domain_mapping: dict[str, Any],
        **kwargs: Any,
    ) -> Any: ...


@dataclass(frozen=True)
class DomainMapping:
    name: str  # the domain itself, e.g. www.example.com
    tls_secret: str
    entity_tag: str
    status: str  # ready, deploying, failed
    reason: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> DomainMapping:
        details = body.get("status_details") or {}
        return cls(
            name=str(body.get("name") or ""),
            tls_secret=str(body.get("tls_secret") or ""),
            entity_tag=str(body.get("entity_tag") or ""),
            status=str(body.get("status") or ""),
            reason=details.get("reason"),
        )


class DomainMappings:
    def __init__(self, api: DomainMappingsApi, project_id: str, *, policy: RetryPolicy) -> None:
        self._api = api
        self._project = project_id
        self._policy = policy
        self._lock = threading.Lock()
        self._listed: dict[str, tuple[DomainMapping, ...]] | None = None

    def for_secret(self, tls_secret: str) -> tuple[DomainMapping, ...]:
        """The domain mappings that serve `tls_secret` (the project's list is read once)."""
        with self._lock:
            if self._listed is None:
                self._listed = self._list_all()
            return self._listed.get(tls_secret, ())

    def get(self, name: str) -> DomainMapping:
        body = self._call(
            f"get domain mapping {name!r}",
            functools.partial(self._api.get_domain_mapping, self._project, name),
        )
        return DomainMapping.from_body(body)

    def refresh(self, mapping: DomainMapping) -> DomainMapping:
        """Patch the mapping with its own TLS secret, if it is still the version read."""
        body = self._call(
            f"refresh domain mapping {mapping.name!r}",
            functools.partial(
                self._api.update_domain_mapping,
                self._project,
                mapping.name,
                mapping.entity_tag,
                {"tls_secret": mapping.tls_secret},
            ),
        )
        return DomainMapping.from_body(body)

    def _list_all(self) -> dict[str, tuple[DomainMapping, ...]]:
        found: dict[str, list[DomainMapping]] = {}
        start: str | None = None
        while True:
            page = self._call(
                "list domain mappings",
                functools.partial(
                    self._api.list_domain_mappings, self._project, limit=PAGE_SIZE, start=start
                ),
            )
            for body in page.get("domain_mappings") or []:
                mapping = DomainMapping.from_body(body)
                found.setdefault(mapping.tls_secret, []).append(mapping)
            start = (page.get("next") or {}).get("start")
            if not start:
                return {secret: tuple(ms) for secret, ms in found.items()}

    def _call(self, what: str, request: Callable[[], Any]) -> dict[str, Any]:
        return call_api(request, what=what, policy=self._policy)
