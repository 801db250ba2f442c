"""Secrets Manager adapter: fetch one certificate secret, and list certificates' metadata,
translated into our own types."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Protocol

from job.certs import CERT_TYPES, SourceCertificate
from shared.retry import RetryPolicy
from shared.sdk import call_api

# `list_secrets` takes up to 1,000 a page (SecretsManagerV2.list_secrets: "Maximum limit allowed
# is 1000 secrets").
PAGE_SIZE = 1000
# The list metadata that changes whenever what `get_secret` returns can change: every rotation
# (a new leaf, or a new intermediate under the same leaf) adds a version (`versions_total`) and
# moves `updated_at`; the serial and expiry name the leaf. (SecretMetadata in the SDK's models.)
VERSION_FIELDS = ("versions_total", "updated_at", "serial_number", "expiration_date")


class SecretsManagerApi(Protocol):
    """The SDK calls the job makes (ibm_secrets_manager_sdk SecretsManagerV2)."""

    def get_secret(self, id: str, **kwargs: Any) -> Any: ...

    def list_secrets(self, **kwargs: Any) -> Any: ...


def version_of(metadata: dict[str, Any]) -> str | None:
    """A fingerprint of a secret's state from its metadata (a list item or the secret itself);
    None when a field is missing, so nothing is ever skipped on a guess."""
    values = [metadata.get(f) for f in VERSION_FIELDS]
    if any(v is None or v == "" for v in values):
        return None
    return "/".join(str(v) for v in values)


class SecretSource:
    def __init__(
        self,
        api: SecretsManagerApi,
        policy: RetryPolicy,
    ) -> None:
        self._api = api
        self._policy = policy

    def fetch(self, secret_id: str) -> SourceCertificate:
        body = call_api(
            lambda: self._api.get_secret(id=secret_id),
            what=f"get Secrets Manager secret {secret_id!r}",
            policy=self._policy,
        )
        return to_source(secret_id, body)

    def list_certificates(self, labels: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The metadata of every certificate secret (with all of `labels`), page by page; the
        filters are applied by the service (`secret_types`, `match_all_labels`)."""
        items: list[dict[str, Any]] = []
        while True:
            offset = len(items)
            body = call_api(
                functools.partial(
                    self._api.list_secrets,
                    offset=offset or None,
                    limit=PAGE_SIZE,
                    secret_types=list(CERT_TYPES),
                    match_all_labels=list(labels) or None,
                ),
                what=f"list Secrets Manager secrets (offset {offset})",
                policy=self._policy,
            )
            page = body.get("secrets") or []
            items.extend(s for s in page if isinstance(s, dict))
            total = body.get("total_count")
            if not page or not isinstance(total, int) or len(items) >= total:
                return items


def to_source(secret_id: str, body: dict[str, Any]) -> SourceCertificate:
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
