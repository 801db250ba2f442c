"""From a rotation to certsync: Secrets Manager's registration with Event Notifications (through
`ibm-secrets-manager-sdk`), and the topic, destination and subscription (through IBM's
`ibm-eventnotifications` SDK).

Event Notifications masks sensitive header values when it returns a destination, so the webhook's
bearer token is never compared; it is sent whenever the destination is created or updated.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from deploy.clients import Clients
from deploy.config import Config
from deploy.model import MARKER, Facts, Found, Kind, Resource
from deploy.registration import register, secrets_manager_source
from deploy.topics import create_topic, update_topic
from shared.errors import NotFoundError

SOURCE_NAME = "certsync-secrets-manager"


class Events:
    kinds: tuple[Kind, ...] = (
        Kind.SOURCE,
        Kind.REGISTRATION,
        Kind.TOPIC,
        Kind.DESTINATION,
        Kind.SUBSCRIPTION,
    )

    def __init__(
        self,
        clients: Clients,
        config: Config,
        facts: Facts,
        token: Callable[[], str],
        progress: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.clients = clients
        self.config = config
        self.facts = facts
        self.token = token
        self.progress = progress
        self.en = clients.event_notifications
        self.instance = config.en_instance
        self.ids: dict[tuple[Kind, str], str] = {}  # topic and destination ids by name

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> list[Found]:
        c = self.config
        found = [self._source(c.alerts_name), self._registration()]
        for topic in (f"{c.name}-rotations", c.alerts_name):
            found.append(self._named(Kind.TOPIC, topic))
        for destination in (f"{c.name}-trigger", f"{c.name}-job"):
            found.append(self._named(Kind.DESTINATION, destination))
        found.append(self._named(Kind.SUBSCRIPTION, c.name))
        return [f for f in found if f is not None]

    def _registration(self) -> Found | None:
        try:
            body = self.clients.call(
                self.clients.secrets_manager.get_notifications_registration,
                "get Secrets Manager's notifications registration",
            )
        except NotFoundError:
            return None
        crn = body.get("event_notifications_instance_crn")
        managed = False
        if crn == self.facts.en_crn:
            source = secrets_manager_source(self.clients, self.instance, self.facts.sm_crn)
            managed = MARKER in str((source or {}).get("description") or "")
        spec = {"event_notifications_instance_crn": crn}
        return Found(Kind.REGISTRATION, "secrets-manager", spec, managed)

    def _source(self, name: str) -> Found | None:
        result = self.clients.call(
            lambda: self.en.list_sources(instance_id=self.instance, search=name),
            f"list Event Notifications sources named '{name}'",
        )
        match = next((i for i in result.get("sources") or [] if i.get("name") == name), None)
        if match is None:
            return None
        body = self.clients.call(
            lambda: self.en.get_source(instance_id=self.instance, id=match["id"]),
            f"get Event Notifications source '{name}'",
        )
        self.ids[(Kind.SOURCE, name)] = str(body["id"])
        description = str(body.get("description") or "")
        spec = {"description": description, "enabled": bool(body.get("enabled"))}
        managed = MARKER in description
        return Found(Kind.SOURCE, name, spec, managed, {"id": body["id"]})

    def alert_source_id(self) -> str | None:
        return self.ids.get((Kind.SOURCE, self.config.alerts_name))

    def _named(self, kind: Kind, name: str) -> Found | None:
        listing, key, get = {
            Kind.TOPIC: (self.en.list_topics, "topics", self.en.get_topic),
            Kind.DESTINATION: (self.en.list_destinations, "destinations", self.en.get_destination),
            Kind.SUBSCRIPTION: (
                self.en.list_subscriptions,
                "subscriptions",
                self.en.get_subscription,
            ),
        }[kind]
        result = self.clients.call(
            lambda: listing(instance_id=self.instance, search=name),
            f"list {kind.value}s named '{name}'",
        )
        match = next((i for i in result.get(key) or [] if i.get("name") == name), None)
        if match is None:
            return None
        body = self.clients.call(
            lambda: get(instance_id=self.instance, id=match["id"]), f"get {kind.value} '{name}'"
        )
        self.ids[(kind, name)] = str(body["id"])
        managed = MARKER in (body.get("description") or "")
        return Found(kind, name, _normalise(kind, body, self._names()), managed, {"id": body["id"]})

    def _names(self) -> dict[str, str]:
        """Topic and destination names by id, to compare subscriptions by name."""
        return {v: k[1] for k, v in self.ids.items()}

    # -- writing ---------------------------------------------------------------------------
    def create(self, resource: Resource) -> None:
        spec = resource.spec
        if resource.kind is Kind.SOURCE:
            body = self.clients.call(
                lambda: self.en.create_sources(
                    instance_id=self.instance,
                    name=resource.name,
                    description=spec["description"],
                    enabled=spec["enabled"],
                ),
                f"create Event Notifications source '{resource.name}'",
            )
            self.ids[(Kind.SOURCE, resource.name)] = str(body["id"])
        elif resource.kind is Kind.REGISTRATION:
            body = {
                "event_notifications_instance_crn": spec["event_notifications_instance_crn"],
                "event_notifications_source_name": SOURCE_NAME,
                "event_notifications_source_description": f"certsync ({MARKER})",
            }
            register(self.clients, body, self.progress)
        elif resource.kind is Kind.TOPIC:
            self.ids[(Kind.TOPIC, resource.name)] = create_topic(
                self.clients, self.instance, resource
            )
        elif resource.kind is Kind.DESTINATION:
            body = self.clients.call(
                lambda: self.en.create_destination(
                    instance_id=self.instance,
                    name=resource.name,
                    type=spec["type"],
                    description=spec["description"],
                    config=self._destination_config(spec),
                ),
                f"create Event Notifications destination '{resource.name}'",
            )
            self.ids[(Kind.DESTINATION, resource.name)] = str(body["id"])
        elif resource.kind is Kind.SUBSCRIPTION:
            topic = self.ids[(Kind.TOPIC, spec["topic"])]
            destination = self.ids[(Kind.DESTINATION, spec["destination"])]
            attributes = (
                {"signing_enabled": spec["signing_enabled"]} if "signing_enabled" in spec else None
            )
            self.clients.call(
                lambda: self.en.create_subscription(
                    instance_id=self.instance,
                    name=resource.name,
                    topic_id=topic,
                    destination_id=destination,
                    description=spec["description"],
                    attributes=attributes,
                ),
                f"create Event Notifications subscription '{resource.name}'",
            )

    def update(self, resource: Resource, found: Found) -> None:
        spec, ident = resource.spec, str(found.handle.get("id", ""))
        if resource.kind is Kind.SOURCE:
            self.clients.call(
                lambda: self.en.update_source(
                    instance_id=self.instance,
                    id=ident,
                    name=resource.name,
                    description=spec["description"],
                    enabled=spec["enabled"],
                ),
                f"update Event Notifications source '{resource.name}'",
            )
        elif resource.kind is Kind.TOPIC:
            topic = update_topic(self.clients, self.instance, resource, ident, self.progress)
            self.ids[(Kind.TOPIC, resource.name)] = topic
        elif resource.kind is Kind.DESTINATION and spec["type"] == found.spec.get("type"):
            self.clients.call(
                lambda: self.en.update_destination(
                    instance_id=self.instance,
                    id=ident,
                    name=resource.name,
                    description=spec["description"],
                    config=self._destination_config(spec),
                ),
                f"update Event Notifications destination '{resource.name}'",
            )
        else:  # a registration, a subscription's topic or destination, a destination's type
            self.delete(found)
            self.create(resource)

    def delete(self, found: Found) -> None:
        ident = str(found.handle.get("id", ""))
        what = f"delete {found.kind.value} '{found.name}'"
        requests: dict[Kind, Callable[[], Any]] = {
            Kind.SOURCE: lambda: self.en.delete_source(instance_id=self.instance, id=ident),
            Kind.REGISTRATION: self.clients.secrets_manager.delete_notifications_registration,
            Kind.TOPIC: lambda: self.en.delete_topic(instance_id=self.instance, id=ident),
            Kind.DESTINATION: lambda: self.en.delete_destination(
                instance_id=self.instance, id=ident
            ),
            Kind.SUBSCRIPTION: lambda: self.en.delete_subscription(
                instance_id=self.instance, id=ident
            ),
        }
        with contextlib.suppress(NotFoundError):  # already gone
            self.clients.call(requests[found.kind], what)

    def _destination_config(self, spec: dict[str, Any]) -> dict[str, Any]:
        if spec["type"] == "webhook":
            return {
                "params": {
                    "url": spec["url"],
                    "verb": spec["verb"],
                    "custom_headers": {"Authorization": f"Bearer {self.token()}"},
                    "sensitive_headers": spec["sensitive_headers"],
                }
            }
        return {
            "params": {
                "type": spec["target_type"],
                "project_crn": spec["project_crn"],
                "job_name": spec["job_name"],
            }
        }

    def destination_id(self, name: str) -> str | None:
        return self.ids.get((Kind.DESTINATION, name))


def _normalise(kind: Kind, body: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    description = body.get("description") or ""
    if kind is Kind.TOPIC:
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
        return {"description": description, "sources": sources}
    if kind is Kind.DESTINATION:
        params = (body.get("config") or {}).get("params") or {}
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
    spec: dict[str, Any] = {
        "description": description,
        "topic": names.get(str(body.get("topic_id")), body.get("topic_id")),
        "destination": names.get(str(body.get("destination_id")), body.get("destination_id")),
    }
    attributes = body.get("attributes") or {}
    if "signing_enabled" in attributes:
        spec["signing_enabled"] = attributes["signing_enabled"]
    return spec
