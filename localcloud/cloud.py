"""The local IBM Cloud: one Starlette app over real HTTP on loopback, holding every service's state.

All services share one origin; their paths do not overlap, as on the real hosts:
IAM `/identity/token`, Secrets Manager `/api/v2/...`, Code Engine `/v2/projects/{id}/...`.
The emulator's own control plane lives under `/_fakecloud/` (faults, request log, seeding).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.code_engine import CodeEngine
from localcloud.event_notifications import EventNotifications
from localcloud.faults import Fault, Faults, RequestLog
from localcloud.http import BadRequest, error_response, json_response, read_json_object
from localcloud.iam import Iam
from localcloud.middleware import CloudMiddleware
from localcloud.secrets_manager import SecretsManager


@dataclass(frozen=True)
class Identity:
    """Who and where this emulated account is."""

    account_id: str = "b0c0ffee0000000000000000000000a1"
    region: str = "us-south"
    project_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sm_instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def sm_instance_crn(self) -> str:
        return (
            f"crn:v1:bluemix:public:secrets-manager:{self.region}:a/{self.account_id}:"
            f"{self.sm_instance_id}::"
        )

    def secret_crn(self, secret_id: str) -> str:
        return (
            f"crn:v1:bluemix:public:secrets-manager:{self.region}:a/{self.account_id}:"
            f"{self.sm_instance_id}:secret:{secret_id}"
        )


class LocalCloud:
    """Stateful emulator. `start()` serves it from a background thread; use as a context manager."""

    def __init__(self, identity: Identity | None = None) -> None:
        self.identity = identity or Identity()
        self.lock = threading.RLock()
        self.iam = Iam()
        self.faults = Faults()
        self.requests = RequestLog()
        self.secrets_manager = SecretsManager(self)
        self.code_engine = CodeEngine(self)
        self.event_notifications = EventNotifications(self)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.host = "127.0.0.1"
        self.port = 0

    # -- URLs a client needs -------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def iam_url(self) -> str:
        return self.url

    @property
    def secrets_manager_url(self) -> str:
        return self.url

    @property
    def code_engine_url(self) -> str:
        return f"{self.url}/v2"

    # -- the app -------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            *self.iam.routes(),
            *self.secrets_manager.routes(),
            *self.code_engine.routes(),
            *self.event_notifications.routes(),
            *self._control_routes(),
        ]

    def app(self) -> Starlette:
        handlers = {BadRequest: _bad_request, HTTPException: _http_error}
        app = Starlette(routes=self.routes(), exception_handlers=handlers)
        app.add_middleware(CloudMiddleware, cloud=self)
        return app

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> LocalCloud:
        # uvicorn binds the socket itself: handing it a pre-bound socket loses TCP_NODELAY on the
        # accepted connections, and every response then waits ~40 ms for a delayed ACK.
        config = uvicorn.Config(
            self.app(),
            host=host,
            port=port,
            log_level="critical",
            lifespan="off",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True, name="fakecloud")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake cloud did not start")
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.host, self.port = sockets[0].getsockname()[:2]
        return self

    def stop(self) -> None:
        self.code_engine.shutdown()
        self.event_notifications.shutdown()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LocalCloud:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control plane -------------------------------------------------------------------
    def _control_routes(self) -> list[BaseRoute]:
        return [
            Route("/_fakecloud/health", self._health, methods=["GET"]),
            Route("/_fakecloud/faults", self._faults, methods=["POST", "DELETE"]),
            Route("/_fakecloud/latency", self._latency, methods=["PUT"]),
            Route("/_fakecloud/requests", self._requests, methods=["GET", "DELETE"]),
            Route("/_fakecloud/iam/apikeys", self._apikeys, methods=["POST"]),
            Route("/_fakecloud/iam/trusted_profiles", self._profiles, methods=["POST"]),
        ]

    async def _health(self, request: Request) -> Response:
        return json_response(
            {
                "status": "ok",
                "project_id": self.identity.project_id,
                "region": self.identity.region,
                "sm_instance_crn": self.identity.sm_instance_crn,
            }
        )

    async def _faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
            return Response(status_code=204)
        body = await read_json_object(request)
        fault = self.faults.add(Fault.from_dict(body))
        return json_response({"path": fault.path, "times": fault.times}, 201)

    async def _latency(self, request: Request) -> Response:
        body = await read_json_object(request)
        self.faults.latency_all = float(body.get("seconds", 0.0))
        return json_response({"seconds": self.faults.latency_all})

    async def _requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.requests.clear()
            return Response(status_code=204)
        entries = self.requests.entries(
            request.query_params.get("method"), request.query_params.get("path")
        )
        return json_response({"requests": [e.to_dict() for e in entries]})

    async def _apikeys(self, request: Request) -> Response:
        body = await read_json_object(request)
        self.iam.add_apikey(str(body["apikey"]))
        return Response(status_code=201)

    async def _profiles(self, request: Request) -> Response:
        body: dict[str, Any] = await read_json_object(request)
        self.iam.add_trusted_profile(str(body["cr_token"]), str(body["profile_name"]))
        return Response(status_code=201)


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths (404) and methods (405) in IBM's error envelope, not Starlette's plain text."""
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return error_response(exc.status_code, code, message, exc.headers)
