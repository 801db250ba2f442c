"""ASGI middleware in front of every service: bearer-token check, access check, faults, request
log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from localcloud.faults import Faults, RecordedRequest, RequestLog
from localcloud.http import CONTROL_PREFIX, IAM_PREFIX, error_response, iam_error

# Request headers that carry credentials, never recorded: the bearer token, and the API key
# that IAM Identity's `GET /v1/apikeys/details` takes in `IAM-ApiKey`.
SECRET_HEADERS = frozenset({"authorization", "iam-apikey"})
# Paths that do not need a bearer token: IAM itself and the emulator's own control plane.
OPEN_PREFIXES = (IAM_PREFIX, CONTROL_PREFIX)
# Why an Authorization header is not acceptable, or None when it is (IAM's check).
Verify = Callable[[str | None], str | None]
# For a verified token: a 403 when its identity lacks the role (method, path) needs, else None
# (IAM's access policies, `localcloud.iam.enforce`).
Authorize = Callable[[str, str, str | None], Response | None]


class DroppedConnection(Exception):
    """Raised after the response has started so uvicorn closes the socket without a response."""


class CloudMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: Faults,
        requests: RequestLog,
        verify: Verify,
        authorize: Authorize | None = None,
    ) -> None:
        self.app = app
        self.faults = faults
        self.requests = requests
        self.verify = verify
        self.authorize = authorize

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        received_at = time.time()
        body = await _read_body(receive)
        replay = _replay(body)
        status = {"code": 0}

        control = path.startswith(CONTROL_PREFIX)
        logged = False

        def log_request() -> None:
            # Recorded before the response leaves, so a client that has its answer always finds
            # its request in the log (no race for tests that assert on it right after a call).
            nonlocal logged
            if control or logged:
                return
            logged = True
            recorded = {k: v for k, v in headers.items() if k not in SECRET_HEADERS}
            self.requests.append(
                RecordedRequest(
                    method=method,
                    path=path,
                    query=scope.get("query_string", b"").decode("latin-1"),
                    headers=recorded,
                    body=body,
                    status=status["code"],
                    fault=answered_by_fault,
                    received_at=received_at,
                )
            )

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                log_request()
            await send(message)

        fault = None if control else self.faults.take(method, path)
        delay = self.faults.latency_all + (fault.latency if fault else 0.0)
        if delay and not control:
            await asyncio.sleep(delay)
        answered_by_fault = fault is not None and (fault.drop or fault.status is not None)
        try:
            if fault is not None and fault.drop:
                status["code"] = -1
                await send({"type": "http.response.start", "status": 200, "headers": []})
                raise DroppedConnection(path)
            if fault is not None and fault.status is not None:
                response = _fault_response(path, fault.status, fault.retry_after)
                await response(scope, replay, recording_send)
                return
            if not path.startswith(OPEN_PREFIXES):
                problem = self.verify(headers.get("authorization"))
                if problem is not None:
                    response = error_response(401, "not_authorized", f"Unauthorized: {problem}")
                    await response(scope, replay, recording_send)
                    return
                denied = self._denied(method, path, headers.get("authorization"))
                if denied is not None:
                    await denied(scope, replay, recording_send)
                    return
            await self.app(scope, replay, recording_send)
        finally:
            log_request()  # no response started (a dropped connection, an exception)

    def _denied(self, method: str, path: str, authorization: str | None) -> Response | None:
        return None if self.authorize is None else self.authorize(method, path, authorization)


def _fault_response(path: str, status: int, retry_after: int | None) -> Response:
    """An injected status in the shape of the service that owns `path`: IAM answers with its own
    error body, the other services with the platform envelope. (What IAM's edge sends for a
    429 or 5xx is not documented; we assume IAM's own shape.)"""
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    shape = iam_error if path.startswith(IAM_PREFIX) else error_response
    return shape(status, "injected_fault", "injected by the test", headers)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # like a real client that keeps the connection open
        return {"type": "http.disconnect"}

    return receive
