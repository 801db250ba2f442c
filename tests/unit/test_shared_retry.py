from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import requests
from ibm_cloud_sdk_core import ApiException
from structlog.testing import capture_logs

from shared.errors import (
    CertsyncError,
    ConflictError,
    NotFoundError,
    PermanentError,
    RetryableError,
)
from shared.retry import RetryPolicy, call_with_retry
from shared.sdk import call_api, call_pages

POLICY = RetryPolicy(attempts=5, total_seconds=60.0, initial_wait=0.5, max_wait=10.0)
WHAT = "get Code Engine secret 'tls-web'"


class Sleeps(list[float]):
    """An injected `sleep` that records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class Flaky:
    """Raises each of `errors` in turn, then returns `result`; counts the calls."""

    def __init__(self, *errors: Exception, result: Any = "ok") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def busy(retry_after: float | None = None) -> RetryableError:
    return RetryableError("busy", status=503, retry_after=retry_after)


def test_retries_retryable_then_succeeds() -> None:
    fn, sleeps = Flaky(busy(), busy()), Sleeps()
    assert call_with_retry(fn, replace(POLICY, sleep=sleeps), operation=WHAT) == "ok"
    assert fn.calls == 3
    assert len(sleeps) == 2


def test_first_success_does_not_sleep() -> None:
    fn, sleeps = Flaky(), Sleeps()
    assert call_with_retry(fn, replace(POLICY, sleep=sleeps), operation=WHAT) == "ok"
    assert fn.calls == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "error",
    [
        PermanentError("forbidden", status=403),
        NotFoundError("gone", status=404),
        ConflictError("changed", status=409),
        ValueError("a bug, not an outage"),
    ],
)
def test_never_retries_other_errors(error: Exception) -> None:
    fn, sleeps = Flaky(error), Sleeps()
    with pytest.raises(type(error)) as info:
        call_with_retry(fn, replace(POLICY, sleep=sleeps), operation=WHAT)
    assert info.value is error
    assert fn.calls == 1
    assert sleeps == []


def test_stops_after_attempts_and_raises_the_last_error_unchanged() -> None:
    errors = [busy() for _ in range(POLICY.attempts)]
    fn, sleeps = Flaky(*errors), Sleeps()
    with pytest.raises(RetryableError) as info:
        call_with_retry(fn, replace(POLICY, sleep=sleeps), operation=WHAT)
    assert info.value is errors[-1]
    assert fn.calls == POLICY.attempts
    assert len(sleeps) == POLICY.attempts - 1


def test_stops_when_the_next_wait_would_pass_the_total_budget() -> None:
    fn, sleeps = Flaky(busy(retry_after=120.0)), Sleeps()
    with pytest.raises(RetryableError):
        call_with_retry(fn, replace(POLICY, sleep=sleeps), operation=WHAT)
    assert fn.calls == 1
    assert sleeps == []


def test_budget_counts_the_injected_sleeps() -> None:
    fn, sleeps = Flaky(*[busy(retry_after=25.0) for _ in range(5)]), Sleeps()
    with pytest.raises(RetryableError):
        call_with_retry(fn, replace(POLICY, sleep=sleeps), operation=WHAT)
    assert sleeps == [25.0, 25.0]  # a third wait would end at 75s, past the 60s budget
    assert fn.calls == 3


def test_honours_retry_after() -> None:
    policy = RetryPolicy(attempts=3, total_seconds=60.0, initial_wait=0.5, max_wait=1.0)
    fn, sleeps = Flaky(busy(retry_after=7.0), busy(retry_after=3.0)), Sleeps()
    call_with_retry(fn, replace(policy, sleep=sleeps), operation=WHAT)
    assert sleeps == [7.0, 3.0]


def test_backoff_is_bounded_by_max_wait() -> None:
    policy = RetryPolicy(attempts=12, total_seconds=1000.0, initial_wait=0.5, max_wait=2.0)
    fn, sleeps = Flaky(*[busy() for _ in range(11)]), Sleeps()
    call_with_retry(fn, replace(policy, sleep=sleeps), operation=WHAT)
    assert len(sleeps) == 11
    assert all(0.0 <= wait <= 2.0 for wait in sleeps)


def test_each_retry_is_logged() -> None:
    fn, sleeps = Flaky(busy(retry_after=4.0)), Sleeps()
    with capture_logs() as logs:
        call_with_retry(fn, replace(POLICY, sleep=sleeps), operation=WHAT)
    assert logs == [
        {
            "event": "call_retried",
            "log_level": "warning",
            "operation": WHAT,
            "attempt": 1,
            "wait_seconds": 4.0,
            "status": 503,
            "error": "busy",
        }
    ]


# shared.sdk.call_api: one SDK call, its exceptions translated, under the retry layer.


class Detailed:
    """What an SDK method returns: a DetailedResponse-like object."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def get_result(self) -> Any:
        return self.result


def api_exception(status: int, retry_after: str | None = None) -> ApiException:
    r = requests.Response()
    r.status_code = status
    if retry_after is not None:
        r.headers["Retry-After"] = retry_after
    r._content = b'{"errors":[{"code":"x","message":"busy"}]}'
    return ApiException(status, http_response=r)


def call(request: Callable[[], Any], sleeps: Sleeps | None = None) -> dict[str, Any]:
    policy = replace(POLICY, sleep=Sleeps() if sleeps is None else sleeps)
    return call_api(request, what=WHAT, policy=policy)


def test_call_api_returns_the_json_result() -> None:
    assert call(Flaky(result=Detailed({"name": "tls-web"}))) == {"name": "tls-web"}


def test_call_api_empty_result_is_an_empty_dict() -> None:
    assert call(Flaky(result=Detailed(None))) == {}


def test_call_api_retries_a_503_with_its_retry_after() -> None:
    request, sleeps = Flaky(api_exception(503, "7"), result=Detailed({"ok": True})), Sleeps()
    assert call(request, sleeps) == {"ok": True}
    assert request.calls == 2
    assert sleeps == [7.0]


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("refused"),
        requests.Timeout("timed out"),
        requests.exceptions.ChunkedEncodingError("dropped"),
    ],
)
def test_call_api_retries_transport_errors(exc: requests.RequestException) -> None:
    request, sleeps = Flaky(exc, result=Detailed({"ok": True})), Sleeps()
    assert call(request, sleeps) == {"ok": True}
    assert request.calls == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, PermanentError), (404, NotFoundError), (409, ConflictError), (412, ConflictError)],
)
def test_call_api_translates_without_retrying(status: int, expected: type[CertsyncError]) -> None:
    request, sleeps = Flaky(api_exception(status)), Sleeps()
    with pytest.raises(expected) as info:
        call(request, sleeps)
    assert type(info.value) is expected
    assert str(info.value) == f"{WHAT} failed with HTTP {status}: busy"
    assert info.value.__cause__ is None
    assert request.calls == 1
    assert sleeps == []


def test_call_api_gives_up_with_our_error() -> None:
    request = Flaky(*[api_exception(502) for _ in range(POLICY.attempts)])
    with pytest.raises(RetryableError) as info:
        call(request)
    assert info.value.status == 502
    assert request.calls == POLICY.attempts


# shared.sdk.call_pages: an SDK pager's pages, each under the retry layer.


class Pages:
    """An SDK pager over `pages`; the next page is asked for only after one arrived."""

    def __init__(self, pages: list[list[dict[str, Any]]], *errors: Exception) -> None:
        self.pages, self.errors, self.asked = pages, list(errors), 0

    def has_next(self) -> bool:
        return bool(self.pages)

    def get_next(self) -> list[dict[str, Any]]:
        self.asked += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.pages.pop(0)


def test_call_pages_reads_every_page_and_retries_one_without_skipping_it() -> None:
    pager, sleeps = Pages([[{"id": "1"}, {"id": "2"}], [{"id": "3"}]], api_exception(503)), Sleeps()
    items = call_pages(pager, what=WHAT, policy=replace(POLICY, sleep=sleeps))
    assert items == [{"id": "1"}, {"id": "2"}, {"id": "3"}]
    assert (pager.asked, len(sleeps)) == (3, 1)


def test_call_pages_translates_a_refused_page() -> None:
    with pytest.raises(PermanentError, match=f"^{WHAT} failed with HTTP 403"):
        call_pages(Pages([[]], api_exception(403)), what=WHAT, policy=POLICY)
