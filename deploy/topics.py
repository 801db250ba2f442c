"""Event Notifications topics: created, and changed the only way a source's rules can change.

A source's rules cannot be changed on a topic (`en-cli.md`, topic-replace: "Sources already
attached to the topic cannot be replaced or updated — they can only be deleted and re-added").
How to remove a source from a topic is not documented. `update_topic` removes the sources with an
empty replace and adds them again; where the service refuses either step, it deletes the topic and
its subscriptions and creates them again (README, "The filter").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from deploy.model import Resource
from shared.errors import PermanentError

if TYPE_CHECKING:
    from deploy.events import Events


def update_topic(events: Events, resource: Resource, ident: str) -> str:
    """Give topic `ident` the resource's description and sources; returns its id (a new one when
    it had to be created again)."""
    clients, instance, spec = events.clients, events.instance, resource.spec
    steps: list[list[dict[str, Any]]] = [[], spec["sources"]]
    try:
        for sources in steps:
            clients.call(
                lambda sources=sources: clients.event_notifications.replace_topic(
                    instance_id=instance,
                    id=ident,
                    name=resource.name,
                    description=spec["description"],
                    sources=sources,
                ),
                f"update Event Notifications topic '{resource.name}'",
            )
        return ident
    except PermanentError as exc:
        if exc.status != 400:  # only a refused request: not a missing topic, not a 403
            raise
        events.progress(
            f"topic '{resource.name}': {exc}; deleting it and its subscriptions and creating "
            "them again"
        )
    return _recreate(events, resource, ident)


def _recreate(events: Events, resource: Resource, ident: str) -> str:
    clients, instance, en = events.clients, events.instance, events.clients.event_notifications
    topic = clients.call(
        lambda: en.get_topic(instance_id=instance, id=ident),
        f"get Event Notifications topic '{resource.name}'",
    )
    subscriptions = [
        clients.call(
            lambda item=item: en.get_subscription(instance_id=instance, id=item["id"]),
            f"get Event Notifications subscription '{item.get('name')}'",
        )
        for item in topic.get("subscriptions") or []
    ]
    for subscription in subscriptions:
        clients.call(
            lambda sub=subscription: en.delete_subscription(instance_id=instance, id=sub["id"]),
            f"delete Event Notifications subscription '{subscription.get('name')}'",
        )
    clients.call(
        lambda: en.delete_topic(instance_id=instance, id=ident),
        f"delete Event Notifications topic '{resource.name}'",
    )
    new = str(events.create(resource, {}).handle["id"])
    for subscription in subscriptions:
        _resubscribe(events, subscription, new)
    return new


def _resubscribe(events: Events, subscription: dict[str, Any], topic: str) -> None:
    """The subscription again, on the new topic: its name, description, destination and a
    webhook's `signing_enabled`. Other attributes (an email list's recipients, ...) are not carried
    over; the progress line names the topic to check."""
    signing = (subscription.get("attributes") or {}).get("signing_enabled")
    name = str(subscription["name"])
    events.clients.call(
        lambda: events.clients.event_notifications.create_subscription(
            instance_id=events.instance,
            name=name,
            topic_id=topic,
            destination_id=subscription["destination_id"],
            description=subscription.get("description"),
            attributes=None if signing is None else {"signing_enabled": signing},
        ),
        f"create Event Notifications subscription '{name}'",
    )
