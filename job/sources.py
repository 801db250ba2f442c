"""Secrets Manager adapter: fetch one certificate secret, translated into our own types."""

from __future__ import annotations

from typing import Any, Protocol

from job.certs import SourceCertificate
from shared.retry import RetryPolicy
from shared.sdk import call_api


class SecretsManagerApi(Protocol):
    """The one SDK call the job makes (ibm_secrets_manager_sdk SecretsManagerV2)."""

    def get_secret(self, id: str, **kwargs: Any) -> Any: ...


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
    )
