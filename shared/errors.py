"""The error hierarchy both entry points speak, and the one table mapping HTTP status codes to it.

Adapters translate SDK and transport exceptions into these at the edge; the core never sees an
`ApiException` or a `requests` exception. Messages name what failed and which object, never secret
material.
"""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only named in signatures: whoever reads ConfigError need not load them
    import requests
    from ibm_cloud_sdk_core import ApiException


class CertsyncError(Exception):
    """Base of every error certsync raises on purpose."""


class ConfigError(CertsyncError):
    """Bad configuration; carries every problem found, each naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class PermanentError(CertsyncError):
    """Retrying cannot help: bad request, authentication, authorization, not found."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFoundError(PermanentError):
    """The named object does not exist (404)."""


class QuotaExceededError(PermanentError):
    """A project quota is full (e.g. 100 job runs): retrying alone cannot help, freeing room can.

    Neither the status nor the wording of Code Engine's refusal is documented: Kubernetes'
    ResourceQuota refuses with 403 "exceeded quota", the docs say "You are limited to 100 job
    runs per project". So any 4xx refusal that names a quota or a limit, and not a size, is one.
    """


class RetryableError(CertsyncError):
    """Transient: timeouts, connection errors, 429 and 5xx. `retry_after` is in seconds."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ConflictError(CertsyncError):
    """409 or 412: someone else changed the object; re-read, then try again."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def classify_status(status: int) -> type[CertsyncError]:
    """The one table from HTTP status to error class."""
    if status == 404:
        return NotFoundError
    if status in (409, 412):
        return ConflictError
    if status in (408, 429) or status >= 500:
        return RetryableError
    return PermanentError


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not '²', which isdigit() accepts
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())


def from_api_exception(exc: ApiException, what: str) -> CertsyncError:
    """Translate an ApiException raised while doing `what` ("get Code Engine secret 'x'")."""
    status = int(exc.status_code or 0)
    reason = _short(exc.message) or "no message"
    message = f"{what} failed with HTTP {status}: {reason}"
    cls = classify_status(status) if status else RetryableError
    if cls is RetryableError:
        headers: Any = exc.http_response.headers if exc.http_response is not None else {}
        retry_after = parse_retry_after(headers.get("Retry-After"))
        return RetryableError(message, status=status or None, retry_after=retry_after)
    if cls is ConflictError:
        return ConflictError(message, status=status)
    if 400 <= status < 500 and _names_quota(f"{exc.message} {_codes(exc)}"):
        return QuotaExceededError(message, status=status)
    return cls(message, status=status)  # type: ignore[call-arg]


_QUOTA = re.compile(r"quota|limit", re.IGNORECASE)
_SIZE = re.compile(r"size|bytes|too.large|KiB", re.IGNORECASE)  # "a size limit exceeded error"


def _names_quota(text: str) -> bool:
    return bool(_QUOTA.search(text)) and not _SIZE.search(text)


def _codes(exc: ApiException) -> str:
    """The `errors[].code` values of IBM's error envelope, if the body has them."""
    try:
        body = exc.http_response.json() if exc.http_response is not None else {}
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return ""
    return " ".join(str(e.get("code", "")) for e in errors if isinstance(e, dict))


def from_transport_error(exc: requests.RequestException, what: str) -> RetryableError:
    """Timeouts, refused or dropped connections: transient by nature."""
    kind = type(exc).__name__
    return RetryableError(f"{what} failed: {kind} (no response from the service)")


def _short(text: str | None, limit: int = 200) -> str:
    """A one-line, bounded excerpt of a service message (they never carry our secret material)."""
    if not text:
        return ""
    line = " ".join(str(text).split())
    if "-----BEGIN" in line:
        return "[message withheld: it contained PEM material]"
    return line if len(line) <= limit else line[: limit - 1] + "…"
