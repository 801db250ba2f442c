"""`SegmentRouter` answers as Starlette's `Router` does: first match in order, 405 for a path that
matches with another method, 404 in the IBM envelope, routes under a mount, routes that begin
with a parameter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.testclient import TestClient

from localcloud.http import EXCEPTION_HANDLERS
from localcloud.routing import SegmentRouter


def _named(name: str) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{name} {sorted(request.path_params.items())}")

    return endpoint


def _routes() -> list[BaseRoute]:
    inner = [Route("/v2/items/{id}", _named("inner"), methods=["GET"])]
    return [
        Route("/v2/items", _named("list"), methods=["GET"]),
        Route("/v2/items/{id}", _named("item"), methods=["GET", "DELETE"]),
        Route("/v2/items/special", _named("special"), methods=["GET", "POST"]),
        Route("/{anything}/items", _named("anywhere"), methods=["GET"]),
        Route("/api/v2/things", _named("things"), methods=["POST"]),
        Mount("/region/{region}", routes=inner),
    ]


def _client(router: Router) -> TestClient:
    app = Starlette(exception_handlers=EXCEPTION_HANDLERS)
    app.router = router
    return TestClient(app)


CASES = [
    ("GET", "/v2/items"),
    ("GET", "/v2/items/1"),
    ("GET", "/v2/items/special"),  # the earlier route wins
    ("POST", "/v2/items/special"),  # a partial match first, a full one later
    ("PUT", "/v2/items/1"),  # 405
    ("GET", "/v2/items/"),  # slash redirect
    ("GET", "/v3/items"),  # a route that begins with a parameter
    ("GET", "/api/v2/things"),  # 405
    ("GET", "/region/eu-de/v2/items/7"),
    ("GET", "/region/eu-de/v2/other"),  # 404 under the mount
    ("GET", "/nowhere"),  # 404
    ("GET", "/"),
]


@pytest.mark.parametrize(("method", "path"), CASES)
def test_answers_as_starlettes_router(method: str, path: str) -> None:
    ours = _client(SegmentRouter(_routes())).request(method, path, follow_redirects=False)
    theirs = _client(Router(_routes())).request(method, path, follow_redirects=False)
    assert (ours.status_code, ours.headers.get("location"), ours.text.split('"trace"')[0]) == (
        theirs.status_code,
        theirs.headers.get("location"),
        theirs.text.split('"trace"')[0],
    )
