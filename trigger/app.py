"""The webhook: `POST /events` takes Event Notifications notifications, `GET /healthz` answers 200.

Checks run outside-in, cheapest and least revealing first: token (401), content type (415),
size while reading (413), JSON and shape (400), source (403). Only then is the event acted on:
a rotation of certificates is acknowledged with 202 and its job runs (one, or several for a batch
too large for one) submitted after the response; any authenticated JSON object that is not a
Secrets Manager notification (Event Notifications' destination test among them: its payload is
not documented) is answered `200 {"status": "ignored"}`, whatever its source, and starts nothing;
a rotation of any other secret type is ignored (200); expiry and rotation failures are logged as
warnings for a person; anything else is acknowledged with 200.
No request, whatever it holds, gets a 5xx: an unexpected error is logged with its traceback and
answered 400, and does not start a job run.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shared.crn import secrets_manager_instance
from shared.events import (
    CERTIFICATE_TYPES,
    EVENT_PREFIX,
    MalformedEvent,
    Notification,
    notification_from_dict,
)
from trigger.deliveries import Deliveries
from trigger.runs import TooLarge, plan_runs
from trigger.settings import Settings
from trigger.submitter import Submitter

log = structlog.get_logger("certsync.trigger")

ROTATED = "secret_rotated"
TEST = "test_event"  # Secrets Manager's test event, sent through a topic
# Events a person must act on: the certificate will not be (or was not) renewed by itself.
NEEDS_ATTENTION = frozenset({"secret_about_to_expire", "secret_expired", "secret_rotation_failed"})


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    outcome: str
    headers: dict[str, str] = field(default_factory=dict)
    background: BackgroundTask | None = None

    def response(self) -> Response:
        return JSONResponse(self.body, self.status, self.headers, background=self.background)


class Rejected(Exception):
    """A request refused by a check; becomes a 4xx reply."""

    def __init__(
        self, status: int, error: str, outcome: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.reply = Reply(status, {"error": error}, outcome, dict(headers or {}))


def create_app(settings: Settings, submitter: Submitter) -> Starlette:
    events = Events(settings, submitter, Deliveries())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        # After the server's graceful shutdown (no request is taken any more): submissions
        # still queued or in flight are given `shutdown_seconds` to finish.
        await submitter.drain(settings.shutdown_seconds)
        log.info("trigger_stopped", unfinished_submissions=sorted(submitter.in_flight))

    return Starlette(
        routes=[
            Route("/events", events.handle, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/deliveries", events.deliveries, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


class Events:
    def __init__(self, settings: Settings, submitter: Submitter, record: Deliveries) -> None:
        self._settings = settings
        self._submitter = submitter
        self._record = record
        token = settings.webhook_token
        self._token = token.reveal().encode() if token is not None else None

    async def handle(self, request: Request) -> Response:
        """Answer one notification and write its one request line."""
        structlog.contextvars.clear_contextvars()
        started = time.monotonic()
        try:
            reply = await self._handle(request)
        except Rejected as rejected:
            reply = rejected.reply
            self._record.refused(reply.outcome)
        except Exception:
            log.exception("request_failed")
            reply = Reply(400, {"error": "the notification could not be processed"}, "failed")
        emit = log.info if reply.status < 400 else log.warning
        emit(
            "request_finished",
            method=request.method,
            path=request.url.path,
            status=reply.status,
            outcome=reply.outcome,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return reply.response()

    async def deliveries(self, request: Request) -> Response:
        """`GET /deliveries`: what this instance acknowledged and refused lately (same token)."""
        try:
            self._authenticate(request)
        except Rejected as rejected:
            return rejected.reply.response()
        return JSONResponse(self._record.to_dict())

    async def _handle(self, request: Request) -> Reply:
        self._authenticate(request)
        _check_content_type(request)
        raw = await _read_body(request, self._settings.max_body_bytes)
        body = _json(raw)
        if isinstance(body, dict) and not _from_secrets_manager(body):
            # Event Notifications' destination test, or anything else that is not Secrets
            # Manager's: CERTSYNC_ALLOWED_SOURCES does not apply, the token did.
            reply = {"status": "ignored", "reason": "not a Secrets Manager notification"}
            return Reply(200, reply, "ignored")
        notification = _notification(body)
        structlog.contextvars.bind_contextvars(
            notification_id=notification.key,
            event_type=notification.kind,
            secret_type=notification.secret_type,
            secret_ids=list(notification.secret_ids),
        )
        self._check_source(notification)
        return self._act(notification)

    def _authenticate(self, request: Request) -> None:
        if self._token is None:  # CERTSYNC_ALLOW_UNAUTHENTICATED=true
            return
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        # latin-1 undoes Starlette's header decoding: the bytes as sent, whatever they are.
        given = presented.strip().encode("latin-1")
        valid = hmac.compare_digest(given, self._token)
        if scheme.lower() != "bearer" or not valid:
            raise Rejected(
                401,
                "missing or wrong bearer token",
                "unauthorized",
                {"WWW-Authenticate": 'Bearer realm="certsync"'},
            )

    def _check_source(self, notification: Notification) -> None:
        allowed = self._settings.allowed_sources
        if not allowed:
            return
        crn = notification.source_instance_crn
        source = secrets_manager_instance(crn) if crn else None
        if source not in allowed:
            log.warning(
                "notification_refused",
                source_instance_crn=crn,
                reason="source not in CERTSYNC_ALLOWED_SOURCES",
            )
            raise Rejected(403, "notifications from this source are not accepted", "forbidden")

    def _act(self, notification: Notification) -> Reply:
        kind = notification.kind
        if kind == ROTATED:
            return self._rotated(notification)
        if kind in NEEDS_ATTENTION:
            log.warning(
                "secret_problem_reported",
                event_sub_type=notification.event_sub_type,
                secrets=[
                    {
                        "secret_id": s.secret_id,
                        "name": s.name,
                        "expiration": s.expiration,
                        "serial_number": s.serial_number,
                    }
                    for s in notification.secrets
                ],
                action="renew or rotate these certificates in Secrets Manager",
            )
            return Reply(200, {"status": "logged", "event_type": kind}, "logged")
        if kind == TEST:
            return Reply(200, {"status": "ok", "event_type": kind}, "tested")
        return Reply(200, {"status": "ignored", "event_type": kind}, "ignored")

    def _rotated(self, notification: Notification) -> Reply:
        if not notification.secrets:
            raise Rejected(400, "a secret_rotated notification must name secrets", "malformed")
        if not notification.is_certificate:
            # Every secret type emits secret_rotated; Secrets Manager batches by type, so the
            # whole notification is about secrets certsync does not sync.
            body = {"status": "ignored", "event_type": ROTATED, "reason": _not_certificates()}
            return Reply(200, body, "ignored")
        try:
            runs = plan_runs(self._settings.job_name, notification)
        except TooLarge as exc:
            raise Rejected(400, str(exc), "malformed") from None
        names = [run.name for run in runs]
        structlog.contextvars.bind_contextvars(ce_jobruns=names)
        self._record.accepted(notification.key, notification.secret_ids, names)
        task = BackgroundTask(self._submitter.submit_all, runs)
        return Reply(202, {"job_run": names[0], "job_runs": names}, "accepted", background=task)


def _not_certificates() -> str:
    return f"secret_type is not one of {', '.join(CERTIFICATE_TYPES)}"


def _check_content_type(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise Rejected(415, "Content-Type must be application/json", "unsupported_media_type")


async def _read_body(request: Request, limit: int) -> bytes:
    # No `Connection: close`: closing with the rest of the body unread makes the kernel answer
    # with a reset, and the client may never see the 413. The server discards what follows.
    too_large = Rejected(413, f"the body is larger than {limit} bytes", "too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise Rejected(400, "the client disconnected", "disconnected") from None
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Rejected(400, "the body is not UTF-8", "malformed") from None
    except ValueError as exc:
        raise Rejected(400, f"notification is not valid JSON: {exc}", "malformed") from None
    except RecursionError:  # json.loads on very deeply nested arrays
        raise Rejected(400, "the body is nested too deeply", "malformed") from None


def _from_secrets_manager(body: dict[str, Any]) -> bool:
    """What marks Secrets Manager's notifications (secrets-manager `event-notifications.md`): an
    envelope `type` `com.ibm.cloud.secrets-manager.*`, or a `data` object with an `event_type`.
    Such a body must then be well formed (400 otherwise); any other object is not certsync's."""
    kind = body.get("type")
    data = body.get("data")
    return (isinstance(kind, str) and kind.startswith(EVENT_PREFIX)) or (
        isinstance(data, dict) and "event_type" in data
    )


def _notification(body: Any) -> Notification:
    try:
        return notification_from_dict(body)
    except MalformedEvent as exc:
        raise Rejected(400, str(exc), "malformed") from None
