"""One SDK call at the edge: translate its exceptions into ours, under the one retry layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import requests
from ibm_cloud_sdk_core import ApiException

from shared.errors import from_api_exception, from_transport_error
from shared.retry import RetryPolicy, call_with_retry

T = TypeVar("T")

# One page size policy: every list asks for the most a page can hold. Secrets Manager documents
# 1,000 (SecretsManagerV2.list_secrets: "Maximum limit allowed is 1000 secrets"); Code Engine
# documents no maximum (CodeEngineV2 list_*: "Optional maximum number of ... per page"), so 100,
# the most the emulator allows (the stricter guess); Event Notifications and IAM lists take 100.
PAGE_SIZE = 100
SECRETS_MANAGER_PAGE_SIZE = 1000


class Pager(Protocol):
    """What the SDKs' generated pagers (`SourcesPager`, `PoliciesPager`, ...) offer."""

    def has_next(self) -> bool: ...
    def get_next(self) -> list[dict[str, Any]]: ...


def call_once(request: Callable[[], Any], *, what: str) -> dict[str, Any]:
    """Run `request` (an SDK method call returning a DetailedResponse) once; return its JSON
    result, with ApiException and `requests` errors translated into our hierarchy.

    `what` names the operation and object for errors and logs ("get Code Engine secret 'tls-web'").
    """
    result = _translated(lambda: request().get_result(), what)
    return result if isinstance(result, dict) else {}


def _translated(fn: Callable[[], T], what: str) -> T:
    try:
        return fn()
    except ApiException as exc:
        raise from_api_exception(exc, what) from None
    except requests.RequestException as exc:
        raise from_transport_error(exc, what) from None


def call_api(
    request: Callable[[], Any],
    *,
    what: str,
    policy: RetryPolicy,
) -> dict[str, Any]:
    """`call_once` under the one retry layer."""
    return call_with_retry(lambda: call_once(request, what=what), policy, operation=what)


def call_pages(pager: Pager, *, what: str, policy: RetryPolicy) -> list[dict[str, Any]]:
    """Every item of an SDK pager, each page fetched under the one retry layer (a pager moves on
    only after a page arrived, so a retried page is the same page)."""
    items: list[dict[str, Any]] = []
    while pager.has_next():
        page = call_with_retry(lambda: _translated(pager.get_next, what), policy, operation=what)
        items.extend(page or [])
    return items
