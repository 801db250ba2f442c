"""Code Engine adapter: a project's TLS secrets, its custom domains (domain mappings) and the
status record's config map, translated into our own types; and where targets live (`Sites`:
one client per region, built on first use).

A domain-mapping refresh is a merge-patch of the mapping's own `tls_secret` with `If-Match`: Code
Engine's docs say to edit the TLS secret on renewal, yet their CLI walkthrough also runs
`domainmapping update`, and Knative (knative/serving#14142) has been seen serving a replaced
secret's old certificate until the mapping changed. Nobody has settled which is true today, so
certsync does both; with `If-Match` the refresh can never undo someone else's change.

The status record's config map is read and replaced with `If-Match` (or created): `update`
re-reads on 409/412, so concurrent runs never lose each other's entries.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from ibm_code_engine_sdk.code_engine_v2 import (
    DomainMappingsPager,
    SecretDataTLSSecretData,
    SecretsPager,
)

from job.certs import TlsBundle
from job.mappings import SecretMapping
from job.plan import CurrentTarget
from job.rollout import DomainMapping, Rollout
from job.status import Record, from_data, to_data
from job.sync import Site
from shared.errors import ConflictError, NotFoundError
from shared.retry import RetryPolicy
from shared.sdk import PAGE_SIZE, Pager, call_api, call_pages

MAX_CONFLICTS = 5  # config-map writes in a row that met another run's write


class _Adapter:
    """One project's calls (on a CodeEngineV2), each under the retry policy."""

    def __init__(self, api: Any, project_id: str, *, policy: RetryPolicy) -> None:
        self._api = api
        self._project = project_id
        self._policy = policy

    def _call(self, what: str, request: Callable[[], Any]) -> dict[str, Any]:
        return call_api(request, what=what, policy=self._policy)

    def _pages(self, pager: Pager, what: str) -> list[dict[str, Any]]:
        return call_pages(pager, what=what, policy=self._policy)


class TargetStore(_Adapter):
    """Read, create and replace a project's TLS secrets."""

    def get(self, name: str) -> CurrentTarget | None:
        """The secret as it is now, or None when it does not exist."""
        try:
            body = self._call(
                f"get Code Engine secret {name!r}",
                lambda: self._api.get_secret(project_id=self._project, name=name),
            )
        except NotFoundError:
            return None
        data = body.get("data") or {}
        return CurrentTarget(
            name=name,
            entity_tag=_tag(body),
            format=str(body.get("format") or ""),
            tls_cert=data.get("tls_cert"),
            tls_key=data.get("tls_key"),
        )

    def create(self, name: str, bundle: TlsBundle) -> str:
        """Create the TLS secret; returns its entity tag."""
        body = self._call(
            f"create Code Engine secret {name!r}",
            lambda: self._api.create_secret(
                project_id=self._project, format="tls", name=name, data=_data(bundle)
            ),
        )
        return _tag(body)

    def replace(self, name: str, bundle: TlsBundle, if_match: str) -> str:
        """Replace the TLS secret if it still carries `if_match` (else ConflictError); returns
        its new entity tag."""
        body = self._call(
            f"replace Code Engine secret {name!r}",
            lambda: self._api.replace_secret(
                project_id=self._project,
                name=name,
                if_match=if_match,
                format="tls",
                data=_data(bundle),
            ),
        )
        return _tag(body)

    def list_tags(self) -> dict[str, str]:
        """name -> entity tag of every TLS secret in the project."""
        pager = SecretsPager(
            client=self._api, project_id=self._project, format="tls", limit=PAGE_SIZE
        )
        return {
            str(item["name"]): str(item["entity_tag"])
            for item in self._pages(pager, "list Code Engine secrets")
            if isinstance(item, dict) and item.get("name") and item.get("entity_tag")
        }


def _data(bundle: TlsBundle) -> SecretDataTLSSecretData:
    return SecretDataTLSSecretData(tls_cert=bundle.cert_pem, tls_key=bundle.key_pem)


def _tag(body: dict[str, Any]) -> str:
    return str(body.get("entity_tag") or "")


def _domain_mapping(body: dict[str, Any]) -> DomainMapping:
    details = body.get("status_details") or {}
    return DomainMapping(
        name=str(body.get("name") or ""),
        tls_secret=str(body.get("tls_secret") or ""),
        entity_tag=_tag(body),
        status=str(body.get("status") or ""),
        reason=details.get("reason"),
    )


class DomainMappings(_Adapter):
    """The custom domains serving a project's TLS secrets (listed once per run), and refreshes."""

    def __init__(self, api: Any, project_id: str, *, policy: RetryPolicy) -> None:
        super().__init__(api, project_id, policy=policy)
        self._lock = threading.Lock()
        self._listed: dict[str, tuple[DomainMapping, ...]] | None = None

    def for_secret(self, tls_secret: str) -> tuple[DomainMapping, ...]:
        """The domain mappings that serve `tls_secret` (the project's list is read once)."""
        with self._lock:
            if self._listed is None:
                pager = DomainMappingsPager(
                    client=self._api, project_id=self._project, limit=PAGE_SIZE
                )
                found: dict[str, list[DomainMapping]] = {}
                for body in self._pages(pager, "list domain mappings"):
                    mapping = _domain_mapping(body)
                    found.setdefault(mapping.tls_secret, []).append(mapping)
                self._listed = {secret: tuple(ms) for secret, ms in found.items()}
            return self._listed.get(tls_secret, ())

    def get(self, name: str) -> DomainMapping:
        body = self._call(
            f"get domain mapping {name!r}",
            functools.partial(self._api.get_domain_mapping, self._project, name),
        )
        return _domain_mapping(body)

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
        return _domain_mapping(body)


class StatusStore(_Adapter):
    """The status record's home: one config map of the job's project."""

    def __init__(self, api: Any, project_id: str, name: str, *, policy: RetryPolicy) -> None:
        super().__init__(api, project_id, policy=policy)
        self.name = name

    def read(self) -> tuple[Record, str | None]:
        """The record and the config map's entity tag (None: the map does not exist yet)."""
        try:
            body = self._map_call(
                "get", functools.partial(self._api.get_config_map, self._project, self.name)
            )
        except NotFoundError:
            return {}, None
        return from_data(body.get("data")), _tag(body)

    def update(
        self, change: Callable[[Record], Record], *, first: tuple[Record, str | None] | None = None
    ) -> Record:
        """Apply `change` to the stored record and store the result; conflicts re-read. `first`:
        the record and tag this run already read, tried before reading again (a stale one costs
        a 412 and a re-read, never a lost entry)."""
        for attempt in range(MAX_CONFLICTS):
            record, tag = first if first is not None and attempt == 0 else self.read()
            updated = change(record)
            try:
                self._write(to_data(updated), tag)
            except ConflictError:
                continue
            return updated
        raise ConflictError(
            f"config map {self.name!r} kept changing while being written "
            f"({MAX_CONFLICTS} conflicts in a row)",
            status=412,
        )

    def _write(self, data: dict[str, str], tag: str | None) -> None:
        if tag is None:
            create = self._api.create_config_map
            self._map_call("create", lambda: create(self._project, self.name, data=data))
        else:
            replace = self._api.replace_config_map
            self._map_call("replace", lambda: replace(self._project, self.name, tag, data=data))

    def _map_call(self, verb: str, request: Callable[[], Any]) -> dict[str, Any]:
        return self._call(f"{verb} Code Engine config map {self.name!r}", request)


class Sites:
    """One Code Engine client per region, and per (project, region) the adapters of its secrets
    and its custom domains."""

    def __init__(
        self,
        *,
        project_id: str,
        url_for: Callable[[str], str],
        client: Callable[[str], Any],
        policy: RetryPolicy,
        rollout: Callable[[DomainMappings], Rollout] | None = None,
    ) -> None:
        """`client(url)` builds a CodeEngineV2; `rollout(domain_mappings)` the custom-domain
        checks of one project (None: CERTSYNC_VERIFY=off)."""
        self._project = project_id
        self._url_for = url_for
        self._client = client
        self._policy = policy
        self._rollout = rollout
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._sites: dict[tuple[str, str], tuple[TargetStore, Site]] = {}

    def client(self, region: str = "") -> Any:
        """The Code Engine client of a region ("" the job's own)."""
        with self._lock:
            return self._client_locked(region)

    def site(self, mapping: SecretMapping) -> Site:
        return self._at(mapping.project, mapping.region)[1]

    def targets(self, project: str, region: str) -> TargetStore:
        """The TLS secrets of a project in a region ("" for both: the job's own)."""
        return self._at(project, region)[0]

    def _at(self, project: str, region: str) -> tuple[TargetStore, Site]:
        key = (project, region)
        with self._lock:
            found = self._sites.get(key)
            if found is None:
                api = self._client_locked(region)
                project_id = project or self._project
                rollout = None
                if self._rollout is not None:
                    rollout = self._rollout(DomainMappings(api, project_id, policy=self._policy))
                store = TargetStore(api, project_id, policy=self._policy)
                found = self._sites[key] = (store, Site(store, rollout))
            return found

    def _client_locked(self, region: str) -> Any:
        url = self._url_for(region)
        if url not in self._clients:
            self._clients[url] = self._client(url)
        return self._clients[url]
