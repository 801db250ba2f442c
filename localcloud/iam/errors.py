"""The error bodies of IAM's admin APIs, which differ from the token endpoint's (`http.iam_error`).

- IAM Identity (`/v1/profiles`, `/v1/apikeys`) answers an `ExceptionResponse`
  (`ibm_platform_services.iam_identity_v1.ExceptionResponse`): `context`, `status_code` (a string
  there), `errors: [{code, message_code, message, details?}]`, `trace`. The SDK core's
  ApiException reads `errors[0].message` into `.message`.
- IAM Policy Management (`/v1/policies`) answers `{trace, errors: [ErrorObject], status_code}`
  (`iam_policy_management_v1.ErrorObject`: `code`, `message`, `details.conflicts_with`,
  `more_info`), the platform envelope that `http.error_response` writes.

Unknown for real: the per-case `code`/`message_code` strings are not published; ours are
descriptive codes with message codes in IAM's `BXNIM....E` format.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from localcloud.http import error_response, json_response


class IdentityError(Exception):
    """Raised by the IAM Identity API's handlers; answered as an `ExceptionResponse`."""

    def __init__(self, status: int, code: str, message_code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message_code, self.message = (
            status,
            code,
            message_code,
            message,
        )

    def response(self, operation: str = "") -> Response:
        trace = uuid.uuid4().hex
        error = {"code": self.code, "message_code": self.message_code, "message": self.message}
        body = {
            "context": {"transaction_id": trace, "operation": operation},
            "status_code": str(self.status),
            "errors": [error],
            "trace": trace,
        }
        return json_response(body, self.status, {"Transaction-Id": trace})


def profile_not_found(profile_id: str) -> IdentityError:
    return IdentityError(
        404, "not_found", "BXNIM0513E", f"Trusted profile '{profile_id[:80]}' not found."
    )


def invalid(message: str) -> IdentityError:
    return IdentityError(400, "invalid_request", "BXNIM0109E", message)


class PolicyError(Exception):
    """Raised by the Policy Management API's handlers; answered in its `ErrorObject` envelope."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details

    def response(self) -> Response:
        if self.details is None:
            return error_response(self.status, self.code, self.message)
        trace = str(uuid.uuid4())
        error = {"code": self.code, "message": self.message, "details": self.details}
        body = {"trace": trace, "errors": [error], "status_code": self.status}
        return json_response(body, self.status, {"X-Correlation-Id": trace})
