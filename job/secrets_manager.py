"""Secrets Manager adapter: fetch one certificate secret (once per run: `FetchOnce`), and list
certificates' metadata, translated into our own types."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

from job.certs import CERT_TYPES, SourceCertificate
from job.plan import version_of
from shared.retry import RetryPolicy
from shared.sdk import SECRETS_MANAGER_PAGE_SIZE, call_api, call_pages


class SecretsManagerApi(Protocol):
    """The SDK calls the job makes (ibm_secrets_manager_sdk SecretsManagerV2)."""

    def get_secret(self, id: str, **kwargs: Any) -> Any: ...

    def list_secrets(self, **kwargs: Any) -> Any: ...


class SecretSource:
    def __init__(self, api: SecretsManagerApi, policy: RetryPolicy) -> None:
        self._api = api
        self._policy = policy

    def fetch(self, secret_id: str) -> SourceCertificate:
        body = call_api(
            lambda: self._api.get_secret(id=secret_id),
            what=f"get Secrets Manager secret {secret_id!r}",
            policy=self._policy,
        )
        chain = body.get("ca_chain") or ()
        return SourceCertificate(
            secret_id=secret_id,
            name=str(body.get("name") or secret_id),
            secret_type=str(body.get("secret_type") or "unknown"),
            certificate=str(body.get("certificate") or ""),
            private_key=body.get("private_key"),
            intermediate=body.get("intermediate"),
            issuing_ca=body.get("issuing_ca"),
            ca_chain=tuple(str(c) for c in chain) if isinstance(chain, list) else (),
            version=version_of(body),
        )

    def list_certificates(self, labels: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The metadata of every certificate secret (with all of `labels`), page by page; the
        filters are applied by the service (`secret_types`, `match_all_labels`)."""
        # Imported here: only runs that list pay for loading the SDK's module.
        from ibm_secrets_manager_sdk.secrets_manager_v2 import SecretsPager

        pager = SecretsPager(
            client=self._api,
            limit=SECRETS_MANAGER_PAGE_SIZE,
            secret_types=list(CERT_TYPES),
            match_all_labels=list(labels) or None,
        )
        listed = call_pages(pager, what="list Secrets Manager secrets", policy=self._policy)
        return [s for s in listed if isinstance(s, dict)]


class FetchOnce:
    """Memoises a fetch per secret id, so N targets of one secret cost one Secrets Manager read."""

    def __init__(self, fetch: Callable[[str], SourceCertificate]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._futures: dict[str, Future[SourceCertificate]] = {}

    def __call__(self, secret_id: str) -> SourceCertificate:
        with self._lock:
            future = self._futures.get(secret_id)
            owner = future is None
            if future is None:
                future = self._futures[secret_id] = Future()
        if owner:
            try:
                future.set_result(self._fetch(secret_id))
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()
