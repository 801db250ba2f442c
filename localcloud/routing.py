"""Starlette's router with the routes that cannot match skipped: the same answers, fewer regexes.

Starlette's `Router.app` (starlette/routing.py) tries every route's regex in order. A route whose
path begins with a literal first segment (`/api/...`, `/v2/...`, `/codeengine/{region}`) cannot
match a path whose first segment differs, so each path is tried only against the routes of its
first segment and those that begin with a parameter, in the original order: first match, partial
matches (405) and the slash redirect are Starlette's own.
"""

from __future__ import annotations

from starlette._utils import get_route_path  # what Starlette's own Router matches on
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send


class SegmentRouter(Router):
    def __init__(self, routes: list[BaseRoute]) -> None:
        super().__init__(routes)
        keyed = [(route, _first_segment(route)) for route in self.routes]
        self._anywhere = [route for route, key in keyed if key is None]
        self._by_segment = {
            segment: [route for route, key in keyed if key in (segment, None)]
            for segment in {key for _, key in keyed if key is not None}
        }

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)
        segment = get_route_path(scope).split("/", 2)[1:2]
        candidates = self._by_segment.get(segment[0] if segment else "", self._anywhere)
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL:
                break  # Starlette takes the first partial match unless a later route is full
        await super().app(scope, receive, send)  # partial, redirect, 404: as Starlette does


def _first_segment(route: BaseRoute) -> str | None:
    """The literal first path segment every match of `route` has, or None when unknown."""
    if not isinstance(route, Route | Mount):
        return None
    path = route.path
    literal = path.split("{", 1)[0]
    if "{" in path and literal.count("/") < 2:
        return None  # the first segment is (or holds) a parameter
    return literal.split("/", 2)[1] if literal.startswith("/") else None
