"""What every emulated service answers with: JSON bodies, IBM's two error shapes, strict bodies.

The platform envelope is what Secrets Manager v2 and Code Engine v2 send; IAM has its own shape,
which the middleware also needs, to answer injected faults on IAM's paths as IAM would.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

JSON = "application/json"
IAM_PREFIX = "/identity/"
# The emulator's own control plane (seeding, event wiring): no token, no faults, not logged.
CONTROL_PREFIX = "/_localcloud/"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response with `Content-Type: application/json` (no charset), as the services send."""
    return Response(
        content=json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers=dict(headers or {}),
        media_type=JSON,
    )


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """IBM platform error envelope used by Secrets Manager v2 and Code Engine v2.

    `{"errors":[{"code":..., "message":...}], "status_code":..., "trace":...}`; the SDK core's
    ApiException reads `errors[0].message` into `.message`.
    """
    trace = str(uuid.uuid4())
    body = {
        "errors": [{"code": code, "message": message}],
        "status_code": status,
        "trace": trace,
    }
    merged = {"X-Correlation-Id": trace, **dict(headers or {})}
    return json_response(body, status, merged)


def iam_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """IAM's own error shape; the SDK core's ApiException reads `errorMessage` into `.message`."""
    return json_response(
        {
            "errorCode": code,
            "errorMessage": message,
            "context": {"requestId": secrets.token_hex(8)},
        },
        status,
        headers,
    )


class BadRequest(Exception):
    """Raised by handlers to answer 400 (or another status) with the IBM error envelope."""

    def __init__(self, message: str, *, status: int = 400, code: str = "bad_request") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message)


async def read_json_object(request: Request, media_type: str = JSON) -> dict[str, Any]:
    """Parse a JSON object body strictly: JSON content type, valid JSON, an object at the top.

    Unknown for the real services: whether they accept a body without a JSON content type.
    We choose the stricter answer, 415.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != media_type:
        raise BadRequest(
            f"Content-Type must be {media_type}, got {ctype or 'none'}",
            status=415,
            code="unsupported_media_type",
        )
    raw = await request.body()
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise BadRequest("request body is not valid UTF-8") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths (404) and methods (405) in IBM's error envelope, not Starlette's plain text."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return error_response(exc.status_code, code, message, exc.headers)


EXCEPTION_HANDLERS = {BadRequest: _bad_request, HTTPException: _http_error}
