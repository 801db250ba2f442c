"""From a rotation to certsync: Secrets Manager's registration with Event Notifications (through
`ibm-secrets-manager-sdk`), and the source, topic, destination and subscription (through IBM's
`ibm-eventnotifications` SDK).

Event Notifications masks sensitive header values when it returns a destination, so the webhook's
bearer token is never compared; it is sent whenever the destination is created or updated.
Reads and writes return the ids they learn in the `Found` handle (`id`): the session's `Known`
gives them to later writes (a subscription names its topic and destination by id).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from deploy.clients import Clients
from deploy.config import Config
from deploy.event_specs import SPECS
from deploy.model import MARKER, Facts, Found, Kind, Known, Resource
from deploy.registration import register, secrets_manager_source
from deploy.topics import update_topic
from shared.errors import NotFoundError

SOURCE_NAME = "certsync-secrets-manager"


@dataclass(frozen=True)
class Api:
    """One kind of Event Notifications resource in `EventNotificationsV1`; every call takes
    `instance_id`, and get, update and delete the resource's `id`."""

    listed: str  # the list's key: `sources`, `topics`, ...
    list: Callable[..., Any]
    get: Callable[..., Any]
    create: Callable[..., Any]
    delete: Callable[..., Any]
    update: Callable[..., Any] | None = None  # None: deleted and created again


class Events:
    kinds: tuple[Kind, ...] = (
        Kind.SOURCE,
        Kind.REGISTRATION,
        Kind.TOPIC,
        Kind.DESTINATION,
        Kind.SUBSCRIPTION,
    )

    def __init__(
        self, clients: Clients, config: Config, facts: Facts, progress: Callable[[str], None]
    ) -> None:
        self.clients = clients
        self.config = config
        self.facts = facts
        self.progress = progress
        self.instance = config.en_instance
        en = clients.event_notifications
        self.apis = {
            Kind.SOURCE: Api(
                "sources",
                en.list_sources,
                en.get_source,
                en.create_sources,
                en.delete_source,
                en.update_source,
            ),
            Kind.TOPIC: Api(
                "topics", en.list_topics, en.get_topic, en.create_topic, en.delete_topic
            ),
            Kind.DESTINATION: Api(
                "destinations",
                en.list_destinations,
                en.get_destination,
                en.create_destination,
                en.delete_destination,
                en.update_destination,
            ),
            Kind.SUBSCRIPTION: Api(
                "subscriptions",
                en.list_subscriptions,
                en.get_subscription,
                en.create_subscription,
                en.delete_subscription,
            ),
        }

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> list[Found]:
        c = self.config
        found = [self._named(Kind.SOURCE, c.alerts_name, {}), self._registration()]
        named = [
            *((Kind.TOPIC, topic) for topic in (f"{c.name}-rotations", c.alerts_name)),
            *((Kind.DESTINATION, d) for d in (f"{c.name}-trigger", f"{c.name}-job")),
        ]
        for kind, name in named:
            found.append(self._named(kind, name, {}))
        # A subscription names its topic and destination by id: compared by name.
        names = {str(f.handle["id"]): f.name for f in found if f is not None and "id" in f.handle}
        found.append(self._named(Kind.SUBSCRIPTION, c.name, names))
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

    def _named(self, kind: Kind, name: str, names: dict[str, str]) -> Found | None:
        api = self.apis[kind]
        result = self.clients.call(
            lambda: api.list(instance_id=self.instance, search=name),
            f"list {kind.value}s named '{name}'",
        )
        match = next((i for i in result.get(api.listed) or [] if i.get("name") == name), None)
        if match is None:
            return None
        body = self.clients.call(
            lambda: api.get(instance_id=self.instance, id=match["id"]), f"get {kind.value} '{name}'"
        )
        managed = MARKER in str(body.get("description") or "")
        return Found(kind, name, SPECS[kind](body, names), managed, {"id": str(body["id"])})

    # -- writing ---------------------------------------------------------------------------
    def create(self, resource: Resource, known: Known) -> Found:
        if resource.kind is Kind.REGISTRATION:
            body = {
                "event_notifications_instance_crn": resource.spec[
                    "event_notifications_instance_crn"
                ],
                "event_notifications_source_name": SOURCE_NAME,
                "event_notifications_source_description": f"certsync ({MARKER})",
            }
            register(self.clients, body, self.progress)
            return Found(resource.kind, resource.name, resource.spec, True)
        api, fields = self.apis[resource.kind], self._fields(resource, known)
        created = self.clients.call(
            lambda: api.create(instance_id=self.instance, **fields),
            f"create {resource.kind.value} '{resource.name}'",
        )
        return _made(resource, str(created["id"]))

    def update(self, resource: Resource, found: Found, known: Known) -> Found:
        api, ident = self.apis.get(resource.kind), str(found.handle.get("id", ""))
        if resource.kind is Kind.TOPIC:
            return _made(resource, update_topic(self, resource, ident))
        if api is None or api.update is None or resource.spec.get("type") != found.spec.get("type"):
            # a registration, a subscription's topic or destination, a destination's type
            self.delete(found)
            return self.create(resource, known)
        update = api.update
        fields = {k: v for k, v in self._fields(resource, known).items() if k != "type"}
        self.clients.call(
            lambda: update(instance_id=self.instance, id=ident, **fields),
            f"update {resource.kind.value} '{resource.name}'",
        )
        return _made(resource, ident)

    def delete(self, found: Found) -> None:
        what = f"delete {found.kind.value} '{found.name}'"
        request: Callable[[], Any] = self.clients.secrets_manager.delete_notifications_registration
        if found.kind is not Kind.REGISTRATION:
            ident = str(found.handle.get("id", ""))
            request = partial(self.apis[found.kind].delete, instance_id=self.instance, id=ident)
        with contextlib.suppress(NotFoundError):  # already gone
            self.clients.call(request, what)

    def _fields(self, resource: Resource, known: Known) -> dict[str, Any]:
        """A create's (and an update's) fields beyond `instance_id`, from the spec and, for a
        destination and a subscription, what earlier writes learnt (the token, the ids)."""
        spec = resource.spec
        fields: dict[str, Any] = {"name": resource.name, "description": spec["description"]}
        if resource.kind is Kind.SOURCE:
            fields["enabled"] = spec["enabled"]
        elif resource.kind is Kind.TOPIC:
            fields["sources"] = spec["sources"]
        elif resource.kind is Kind.DESTINATION:
            fields |= {"type": spec["type"], "config": self._destination_config(spec, known)}
        else:
            fields |= {
                "topic_id": known[(Kind.TOPIC, spec["topic"])].handle["id"],
                "destination_id": known[(Kind.DESTINATION, spec["destination"])].handle["id"],
                "attributes": (
                    {"signing_enabled": spec["signing_enabled"]}
                    if "signing_enabled" in spec
                    else None
                ),
            }
        return fields

    def _destination_config(self, spec: dict[str, Any], known: Known) -> dict[str, Any]:
        if spec["type"] != "webhook":
            keys = {"type": "target_type", "project_crn": "project_crn", "job_name": "job_name"}
            return {"params": {param: spec[key] for param, key in keys.items()}}
        token = known[(Kind.SECRET, self.config.webhook_secret_name)].handle["token"]
        return {
            "params": {
                "url": spec["url"],
                "verb": spec["verb"],
                "custom_headers": {"Authorization": f"Bearer {token.reveal()}"},
                "sensitive_headers": spec["sensitive_headers"],
            }
        }


def _made(resource: Resource, ident: str) -> Found:
    return Found(resource.kind, resource.name, resource.spec, True, {"id": ident})
