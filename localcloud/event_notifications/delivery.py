"""Destinations, one delivery attempt each, the backoff between attempts, and the attempt record.

Retry policy: the project's spec (10 s per attempt, 3 retries, 1-10 s exponential backoff with
jitter honouring `Retry-After`, then the notification is lost). The Event Notifications docs have
said different things over time: an older `en-destination-webhook.md` gives a 10 s connection
timeout, a 60 s response timeout and retries every 5 s for up to 60 s; the current page defers to
"Retry policy for destinations" without numbers. The spec's shorter timeout is the stricter one.

Unknown for the real service, stricter choice here:
- Which statuses are retried: 429 and 5xx (and timeouts, connection errors); every other non-2xx,
  including 408, is final and the notification is lost.
- Redirects are not followed; a 3xx is a final failure.
- Plain `http://` is refused except for loopback hosts (the Code Engine app destination is
  documented as HTTPS only; the fake needs loopback HTTP for its receivers).
- Custom headers may not replace Content-Type, Content-Length or Host.
- The per-attempt timeout is a socket timeout (connect, then each read), as most HTTP clients do.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import random
import time
import urllib.parse
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

from localcloud.event_notifications.payload import now_rfc3339
from localcloud.http import BadRequest

MASK = "********"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
RESERVED_HEADERS = frozenset({"content-type", "content-length", "host"})
Kind = Literal["webhook", "code_engine_app", "code_engine_job"]
Outcome = Literal["delivered", "retrying", "lost"]


class JobRunner(Protocol):
    """The one Code Engine call the job destination makes (`JobRuns.submit`)."""

    def submit(
        self,
        job_name: str,
        *,
        run_env_variables: list[dict[str, str]] | None = None,
        name: str | None = None,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Destination:
    """A webhook / Code Engine app (`url`, headers) or a Code Engine job (`job_name`)."""

    id: str
    name: str
    kind: Kind
    url: str | None = None
    job_name: str | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    sensitive_headers: frozenset[str] = frozenset()
    # What the admin API adds (`DestinationConfig` params, `Destination` model).
    description: str = ""
    verb: str = "post"
    project_crn: str | None = None  # a job destination created through the API
    collect_failed_events: bool = False
    created_at: str = field(default_factory=now_rfc3339)
    updated_at: str = field(default_factory=now_rfc3339)

    @property
    def api_type(self) -> str:
        """The API's `type`: Code Engine apps and jobs are both `ibmce`."""
        return "webhook" if self.kind == "webhook" else "ibmce"

    def config(self) -> dict[str, Any]:
        """`DestinationConfig`, sensitive header values masked."""
        if self.kind == "code_engine_job":
            params: dict[str, Any] = {
                "type": "job",
                "project_crn": self.project_crn,
                "job_name": self.job_name,
            }
        else:
            params = {"url": self.url, "verb": self.verb}
            if self.kind == "code_engine_app":
                params = {"type": "application", **params}
            if self.headers:
                params["custom_headers"] = self.masked_headers()
            if self.sensitive_headers:
                params["sensitive_headers"] = sorted(self.sensitive_headers)
        return {"params": params}

    def masked_headers(self) -> dict[str, str]:
        sensitive = {h.lower() for h in self.sensitive_headers}
        return {k: MASK if k.lower() in sensitive else v for k, v in self.headers.items()}

    def __repr__(self) -> str:
        target = self.url if self.kind != "code_engine_job" else self.job_name
        return (
            f"Destination(id={self.id!r}, name={self.name!r}, kind={self.kind!r}, "
            f"target={target!r}, headers={self.masked_headers()!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.kind,
            "url": self.url,
            "job_name": self.job_name,
            "headers": self.masked_headers(),
            "sensitive_headers": sorted(self.sensitive_headers),
        }


def check_webhook(url: str, headers: dict[str, str], sensitive: set[str]) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"destination url {url!r} is not an http(s) URL")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValueError(f"destination url {url!r} must use https")
    reserved = sorted(h for h in headers if h.lower() in RESERVED_HEADERS)
    if reserved:
        raise ValueError(f"custom headers may not set {reserved}")
    unknown = sorted(h for h in sensitive if h.lower() not in {k.lower() for k in headers})
    if unknown:
        raise ValueError(f"sensitive headers {unknown} are not among the custom headers")


@dataclass(frozen=True)
class Delivery:
    """One attempt. `outcome`: delivered, retrying (another attempt follows) or lost."""

    notification_id: str
    destination_id: str
    destination_name: str
    attempt: int
    status: int | None
    error: str | None
    latency: float
    outcome: Outcome
    retry_after: float | None = None
    at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    @classmethod
    def of(
        cls,
        destination: Destination,
        notification: dict[str, Any],
        attempt: int,
        result: AttemptResult,
        outcome: Outcome,
    ) -> Delivery:
        return cls(
            notification_id=str(notification["notification_id"]),
            destination_id=destination.id,
            destination_name=destination.name,
            attempt=attempt,
            status=result.status,
            error=result.error,
            latency=result.latency,
            outcome=outcome,
            retry_after=result.retry_after,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "notification_id": self.notification_id,
            "destination_id": self.destination_id,
            "destination_name": self.destination_name,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "latency": round(self.latency, 4),
            "outcome": self.outcome,
            "retry_after": self.retry_after,
            "at": self.at,
        }


@dataclass(frozen=True)
class AttemptResult:
    status: int | None
    error: str | None
    latency: float
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        if self.status is None:
            return True  # timeout or connection error
        return self.status == 429 or self.status >= 500


def post_webhook(
    destination: Destination, notification: dict[str, Any], timeout: float
) -> AttemptResult:
    """Send the notification as JSON with the destination's verb (POST unless the API set
    another) and custom headers; no redirects."""
    assert destination.url is not None
    parts = urllib.parse.urlsplit(destination.url)
    conn_type = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_type(parts.hostname or "", parts.port, timeout=timeout)
    path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    body = json.dumps(notification, separators=(",", ":")).encode()
    headers = {**destination.headers, "Content-Type": "application/json"}
    started = time.monotonic()
    try:
        conn.request(destination.verb.upper(), path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        retry_after = parse_retry_after(response.getheader("Retry-After"))
        return AttemptResult(response.status, None, time.monotonic() - started, retry_after)
    except TimeoutError:
        return AttemptResult(None, f"timeout after {timeout:g}s", time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        return AttemptResult(None, f"{type(exc).__name__}: {exc}", time.monotonic() - started)
    finally:
        conn.close()


def run_job(
    job_runs: JobRunner, destination: Destination, notification: dict[str, Any]
) -> AttemptResult:
    """Submit a job run; a BadRequest 4xx (other than 429) from Code Engine is final."""
    assert destination.job_name is not None
    env = [{"type": "literal", "name": "ibmendata", "value": json.dumps(notification)}]
    try:
        job_runs.submit(destination.job_name, run_env_variables=env)
    except BadRequest as exc:
        return AttemptResult(exc.status, f"{exc.code}: {exc.message}", 0.0)
    except Exception as exc:  # the emulator failing counts as a transient error
        return AttemptResult(None, f"{type(exc).__name__}: {exc}", 0.0)
    return AttemptResult(201, None, 0.0)


def parse_retry_after(value: str | None) -> float | None:
    """Delta-seconds or an HTTP-date, as RFC 9110 allows; None when absent or unparsable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def backoff(
    retry: int, *, minimum: float, maximum: float, retry_after: float | None = None
) -> float:
    """Wait before retry `retry` (1-based): exponential with jitter, honouring Retry-After."""
    ceiling = min(maximum, minimum * 2 ** (retry - 1))
    wait = random.uniform(max(minimum, ceiling / 2), ceiling)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return min(wait, maximum)
