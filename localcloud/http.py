"""Response helpers shared by every emulated service: IBM's JSON error envelope and JSON bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

JSON = "application/json"


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
