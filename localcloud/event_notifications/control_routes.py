"""Event Notifications' control plane, under `/_localcloud/event_notifications/` (no token
needed): `POST|GET destinations`, `POST sources`, `POST topics`, `POST subscriptions`,
`POST test_event`, `POST secret_events`, `GET deliveries`, `GET notifications`, `GET rejections`,
`PUT timing`; each calls the in-process API (`service.py`). Sensitive header values never leave
it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from localcloud.event_notifications.service import EventNotifications
from localcloud.event_notifications.topics import Rule
from localcloud.http import CONTROL_PREFIX, BadRequest, json_response, read_json_object

PREFIX = f"{CONTROL_PREFIX}event_notifications"
TIMING = ("timeout", "retries", "backoff_min", "backoff_max")


def control_routes(en: EventNotifications) -> list[BaseRoute]:
    control = _Control(en)
    return [
        Route(f"{PREFIX}/sources", control.sources, methods=["POST"]),
        Route(f"{PREFIX}/topics", control.topics, methods=["POST"]),
        Route(f"{PREFIX}/destinations", control.destinations, methods=["GET", "POST"]),
        Route(f"{PREFIX}/subscriptions", control.subscribe, methods=["POST"]),
        Route(f"{PREFIX}/test_event", control.test_event, methods=["POST"]),
        Route(f"{PREFIX}/secret_events", control.secret_event, methods=["POST"]),
        Route(f"{PREFIX}/deliveries", control.deliveries, methods=["GET"]),
        Route(f"{PREFIX}/notifications", control.notifications, methods=["GET"]),
        Route(f"{PREFIX}/rejections", control.rejections, methods=["GET"]),
        Route(f"{PREFIX}/timing", control.timing, methods=["PUT"]),
    ]


class _Control:
    def __init__(self, en: EventNotifications) -> None:
        self.en = en

    async def destinations(self, request: Request) -> Response:
        if request.method == "GET":
            return json_response({"destinations": [d.to_dict() for d in self.en.destinations()]})
        body = await read_json_object(request)
        try:
            destination_id = self._add(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest(f"bad destination: {exc}") from None
        return json_response({"id": destination_id}, 201)

    def _add(self, body: dict[str, Any]) -> str:
        kind = body.get("type", "webhook")
        name = {"name": str(body["name"])} if "name" in body else {}
        if kind == "code_engine_job":
            return self.en.add_code_engine_job_destination(str(body["job_name"]), **name)
        headers = {str(k): str(v) for k, v in dict(body.get("headers") or {}).items()}
        sensitive = {str(h) for h in body.get("sensitive_headers") or ()}
        if kind == "webhook":
            return self.en.add_webhook_destination(
                str(body["url"]), headers=headers, sensitive_headers=sensitive, **name
            )
        if kind == "code_engine_app":
            return self.en.add_code_engine_app_destination(
                str(body["url"]), headers=headers, sensitive_headers=sensitive, **name
            )
        raise ValueError(f"unknown destination type {kind!r}")

    async def sources(self, request: Request) -> Response:
        body = await read_json_object(request)
        try:
            source_id = self.en.add_custom_source(
                str(body["name"]), description=str(body.get("description", ""))
            )
        except (KeyError, ValueError) as exc:
            raise BadRequest(f"bad source: {exc}") from None
        return json_response({"id": source_id}, 201)

    async def topics(self, request: Request) -> Response:
        """The real API's `TopicCreate` body, `{name, sources: [{id, rules: [...]}]}`, each rule
        with an `event_type_filter`; `rules` is required, as in the SDK's `SourcesItems`."""
        body = await read_json_object(request)
        try:
            name = str(body["name"])
            rules = [
                Rule(str(source["id"]), str(rule["event_type_filter"]))
                for source in body.get("sources") or ()
                for rule in source["rules"]
            ]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise BadRequest(f"bad topic: {exc}") from None
        try:
            topic_id = self.en.add_topic(name, *rules)
        except KeyError as exc:
            raise BadRequest(f"bad topic: {exc}", status=404, code="not_found") from None
        except ValueError as exc:
            raise BadRequest(f"bad topic: {exc}") from None
        return json_response({"id": topic_id}, 201)

    async def subscribe(self, request: Request) -> Response:
        body = await read_json_object(request)
        events = body.get("event_sub_types")
        topic_id = body.get("topic_id")
        try:
            sub_id = self.en.subscribe(
                str(body["destination_id"]),
                None if events is None else {str(e) for e in events},
                topic_id=None if topic_id is None else str(topic_id),
            )
        except KeyError as exc:
            raise BadRequest(f"bad subscription: {exc}", status=404, code="not_found") from None
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"bad subscription: {exc}") from None
        return json_response({"id": sub_id}, 201)

    async def test_event(self, request: Request) -> Response:
        return json_response({"notification_ids": self.en.publish_test_event()}, 202)

    async def secret_event(self, request: Request) -> Response:
        body = await read_json_object(request)
        try:
            ids = self.en.publish_secret_event(
                event_sub_type=str(body["event_sub_type"]),
                secret_type=str(body["secret_type"]),
                secrets=list(body["secrets"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest(f"bad secret event: {exc}") from None
        return json_response({"notification_ids": ids}, 202)

    async def deliveries(self, request: Request) -> Response:
        return json_response({"deliveries": [d.to_dict() for d in self.en.deliveries()]})

    async def notifications(self, request: Request) -> Response:
        return json_response({"notifications": self.en.notifications()})

    async def rejections(self, request: Request) -> Response:
        return json_response({"rejections": [r.to_dict() for r in self.en.rejections()]})

    async def timing(self, request: Request) -> Response:
        body = await read_json_object(request)
        try:
            for key in TIMING:
                if key in body:
                    value = body[key]
                    setattr(self.en, key, int(value) if key == "retries" else float(value))
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"bad timing: {exc}") from None
        return json_response({key: getattr(self.en, key) for key in TIMING})
