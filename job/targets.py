"""Code Engine adapter: read, create and replace TLS secrets, translated into our own types."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

from ibm_code_engine_sdk.code_engine_v2 import SecretDataTLSSecretData

from job.certs import TlsBundle
from job.plan import CurrentTarget
from shared.errors import NotFoundError
from shared.retry import RetryPolicy
from shared.sdk import call_api


class CodeEngineApi(Protocol):
    """The SDK calls the job makes (ibm_code_engine_sdk CodeEngineV2)."""

    def get_secret(self, project_id: str, name: str, **kwargs: Any) -> Any: ...

    def create_secret(self, project_id: str, format: str, name: str, **kwargs: Any) -> Any: ...

    def replace_secret(
        self, project_id: str, name: str, if_match: str, format: str, **kwargs: Any
    ) -> Any: ...

    def list_secrets(self, project_id: str, **kwargs: Any) -> Any: ...


# Code Engine's list calls take `limit` and a `start` token from `next.start` (CodeEngineV2
# list_secrets); 100 a page is the most the emulator allows (the real maximum is undocumented).
PAGE_SIZE = 100


class TargetStore:
    def __init__(
        self,
        api: CodeEngineApi,
        project_id: str,
        policy: RetryPolicy,
    ) -> None:
        self._api = api
        self._project = project_id
        self._policy = policy

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
            entity_tag=str(body.get("entity_tag") or ""),
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
        return str(body.get("entity_tag") or "")

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
        return str(body.get("entity_tag") or "")

    def list_tags(self) -> dict[str, str]:
        """name -> entity tag of every TLS secret in the project (a page is 100 secrets, and a
        project holds at most 100), so whether a target changed is known without reading it."""
        tags: dict[str, str] = {}
        start: str | None = None
        while True:
            body = self._call(
                "list Code Engine secrets",
                functools.partial(
                    self._api.list_secrets,
                    project_id=self._project,
                    format="tls",
                    limit=PAGE_SIZE,
                    start=start,
                ),
            )
            for item in body.get("secrets") or []:
                if isinstance(item, dict) and item.get("name") and item.get("entity_tag"):
                    tags[str(item["name"])] = str(item["entity_tag"])
            start = (body.get("next") or {}).get("start")
            if not start:
                return tags

    def _call(self, what: str, request: Callable[[], Any]) -> dict[str, Any]:
        return call_api(request, what=what, policy=self._policy)


def _data(bundle: TlsBundle) -> SecretDataTLSSecretData:
    return SecretDataTLSSecretData(tls_cert=bundle.cert_pem, tls_key=bundle.key_pem)
