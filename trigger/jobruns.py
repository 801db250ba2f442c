"""Code Engine job runs behind the calls the trigger makes; the SDK stays on this side.

The SDK builds and authenticates each request (`CodeEngineV2.create_job_run`, through
`BaseService.prepare_request`, which asks the authenticator for the bearer token); the event
loop sends it (`trigger.http`), so a submission costs no worker thread and little CPU. Answers are
turned into the SDK's own `ApiException` (its message extraction, its headers) and from there into
our errors by the one status table (`shared.errors`), exactly as for a blocking call.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import functools
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from ibm_cloud_sdk_core import ApiException
from ibm_code_engine_sdk.code_engine_v2 import CodeEngineV2, EnvVarPrototype
from requests.structures import CaseInsensitiveDict

from shared.errors import (
    CertsyncError,
    ConflictError,
    QuotaExceededError,
    RetryableError,
    from_api_exception,
    from_transport_error,
)
from shared.retry import RetryPolicy, call_with_retry_async
from shared.runs import RunHistory
from trigger.http import Response, TransportError
from trigger.runs import NOTIFICATION_VARIABLE

# A token this close to its refresh time is fetched in a worker thread, not on the loop: the SDK's
# token managers ask IAM with a blocking `requests` call when a token is due for refresh.
TOKEN_MARGIN_SECONDS = 30


@dataclass(frozen=True)
class Submitted:
    name: str
    attempts: int = 1


@dataclass(frozen=True)
class AlreadyExists:
    """A run with this name exists: an earlier delivery of the same notification submitted it."""

    name: str
    attempts: int = 1


class JobRuns(Protocol):
    async def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        """Start run `name` of the job with the notification (retrying transient failures);
        raise a `CertsyncError` when it cannot be done."""
        ...


class Transport(Protocol):
    async def send(self, request: Mapping[str, Any]) -> Response:
        """Send a request `prepare_request` built; raise `TransportError` without an answer."""
        ...


class CodeEngineJobRuns:
    """`JobRuns` over the Code Engine SDK and `transport`, retried under `policy`.

    When the project's job-run quota is full, the job's own finished runs beyond the retention
    are deleted (`history`, blocking, in a worker thread: it is rare; its calls are part of this
    attempt and not retried on their own) and the submission is tried again under the same
    policy; runs of other jobs are never touched.
    """

    def __init__(
        self,
        client: CodeEngineV2,
        project_id: str,
        job_name: str,
        *,
        transport: Transport,
        policy: RetryPolicy,
        history: RunHistory,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._builder = request_builder(client)
        self._project_id = project_id
        self._job_name = job_name
        self._transport = transport
        self._policy = policy
        self._history = history
        self._clock = clock
        self._sleep = sleep

    async def submit(self, name: str, notification_json: str) -> Submitted | AlreadyExists:
        attempts = 0

        async def attempt() -> Submitted | AlreadyExists:
            nonlocal attempts
            attempts += 1
            return await self._create(name, notification_json, attempts)

        what = f"create job run {name!r} of job {self._job_name!r}"
        return await call_with_retry_async(attempt, self._policy, operation=what, sleep=self._sleep)

    async def _create(
        self, name: str, notification_json: str, attempts: int
    ) -> Submitted | AlreadyExists:
        what = f"create job run {name!r} of job {self._job_name!r}"
        variable = EnvVarPrototype(
            type="literal", name=NOTIFICATION_VARIABLE, value=notification_json
        )
        build = functools.partial(
            self._builder.create_job_run,
            self._project_id,
            job_name=self._job_name,
            name=name,
            run_env_variables=[variable],
        )
        try:
            request = await self._prepare(build, what)
            await self._send(request, what)
        except ConflictError as exc:
            if exc.status == 409:
                return AlreadyExists(name, attempts)
            raise
        except QuotaExceededError as exc:
            raise await self._make_room(exc) from None
        return Submitted(name, attempts)

    async def _prepare(self, build: Callable[[], Any], what: str) -> Mapping[str, Any]:
        try:
            if token_is_fresh(self._builder):
                return build()  # type: ignore[no-any-return]
            return await asyncio.to_thread(build)
        except ApiException as exc:  # the token request refused
            raise from_api_exception(exc, what) from None
        except requests.RequestException as exc:  # the token request got no answer
            raise from_transport_error(exc, what) from None

    async def _send(self, request: Mapping[str, Any], what: str) -> None:
        try:
            response = await self._transport.send(request)
        except TransportError as exc:
            raise RetryableError(f"{what} failed: {exc} (no response from the service)") from None
        if not 200 <= response.status <= 299:
            raise from_api_exception(api_exception(response), what)

    async def _make_room(self, refused: QuotaExceededError) -> CertsyncError:
        try:
            pruned = await asyncio.to_thread(self._history.prune, self._clock())
        except CertsyncError as exc:
            return RetryableError(f"{refused}; deleting finished job runs failed too: {exc}")
        return RetryableError(
            f"{refused}; deleted {len(pruned.deleted)} finished run(s) of job "
            f"{self._job_name!r} to make room",
            status=refused.status,
        )


def request_builder(client: CodeEngineV2) -> CodeEngineV2:
    """A shallow copy of `client` whose `send` returns the request `prepare_request` built and
    authenticated instead of sending it. It shares the client's authenticator (so one token
    cache), service URL, version and headers; `client` itself is unchanged and still sends
    (the run-history calls use it)."""
    builder = copy.copy(client)
    builder.send = lambda request, **kwargs: request
    return builder


def token_is_fresh(client: CodeEngineV2, now: Callable[[], float] = time.time) -> bool:
    """Whether authenticating needs no token request: the token managers' `access_token`,
    `refresh_time` and `expire_time` (ibm_cloud_sdk_core/token_managers/token_manager.py) say
    the token is neither expired nor due for refresh. An authenticator without a token manager
    (bearer token, none) never makes a request."""
    manager = getattr(client.authenticator, "token_manager", None)
    if manager is None:
        return True
    soon = now() + TOKEN_MARGIN_SECONDS
    return bool(manager.access_token) and min(manager.refresh_time, manager.expire_time) > soon


def api_exception(response: Response) -> ApiException:
    """The `ApiException` the SDK's `send` raises for this answer (same message extraction)."""
    http_response = requests.Response()
    http_response.status_code = response.status
    http_response._content = response.body
    http_response.headers = CaseInsensitiveDict(response.headers)
    http_response.encoding = "utf-8"
    return ApiException(response.status, http_response=http_response)
