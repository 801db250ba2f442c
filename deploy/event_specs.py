"""Event Notifications resources as `deploy` compares them: the fields certsync manages, read from
an API body into the shape `desired()` writes. Pure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deploy.model import Kind

Names = dict[str, str]  # topic and destination names by id: a subscription is compared by name


def _source(body: dict[str, Any], names: Names) -> dict[str, Any]:
    return {"description": str(body.get("description") or ""), "enabled": bool(body.get("enabled"))}


def _topic(body: dict[str, Any], names: Names) -> dict[str, Any]:
    sources = [
        {
            "id": source.get("id"),
            "rules": [
                {
                    k: rule[k]
                    for k in ("enabled", "event_type_filter", "notification_filter")
                    if rule.get(k) is not None  # as desired() writes it: no null filter
                }
                for rule in source.get("rules") or []
            ],
        }
        for source in body.get("sources") or []
    ]
    return {"description": body.get("description") or "", "sources": sources}


def _destination(body: dict[str, Any], names: Names) -> dict[str, Any]:
    params = (body.get("config") or {}).get("params") or {}
    description = body.get("description") or ""
    if body.get("type") == "webhook":
        return {
            "type": "webhook",
            "description": description,
            "url": params.get("url"),
            "verb": params.get("verb"),
            "custom_headers": sorted(params.get("custom_headers") or {}),
            "sensitive_headers": sorted(params.get("sensitive_headers") or []),
        }
    return {
        "type": body.get("type"),
        "description": description,
        "target_type": params.get("type"),
        "project_crn": params.get("project_crn"),
        "job_name": params.get("job_name"),
    }


def _subscription(body: dict[str, Any], names: Names) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "description": body.get("description") or "",
        "topic": names.get(str(body.get("topic_id")), body.get("topic_id")),
        "destination": names.get(str(body.get("destination_id")), body.get("destination_id")),
    }
    attributes = body.get("attributes") or {}
    if "signing_enabled" in attributes:
        spec["signing_enabled"] = attributes["signing_enabled"]
    return spec


SPECS: dict[Kind, Callable[[dict[str, Any], Names], dict[str, Any]]] = {
    Kind.SOURCE: _source,
    Kind.TOPIC: _topic,
    Kind.DESTINATION: _destination,
    Kind.SUBSCRIPTION: _subscription,
}
