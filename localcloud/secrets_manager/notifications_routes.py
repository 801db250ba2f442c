"""Secrets Manager's notifications registration API, `/api/v2/notifications/registration`
(`notifications.py` has the behaviour and its sources)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.http import BadRequest, json_response, read_json_object
from localcloud.secrets_manager.notifications import Notifications

API = "/api/v2/notifications/registration"
FIELDS = frozenset(
    {
        "event_notifications_instance_crn",
        "event_notifications_source_name",
        "event_notifications_source_description",
    }
)


def notifications_routes(notifications: Notifications) -> list[BaseRoute]:
    handlers = _Handlers(notifications)
    return [
        Route(API, handlers.registration, methods=["GET", "POST", "DELETE"]),
        Route(f"{API}/test", handlers.test, methods=["GET"]),
    ]


class _Handlers:
    def __init__(self, notifications: Notifications) -> None:
        self.notifications = notifications

    async def registration(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response(self.notifications.get().to_dict())
        if request.method == "DELETE":
            self.notifications.delete()
            return Response(status_code=204)
        body = await read_json_object(request)
        unknown = sorted(set(body) - FIELDS)
        if unknown:
            raise BadRequest(f"Invalid request body: unknown fields {unknown}")
        crn = _text(body, "event_notifications_instance_crn", 1, 512)
        name = _text(body, "event_notifications_source_name", 1, 256)
        description = _text(body, "event_notifications_source_description", 0, 1024)
        registration = self.notifications.register(crn, name, description)
        return json_response(registration.to_dict(), 201)

    async def test(self, request: Request) -> Response:
        self.notifications.send_test()
        return Response(status_code=204)


def _text(body: dict[str, Any], key: str, minimum: int, maximum: int) -> str:
    value = body.get(key, "" if minimum == 0 else None)
    if not isinstance(value, str) or not minimum <= len(value) <= maximum:
        raise BadRequest(f"Invalid {key}: must be a string of {minimum} to {maximum} characters")
    return value
