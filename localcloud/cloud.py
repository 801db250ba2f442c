"""The local IBM Cloud: every service's state behind one Starlette app, over real HTTP on loopback.

This is where the services meet. All share one origin; their paths do not overlap, as on the real
hosts: IAM `/identity/token` (and its admin APIs `/v1/profiles`, `/v1/apikeys/details`,
`/v1/policies`), Secrets Manager `/api/v2/...`, Code Engine `/v2/projects/{id}/...`,
Event Notifications `/event-notifications/v1/instances/{id}/...`, the Resource Controller
`/v2/resource_instances/{id}`; Code Engine's other regions
`/codeengine/<region>/v2/...` (`code_engine_url_for`).
Code Engine's router (custom domains over TLS) listens on its own port, `router_port`.
Each service package gives its routes (`routes(service)`, laid out as `localcloud/__init__.py`
says); the emulator's own control plane (seeding, event wiring) lives under `/_localcloud/`.
Services that call each other (Secrets Manager publishes to Event Notifications, whose job
destination submits Code Engine job runs) are wired here, looked up at each call so that a test
may replace one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from threading import Thread

import uvicorn
from starlette.applications import Starlette

from localcloud import code_engine, event_notifications, iam, resource_controller, secrets_manager
from localcloud.account import Identity
from localcloud.faults import Faults, RequestLog
from localcloud.http import EXCEPTION_HANDLERS
from localcloud.middleware import CloudMiddleware


class LocalCloud:
    """Start it with `with LocalCloud() as cloud:` (or `start()`/`stop()`): it serves from a
    background thread of this process. `python -m localcloud` serves one on its own."""

    def __init__(
        self, identity: Identity | None = None, *, authorization_delay: float = 0.0
    ) -> None:
        """`authorization_delay`: seconds before a new IAM service authorization takes effect
        (on IBM Cloud up to about half a minute; see localcloud/iam/policies.py)."""
        self.identity = identity or Identity()
        self.faults = Faults()
        self.requests = RequestLog()
        self.iam = iam.Iam(identity=self.identity)
        self.iam.policies.propagation_seconds = authorization_delay
        self.resource_controller = resource_controller.ResourceController(self)
        self.secrets_manager = secrets_manager.SecretsManager(
            self, events=lambda: self.event_notifications, authorized=self._authorized
        )
        self.code_engine = code_engine.CodeEngine(self)
        self.event_notifications = event_notifications.EventNotifications(
            self, job_runs=lambda: self.code_engine.job_runs, authorized=self._authorized
        )
        self._server: _Server | None = None
        self._thread: Thread | None = None
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
    def iam_identity_url(self) -> str:
        """The service URL for the SDK's `IamIdentityV1` (the real one: https://iam.cloud.ibm.com)."""
        return self.url

    @property
    def iam_policy_url(self) -> str:
        """The service URL for the SDK's `IamPolicyManagementV1` (IAM's host too)."""
        return self.url

    @property
    def resource_controller_url(self) -> str:
        """The service URL for the SDK's `ResourceControllerV2` (the real one:
        https://resource-controller.cloud.ibm.com)."""
        return self.url

    @property
    def secrets_manager_url(self) -> str:
        return self.url

    @property
    def code_engine_url(self) -> str:
        return self.code_engine.api_url

    def code_engine_url_for(self, region: str) -> str:
        """A region's Code Engine API base (`.../v2`; `code_engine_url` for the default region,
        `/codeengine/<region>/v2` on this origin for any other): what `CERTSYNC_CODE_ENGINE_URLS`
        maps the region to. Projects are added with `code_engine.add_project(name, region=...)`."""
        return self.code_engine.api_url_for(region)

    @property
    def event_notifications_url(self) -> str:
        """The service URL for the SDK's `EventNotificationsV1` (instance: `en_instance_id`)."""
        return self.event_notifications.api_url

    @property
    def router_port(self) -> int:
        """The Code Engine router's TLS port on `host` (custom domains, by SNI)."""
        return self.code_engine.router.port

    def _authorized(self, *link: str) -> bool:
        """IAM's service-to-service check, looked up at each call (a test may replace IAM)."""
        return self.iam.authorized(*link)

    # -- the app -------------------------------------------------------------------------
    def app(self) -> Starlette:
        routes = [
            *iam.routes(self.iam),
            *secrets_manager.routes(self.secrets_manager),
            *code_engine.routes(self.code_engine),
            *event_notifications.routes(self.event_notifications),
            *resource_controller.routes(self.resource_controller),
        ]
        app = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)
        app.add_middleware(
            CloudMiddleware,
            faults=self.faults,
            requests=self.requests,
            verify=self.iam.verify,
            authorize=iam.authorizer(self.iam),
        )
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
            http="h11",  # what the lock files install, chosen explicitly as the trigger's is
        )
        self._server = _Server(config)
        self._thread = Thread(target=self._server.run, daemon=True, name="localcloud")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the local IBM Cloud did not start")
            time.sleep(0.01)
        sockets = self._server.servers[0].sockets
        self.host, self.port = sockets[0].getsockname()[:2]
        self.code_engine.start(self.host)  # every project's router
        return self

    def stop(self) -> None:
        self.code_engine.shutdown()
        self.event_notifications.shutdown()
        if self._server is not None:
            self._server.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LocalCloud:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(uvicorn.Server):
    """uvicorn's server, stopped at once on request instead of at its next 0.1 s tick (every test
    starts and stops a cloud, so the tick added up)."""

    _loop: asyncio.AbstractEventLoop | None = None
    _stopping: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), 0.1)

    def request_stop(self) -> None:
        self.should_exit = True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(stopping.set)
