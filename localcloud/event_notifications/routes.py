"""Event Notifications' HTTP API: the send-notifications API here, `POST /event-notifications/v1/
instances/{id}/notifications` (bearer token; see send.py), its admin API in `admin_routes.py`, and
the emulator's control plane in `control_routes.py`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.event_notifications.admin_routes import admin_routes
from localcloud.event_notifications.control_routes import control_routes
from localcloud.event_notifications.send import API, not_found, read_notification
from localcloud.event_notifications.service import EventNotifications
from localcloud.http import json_response


def routes(en: EventNotifications) -> list[BaseRoute]:
    return [
        Route(f"{API}/v1/instances/{{instance_id}}/notifications", _Api(en).send, methods=["POST"]),
        *admin_routes(en),
        *control_routes(en),
    ]


class _Api:
    def __init__(self, en: EventNotifications) -> None:
        self.en = en

    async def send(self, request: Request) -> Response:
        """202 with a `NotificationResponse`, as the SDK's integration test asserts."""
        instance_id = request.path_params["instance_id"]
        if instance_id != self.en.site.identity.en_instance_id:
            raise not_found("Instance", instance_id)
        notification_id = self.en.publish_notification(await read_notification(request))
        return json_response({"notification_id": notification_id}, 202)
