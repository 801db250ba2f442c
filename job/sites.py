"""Where targets live: one Code Engine client per region, and per (project, region) the adapters
that read and write its secrets and its custom domains.

A mapping names its project and region, or neither ("": the job's own, CE_PROJECT_ID and
CODE_ENGINE_URL). A region's API base is `CERTSYNC_CODE_ENGINE_URLS[region]`, else
`https://api.<region>.codeengine.cloud.ibm.com/v2` (Settings.code_engine_url_for). Clients are
built on first use, so a run whose mappings are all at home builds one, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from job.code_engine import DomainMappings, TargetStore
from job.mappings import SecretMapping
from job.rollout import Rollout
from job.sync import Site
from shared.retry import RetryPolicy


class Sites:
    def __init__(
        self,
        *,
        project_id: str,
        url_for: Callable[[str], str],
        client: Callable[[str], Any],
        policy: RetryPolicy,
        rollout: Callable[[DomainMappings], Rollout] | None = None,
    ) -> None:
        """`client(url)` builds a CodeEngineV2 for an API base; `rollout(domain_mappings)` the
        custom-domain checks of one project (None: CERTSYNC_VERIFY=off)."""
        self._project = project_id
        self._url_for = url_for
        self._client = client
        self._policy = policy
        self._rollout = rollout
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._sites: dict[tuple[str, str], tuple[TargetStore, Site]] = {}

    def client(self, region: str = "") -> Any:
        """The Code Engine client of a region ("" the job's own), one per region."""
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
