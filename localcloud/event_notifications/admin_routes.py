"""Event Notifications' admin API under `/event-notifications/v1/instances/{instance_id}/`, as the
SDK's `EventNotificationsV1` calls it: sources, topics, destinations (form data, see forms.py),
destination tests, subscriptions. Statuses as the SDK's integration test asserts them
(IBM/event-notifications-python-admin-sdk `test/integration/test_event_notifications_v1.py`):
creates 201, reads and updates 200, deletes 204, a webhook test 202, other tests 200.

Destinations accepted: `webhook` (`DestinationConfigOneOfWebhookDestinationConfig`: url, verb
get/post/put/patch, custom_headers, sensitive_headers) and `ibmce`
(`DestinationConfigOneOfCodeEngineDestinationConfig`: type `application` with url, verb get/post
and headers, or type `job` with project_crn and job_name; `en-destination-codeengine.md`).

Unknown, and the stricter choice made here:
- Other destination types answer 400 (not emulated).
- A job destination's `project_crn` must be this account's Code Engine project (400 otherwise).
- `signing_enabled` is recorded and reported, but deliveries are not signed.
- Unknown ids in a body (a topic's source, a subscription's topic or destination) answer 400.
- A source id in the path outside the form `en-cli.md` gives for `source --id` (1 to 100
  characters of `[a-zA-Z0-9-:_]`) answers 404: a service source's id is its instance CRN
  (`en-map-notification-payload.md`), longer than that and with a `/`, so it cannot be read by id;
  list the sources instead.
- `replace_topic` with `sources: []` answers 400. `en-cli.md` (topic-replace/topic-update): the
  sources given are added, "Sources already attached to the topic cannot be replaced or updated
  — they can only be deleted and re-added"; no way to remove them by an empty replace is
  documented.
- A rule's `notification_filter` sent as JSON `null` answers 400: the API takes a string
  (`Rules`); leave the key out for no filter.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.event_notifications import bodies
from localcloud.event_notifications.catalog import Subscription, new_id
from localcloud.event_notifications.delivery import Destination
from localcloud.event_notifications.forms import json_part, read_form
from localcloud.event_notifications.payload import now_rfc3339
from localcloud.event_notifications.send import API, EnError, invalid, not_found
from localcloud.event_notifications.service import EventNotifications
from localcloud.event_notifications.topics import CustomSource
from localcloud.event_notifications.views import Views, page
from localcloud.http import BadRequest, json_response, read_json_object

BASE = f"{API}/v1/instances/{{instance_id}}"
SOURCE_ID = re.compile(r"^[a-zA-Z0-9:_-]{1,100}$")  # en-cli.md, `source --id`
Handler = Callable[[Request], Awaitable[Response]]


def admin_routes(en: EventNotifications) -> list[BaseRoute]:
    api = _Admin(en)

    def route(path: str, handler: Handler, *methods: str) -> Route:
        return Route(f"{BASE}{path}", api.instance(handler), methods=list(methods))

    return [
        route("/sources", api.sources, "GET", "POST"),
        route("/sources/{id:path}", api.source, "GET", "PATCH", "DELETE"),
        route("/topics", api.topics, "GET", "POST"),
        route("/topics/{id}", api.topic, "GET", "PUT", "DELETE"),
        route("/destinations", api.destinations, "GET", "POST"),
        route("/destinations/{id}", api.destination, "GET", "PATCH", "DELETE"),
        route("/destinations/{id}/test", api.test, "POST"),
        route("/subscriptions", api.subscriptions, "GET", "POST"),
        route("/subscriptions/{id}", api.subscription, "GET", "PATCH", "DELETE"),
        route("/notifications/{id}", api.status, "GET"),
    ]


async def _json(request: Request) -> dict[str, Any]:
    try:
        return await read_json_object(request)
    except BadRequest as exc:
        raise EnError(exc.message, status=exc.status, code=exc.code) from None


class _Admin:
    def __init__(self, en: EventNotifications) -> None:
        self.en = en
        self.catalog = en.catalog
        self.views = Views(en.catalog)

    def instance(self, handler: Handler) -> Handler:
        async def checked(request: Request) -> Response:
            instance_id = request.path_params["instance_id"]
            if instance_id != self.en.site.identity.en_instance_id:
                raise not_found("Instance", instance_id)
            return await handler(request)

        return checked

    def _list(self, request: Request, key: str, items: list[Any], render: Any) -> Response:
        body = page(request, key=key, items=items, name=lambda i: i.name, render=render)
        return json_response(body)

    # -- sources -------------------------------------------------------------------------------
    async def sources(self, request: Request) -> Response:
        if request.method == "GET":
            items = list(self.catalog.sources.values())
            return self._list(request, "sources", items, self._source_item)
        body = await _json(request)
        enabled = bodies.flag(body, "enabled")
        if enabled is None:
            raise invalid("'enabled' is required")
        source = CustomSource.new(
            str(bodies.text(body, "name", required=True)),
            bodies.text(body, "description") or "",
            enabled=enabled,
            store_notifications=bool(bodies.flag(body, "store_notifications")),
        )
        self.catalog.put_source(source)
        return json_response(self.views.source_created(source), 201)

    def _source_item(self, source: CustomSource) -> dict[str, Any]:
        return {k: v for k, v in self.views.source(source).items() if k != "topic_names"}

    async def source(self, request: Request) -> Response:
        source_id = request.path_params["id"]
        if not SOURCE_ID.match(source_id):
            raise not_found("Source", source_id)
        if request.method == "DELETE":
            self.catalog.delete_source(source_id)
            return Response(status_code=204)
        if request.method == "GET":
            return json_response(self.views.source(self.catalog.source(source_id)))
        body = await _json(request)
        changes: dict[str, Any] = {}
        for key in ("name", "description"):
            if (
                value := bodies.text(body, key, required=key == "name" and key in body)
            ) is not None:
                changes[key] = value
        for key in ("enabled", "store_notifications"):
            if (flag := bodies.flag(body, key)) is not None:
                changes[key] = flag
        source = self.catalog.update_source(source_id, changes)
        return json_response(self.views.source(source))

    # -- topics --------------------------------------------------------------------------------
    async def topics(self, request: Request) -> Response:
        if request.method == "GET":
            items = list(self.catalog.topics.values())
            return self._list(request, "topics", items, self.views.topic_item)
        body = await _json(request)
        topic = self.catalog.create_topic(
            str(bodies.text(body, "name", required=True)),
            bodies.text(body, "description") or "",
            bodies.rules(body.get("sources", [])),
        )
        return json_response(self.views.topic_created(topic), 201)

    async def topic(self, request: Request) -> Response:
        topic_id = request.path_params["id"]
        if request.method == "DELETE":
            self.catalog.delete_topic(topic_id)
            return Response(status_code=204)
        if request.method == "GET":
            return json_response(self.views.topic(self.catalog.topic(topic_id)))
        body = await _json(request)
        if body.get("sources") == []:
            raise invalid(
                "'sources' lists the sources to add to the topic and cannot be empty: to change "
                "a source's rules, delete the topic and create it again"
            )
        rules = None if body.get("sources") is None else bodies.rules(body["sources"])
        topic = self.catalog.replace_topic(
            topic_id,
            bodies.text(body, "name", required="name" in body),
            bodies.text(body, "description"),
            rules,
        )
        return json_response(self.views.topic(topic))

    # -- destinations --------------------------------------------------------------------------
    async def destinations(self, request: Request) -> Response:
        if request.method == "GET":
            items = list(self.catalog.destinations.values())
            return self._list(request, "destinations", items, self.views.destination_item)
        fields = await read_form(request)
        name = fields.get("name", "")
        if not name.strip():
            raise invalid("'name' is required")
        config = json_part(fields, "config")
        if config is None:
            raise invalid("'config' is required for this destination type")
        kind = fields.get("type", "")
        start = Destination(new_id(), name, "webhook", description=fields.get("description", ""))
        destination = bodies.configured(start, kind, config, self.en.site.identity)
        destination = dataclasses.replace(
            destination, collect_failed_events=fields.get("collect_failed_events") == "True"
        )
        self.catalog.add_destination(destination)
        return json_response(self.views.destination_created(destination), 201)

    async def destination(self, request: Request) -> Response:
        destination_id = request.path_params["id"]
        if request.method == "DELETE":
            self.catalog.delete_destination(destination_id)
            return Response(status_code=204)
        if request.method == "GET":
            return json_response(self.views.destination(self.catalog.destination(destination_id)))
        fields = await read_form(request)
        config = json_part(fields, "config")
        identity = self.en.site.identity

        def change(old: Destination) -> Destination:
            new = old if config is None else bodies.configured(old, old.api_type, config, identity)
            return dataclasses.replace(
                new,
                name=fields.get("name") or old.name,
                description=fields.get("description", old.description),
                updated_at=now_rfc3339(),
            )

        destination = self.catalog.update_destination(destination_id, change)
        return json_response(self.views.destination(destination))

    async def test(self, request: Request) -> Response:
        destination = self.catalog.destination(request.path_params["id"])
        notification_id, status = self.en.test_destination(destination.id)
        if status is None:
            body = {
                "status": "accepted",
                "notification_id": notification_id,
                "destination_type": destination.api_type,
            }
            return json_response(body, 202)
        if status.status != "success":
            raise invalid(
                f"Test of destination '{destination.id}' failed: "
                f"{status.status_code} {status.status_message}"
            )
        return json_response({"status": status.status})

    async def status(self, request: Request) -> Response:
        return json_response(self.en.notification_status(request.path_params["id"]).to_dict())

    # -- subscriptions -------------------------------------------------------------------------
    async def subscriptions(self, request: Request) -> Response:
        if request.method == "GET":
            items = list(self.catalog.subscriptions.values())
            return self._list(request, "subscriptions", items, self.views.subscription_item)
        body = await _json(request)
        destination_id = str(bodies.text(body, "destination_id", required=True))
        topic_id = str(bodies.text(body, "topic_id", required=True))
        destination = self.catalog.destinations.get(destination_id)
        if destination is None or topic_id not in self.catalog.topics:
            raise invalid(f"No destination '{destination_id}' or topic '{topic_id}' here")
        subscription = Subscription(
            new_id(),
            destination_id,
            None,
            topic_id,
            name=str(bodies.text(body, "name", required=True)),
            description=bodies.text(body, "description") or "",
            signing_enabled=bodies.signing(body.get("attributes"), destination) or False,
        )
        self.catalog.add_subscription(subscription)
        return json_response(self.views.subscription(subscription), 201)

    async def subscription(self, request: Request) -> Response:
        subscription_id = request.path_params["id"]
        if request.method == "DELETE":
            self.catalog.delete_subscription(subscription_id)
            return Response(status_code=204)
        if request.method == "GET":
            return json_response(
                self.views.subscription(self.catalog.subscription(subscription_id))
            )
        body = await _json(request)
        old = self.catalog.subscription(subscription_id)
        changes: dict[str, Any] = {}
        if (name := bodies.text(body, "name", required="name" in body)) is not None:
            changes["name"] = name
        if (description := bodies.text(body, "description")) is not None:
            changes["description"] = description
        destination = self.catalog.destination(old.destination_id)
        if (signing := bodies.signing(body.get("attributes"), destination)) is not None:
            changes["signing_enabled"] = signing
        subscription = self.catalog.update_subscription(subscription_id, changes)
        return json_response(self.views.subscription(subscription))
