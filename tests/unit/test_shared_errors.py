import datetime as dt

import pytest
import requests
from ibm_cloud_sdk_core import ApiException

from shared.errors import (
    CertsyncError,
    ConfigError,
    ConflictError,
    NotFoundError,
    PermanentError,
    QuotaExceededError,
    RetryableError,
    classify_status,
    from_api_exception,
    from_transport_error,
    parse_retry_after,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
WHAT = "get Code Engine secret 'tls-web'"


def response(
    status: int = 503,
    body: bytes = b'{"errors":[{"code":"x","message":"busy"}]}',
    headers: dict[str, str] | None = None,
) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r.headers.update(headers if headers is not None else {"Retry-After": "7"})
    r._content = body
    return r


def api_exception(status: int = 503, **changes: object) -> ApiException:
    return ApiException(status, http_response=response(status, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, PermanentError),
        (401, PermanentError),
        (403, PermanentError),
        (404, NotFoundError),
        (405, PermanentError),
        (408, RetryableError),
        (409, ConflictError),
        (410, PermanentError),
        (412, ConflictError),
        (422, PermanentError),
        (429, RetryableError),
        (500, RetryableError),
        (501, RetryableError),
        (502, RetryableError),
        (503, RetryableError),
        (504, RetryableError),
    ],
)
def test_classify_status(status: int, expected: type[CertsyncError]) -> None:
    assert classify_status(status) is expected


def test_not_found_is_permanent() -> None:
    assert issubclass(NotFoundError, PermanentError)


def test_config_error_keeps_every_problem() -> None:
    error = ConfigError(["A is not set.", "B has value 'x'."])
    assert error.problems == ["A is not set.", "B has value 'x'."]
    assert str(error) == "A is not set.; B has value 'x'."


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("Sun, 01 Mar 2026 12:00:30 GMT", 30.0),
        ("Sun, 01 Mar 2026 11:59:00 GMT", 0.0),  # already past: no wait, never negative
    ],
)
def test_parse_retry_after(value: str, expected: float) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "-5", "1.5", "²", "Sun, 99 Xyz"])
def test_parse_retry_after_garbage_is_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_from_api_exception_retryable() -> None:
    error = from_api_exception(api_exception(503), WHAT)
    assert type(error) is RetryableError
    assert error.status == 503
    assert error.retry_after == 7.0
    assert str(error) == f"{WHAT} failed with HTTP 503: busy"


def test_from_api_exception_without_retry_after() -> None:
    error = from_api_exception(api_exception(429, headers={}), WHAT)
    assert isinstance(error, RetryableError)
    assert error.retry_after is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, PermanentError), (403, PermanentError), (404, NotFoundError)],
)
def test_from_api_exception_permanent(status: int, expected: type[PermanentError]) -> None:
    error = from_api_exception(api_exception(status), WHAT)
    assert type(error) is expected
    assert isinstance(error, PermanentError)
    assert error.status == status
    assert str(error).startswith(f"{WHAT} failed with HTTP {status}")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, b'{"errors":[{"code":"exceeded_quota","message":"the project holds 100 runs"}]}'),
        (403, b'{"errors":[{"code":"forbidden","message":"job run Quota exceeded (limit 100)"}]}'),
        (400, b'{"errors":[{"code":"x","message":"You are limited to 100 job runs per project"}]}'),
        (422, b'{"errors":[{"code":"limit_exceeded","message":"too many job runs"}]}'),
    ],
)
def test_from_api_exception_any_4xx_naming_a_quota_or_limit(status: int, body: bytes) -> None:
    # The status and wording of Code Engine's job-run quota refusal are undocumented.
    error = from_api_exception(api_exception(status, body=body), WHAT)

    assert type(error) is QuotaExceededError
    assert isinstance(error, PermanentError)
    assert error.status == status


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, b'{"errors":[{"code":"forbidden","message":"not authorized"}]}'),
        (403, b"not json"),
        (
            400,
            b'{"errors":[{"code":"request_too_large","message":"The job run is 10241 bytes; '
            b'the maximum size of a job run is 10 KiB"}]}',
        ),
        (400, b'{"errors":[{"code":"bad_request","message":"size limit exceeded"}]}'),
    ],
)
def test_from_api_exception_other_refusals_are_not_quota(status: int, body: bytes) -> None:
    error = from_api_exception(api_exception(status, body=body), WHAT)

    assert type(error) is PermanentError


@pytest.mark.parametrize("status", [409, 412])
def test_from_api_exception_conflict(status: int) -> None:
    error = from_api_exception(api_exception(status), WHAT)
    assert type(error) is ConflictError
    assert error.status == status


def test_from_api_exception_without_response() -> None:
    error = from_api_exception(ApiException(502, message="bad gateway"), WHAT)
    assert isinstance(error, RetryableError)
    assert error.retry_after is None
    assert str(error) == f"{WHAT} failed with HTTP 502: bad gateway"


def test_from_api_exception_without_status_is_retryable() -> None:
    error = from_api_exception(ApiException(0, message="connection reset"), WHAT)
    assert isinstance(error, RetryableError)
    assert error.status is None


def test_from_api_exception_withholds_pem() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----"
    body = ('{"errors":[{"message":"cannot parse ' + pem + '"}]}').encode()
    error = from_api_exception(api_exception(400, body=body), WHAT)
    assert "BEGIN" not in str(error)
    assert "MIIEvQ" not in str(error)
    assert (
        str(error) == f"{WHAT} failed with HTTP 400: [message withheld: it contained PEM material]"
    )


def test_from_api_exception_shortens_long_messages() -> None:
    body = b'{"errors":[{"message":"' + b"x" * 500 + b'"}]}'
    error = from_api_exception(api_exception(400, body=body), WHAT)
    reason = str(error).removeprefix(f"{WHAT} failed with HTTP 400: ")
    assert len(reason) == 200
    assert reason.endswith("…")


def test_from_api_exception_without_message() -> None:
    error = from_api_exception(ApiException(500), WHAT)
    assert str(error) == f"{WHAT} failed with HTTP 500: no message"


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (requests.ConnectionError("refused"), "ConnectionError"),
        (requests.Timeout("read timed out"), "Timeout"),
        (requests.exceptions.ReadTimeout("read timed out"), "ReadTimeout"),
        (requests.exceptions.ChunkedEncodingError("dropped"), "ChunkedEncodingError"),
    ],
)
def test_from_transport_error(exc: requests.RequestException, kind: str) -> None:
    error = from_transport_error(exc, WHAT)
    assert type(error) is RetryableError
    assert error.status is None
    assert error.retry_after is None
    assert str(error) == f"{WHAT} failed: {kind} (no response from the service)"
