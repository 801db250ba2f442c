"""One SDK call at the edge: translate its exceptions into ours, under the one retry layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from ibm_cloud_sdk_core import ApiException

from shared.errors import from_api_exception, from_transport_error
from shared.retry import RetryPolicy, call_with_retry


def call_once(request: Callable[[], Any], *, what: str) -> dict[str, Any]:
    """Run `request` (an SDK method call returning a DetailedResponse) once; return its JSON
    result, with ApiException and `requests` errors translated into our hierarchy.

    `what` names the operation and object for errors and logs ("get Code Engine secret 'tls-web'").
    """
    try:
        result = request().get_result()
    except ApiException as exc:
        raise from_api_exception(exc, what) from None
    except requests.RequestException as exc:
        raise from_transport_error(exc, what) from None
    return result if isinstance(result, dict) else {}


def call_api(
    request: Callable[[], Any],
    *,
    what: str,
    policy: RetryPolicy,
) -> dict[str, Any]:
    """`call_once` under the one retry layer."""
    return call_with_retry(lambda: call_once(request, what=what), policy, operation=what)


def call_pages(pager: Any, *, what: str, policy: RetryPolicy) -> list[dict[str, Any]]:
    """Every item an SDK pager (`JobRunsPager`, `SecretsPager`, ...) lists, each page fetched
    under the one retry layer. A pager moves on only after a page arrived, so a page that failed
    is asked for again, not skipped."""

    def page() -> list[dict[str, Any]]:
        try:
            return list(pager.get_next())
        except ApiException as exc:
            raise from_api_exception(exc, what) from None
        except requests.RequestException as exc:
            raise from_transport_error(exc, what) from None

    items: list[dict[str, Any]] = []
    while pager.has_next():
        items += call_with_retry(page, policy, operation=what)
    return items
