"""What `deploy inventory` reads, read only: the Code Engine projects of the chosen regions, their
TLS secrets and domain mappings, what each domain serves over TLS, and the Secrets Manager
certificates' list metadata; translated into `deploy.inventory`'s facts.

Each region's Code Engine answers at `Config.ce_url_for(region)` (`code_engine.urls`, else IBM's
public regional endpoint); all its clients share one IAM token. The reads are independent, so up
to `workers` are in flight at once: the projects of every region, then each project's two
listings, then every secret read and every TLS handshake side by side. A project that cannot be
read is a problem named in the result, not the end of the inventory.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from deploy.clients import TIMEOUT, Clients
from deploy.config import Config
from deploy.inventory_facts import DomainFact, Facts, Place, SmCertificate, TlsSecret
from job.secrets_manager import SecretSource
from job.served import ServedCertificates
from shared.clients import code_engine_client
from shared.errors import CertsyncError, NotFoundError

WORKERS = 16
PAGE = 100  # Code Engine's list calls: at most 100 a page (shared.sdk.PAGE_SIZE)
T = TypeVar("T")


def read_facts(
    clients: Clients,
    config: Config,
    regions: Sequence[str],
    *,
    served: ServedCertificates | None,
    workers: int = WORKERS,
) -> Facts:
    """Everything the inventory needs; `served` None: no TLS handshakes (adopt needs none)."""
    auth = clients.code_engine.get_authenticator()
    apis = {
        region: code_engine_client(
            config.ce_url_for(region), auth, timeout=TIMEOUT, pool_size=workers
        )
        for region in regions
    }
    reader = _Reader(clients, apis)
    problems: list[str] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        certificates = pool.submit(SecretSource(clients.secrets_manager, clients.policy).
                                   list_certificates)  # fmt: skip
        listed = [pool.submit(reader.projects, region) for region in regions]
        places = [p for f in listed for p in _result(f, problems) or []]
        listings = [
            (p, pool.submit(reader.secret_names, p), pool.submit(reader.domain_mappings, p))
            for p in places
        ]
        gets: list[Future[TlsSecret | None]] = []
        probes: list[Future[DomainFact]] = []
        for place, names, mappings in listings:
            for name in _result(names, problems) or []:
                gets.append(pool.submit(reader.secret, place, name))
            for body in _result(mappings, problems) or []:
                probes.append(pool.submit(_probe, served, place, body))
        secrets = [s for f in gets if (s := _result(f, problems)) is not None]
        domains = [d for f in probes if (d := _result(f, problems)) is not None]
        metadata = certificates.result()  # the certificates are needed: no inventory without
    return Facts(
        places=tuple(places),
        secrets=tuple(secrets),
        domains=tuple(domains),
        certificates=tuple(SmCertificate.from_metadata(m) for m in metadata),
        problems=tuple(problems),
    )


def _result(future: Future[T], problems: list[str]) -> T | None:
    try:
        return future.result()
    except CertsyncError as exc:
        problems.append(str(exc))
        return None


class _Reader:
    def __init__(self, clients: Clients, apis: dict[str, Any]) -> None:
        self._clients = clients
        self._apis = apis

    def projects(self, region: str) -> list[Place]:
        from ibm_code_engine_sdk.code_engine_v2 import ProjectsPager

        found = self._clients.pages(
            ProjectsPager(client=self._apis[region], limit=PAGE),
            f"list Code Engine projects in {region}",
        )
        return [
            Place(region, str(p["id"]).lower(), str(p.get("name") or p["id"]))
            for p in found
            if p.get("id") and p.get("region", region) == region
        ]

    def secret_names(self, place: Place) -> list[str]:
        from ibm_code_engine_sdk.code_engine_v2 import SecretsPager

        listed = self._clients.pages(
            SecretsPager(client=self._apis[place.region], project_id=place.project,
                         format="tls", limit=PAGE),
            f"list the TLS secrets of project '{place.name}' ({place.region})",
        )  # fmt: skip
        return [str(s["name"]) for s in listed if s.get("name") and s.get("format") == "tls"]

    def domain_mappings(self, place: Place) -> list[dict[str, Any]]:
        from ibm_code_engine_sdk.code_engine_v2 import DomainMappingsPager

        return self._clients.pages(
            DomainMappingsPager(client=self._apis[place.region], project_id=place.project,
                                limit=PAGE),
            f"list the domain mappings of project '{place.name}' ({place.region})",
        )  # fmt: skip

    def secret(self, place: Place, name: str) -> TlsSecret | None:
        """The secret with its data; None when it went away since the listing."""
        api = self._apis[place.region]
        try:
            body = self._clients.call(
                lambda: api.get_secret(project_id=place.project, name=name),
                f"get TLS secret '{name}' of project '{place.name}' ({place.region})",
            )
        except NotFoundError:
            return None
        data = body.get("data") or {}
        cert, key = str(data.get("tls_cert") or ""), str(data.get("tls_key") or "")
        return TlsSecret(place, name, cert, key)


def _probe(served: ServedCertificates | None, place: Place, body: dict[str, Any]) -> DomainFact:
    """The mapping, and what its domain serves (the job's own check, `job/served.py`)."""
    domain = str(body.get("name") or "")
    app = str((body.get("component") or {}).get("name") or "")
    secret = str(body.get("tls_secret") or "")
    if served is None:
        return DomainFact(place, domain, app, secret, None, "not checked")
    try:
        return DomainFact(place, domain, app, secret, served.leaf(domain))
    except CertsyncError as exc:
        return DomainFact(place, domain, app, secret, None, str(exc))
