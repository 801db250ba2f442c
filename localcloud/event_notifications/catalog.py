"""What an Event Notifications instance is configured with: sources, topics, destinations and
subscriptions, the rules that keep them consistent, and the plan's limits.

Both the in-process API (service.py, the control plane) and the admin API (admin_routes.py) keep
their configuration here. The admin API's errors are `EnError`s (Event Notifications' envelope).

Documented: the Lite plan gives "10 topics, two filters per topic, five destinations" and "Ten
subscriptions" (ibm-cloud-docs/event-notifications `getting-started.md`, "Decide on a pricing
plan"); the Standard plan states no such limits. Topic names are unique in an instance (409).
Deleting a topic or a destination deletes the subscriptions associated with it (`at-events.md`,
the cascade table: "All subscriptions that are associated with the deleted destination are
deleted", the same for a topic).

Unknown, and the stricter choice made here:
- Exceeding a Lite limit answers 400.
- A source that a topic names cannot be deleted (409). Unregistering a service source (Secrets
  Manager) removes its rules from every topic instead.
- A source's rules on a topic cannot be edited in place: a `replace_topic` that changes the rules
  of a source already on the topic is refused (400) (`en-cli.md`, topic-replace: "Sources already
  attached to the topic cannot be replaced or updated — they can only be deleted and re-added");
  an empty `sources` is refused too (admin_routes.py), so the way left is to delete the topic and
  create it again.
- No name length limits are published for these resources: none are enforced.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.event_notifications.delivery import Destination
from localcloud.event_notifications.payload import SecretEvent, now_rfc3339
from localcloud.event_notifications.send import EnError, invalid, not_found
from localcloud.event_notifications.topics import CustomSource, Rule, Topic

LITE = {"topics": 10, "rules per topic": 2, "destinations": 5, "subscriptions": 10}


@dataclass(frozen=True)
class Subscription:
    id: str
    destination_id: str
    events: frozenset[str] | None  # None: every Secrets Manager event (the in-process shortcut)
    topic_id: str | None = None  # set: the notifications the topic lets in, no shortcut events
    name: str = ""
    description: str = ""
    signing_enabled: bool = False
    created_at: str = field(default_factory=now_rfc3339)
    updated_at: str = field(default_factory=now_rfc3339)

    def wants(self, event: SecretEvent) -> bool:
        """The shortcut: a subscription without a topic names Secrets Manager events."""
        if self.topic_id is not None:
            return False
        return self.events is None or any(event.matches(s) for s in self.events)


def conflict(message: str) -> EnError:
    return EnError(message, status=409, code="conflict")


def new_id() -> str:
    return str(uuid.uuid4())


class Catalog:
    """One instance's configuration, behind one lock."""

    def __init__(self) -> None:
        self.plan = "standard"  # "lite" enforces the Lite plan's limits
        self.lock = threading.RLock()
        self.sources: dict[str, CustomSource] = {}
        self.topics: dict[str, Topic] = {}
        self.destinations: dict[str, Destination] = {}
        self.subscriptions: dict[str, Subscription] = {}

    # -- lookups (admin API: 404 in EN's envelope) -------------------------------------------
    def source(self, source_id: str) -> CustomSource:
        with self.lock:
            if source_id not in self.sources:
                raise not_found("Source", source_id)
            return self.sources[source_id]

    def topic(self, topic_id: str) -> Topic:
        with self.lock:
            if topic_id not in self.topics:
                raise not_found("Topic", topic_id)
            return self.topics[topic_id]

    def destination(self, destination_id: str) -> Destination:
        with self.lock:
            if destination_id not in self.destinations:
                raise not_found("Destination", destination_id)
            return self.destinations[destination_id]

    def subscription(self, subscription_id: str) -> Subscription:
        with self.lock:
            if subscription_id not in self.subscriptions:
                raise not_found("Subscription", subscription_id)
            return self.subscriptions[subscription_id]

    def subscriptions_of(
        self, *, topic_id: str = "", destination_id: str = ""
    ) -> list[Subscription]:
        with self.lock:
            return [
                s
                for s in self.subscriptions.values()
                if (topic_id and s.topic_id == topic_id)
                or (destination_id and s.destination_id == destination_id)
            ]

    def topics_naming(self, source_id: str) -> list[Topic]:
        with self.lock:
            return [t for t in self.topics.values() if source_id in t.source_ids]

    # -- sources -------------------------------------------------------------------------------
    def put_source(self, source: CustomSource) -> CustomSource:
        """Add, or replace keeping the creation time (a service registering again)."""
        with self.lock:
            old = self.sources.get(source.id)
            if old is not None:
                source = dataclasses.replace(source, created_at=old.created_at)
            self.sources[source.id] = source
            return source

    def update_source(self, source_id: str, changes: Mapping[str, Any]) -> CustomSource:
        with self.lock:
            source = dataclasses.replace(
                self.source(source_id), **changes, updated_at=now_rfc3339()
            )
            self.sources[source_id] = source
            return source

    def delete_source(self, source_id: str) -> None:
        with self.lock:
            self.source(source_id)
            names = [t.name for t in self.topics_naming(source_id)]
            if names:
                raise conflict(f"Source '{source_id}' is used by the topics {names}")
            del self.sources[source_id]

    def remove_service_source(self, source_id: str) -> None:
        """A service unregistering: its source goes, and its rules with it."""
        with self.lock:
            self.sources.pop(source_id, None)
            for topic in self.topics_naming(source_id):
                rules = tuple(r for r in topic.rules if r.source_id != source_id)
                self.topics[topic.id] = dataclasses.replace(topic, rules=rules)

    # -- topics --------------------------------------------------------------------------------
    def create_topic(self, name: str, description: str, rules: Iterable[Rule]) -> Topic:
        rules = tuple(rules)
        with self.lock:
            self._check_topic(name, rules, None)
            self._limit("topics", len(self.topics) + 1)
            topic = Topic(new_id(), name, rules, description)
            self.topics[topic.id] = topic
            return topic

    def replace_topic(
        self,
        topic_id: str,
        name: str | None,
        description: str | None,
        rules: Iterable[Rule] | None,
    ) -> Topic:
        with self.lock:
            old = self.topic(topic_id)
            new_rules = old.rules if rules is None else _keep_unchanged(old.rules, tuple(rules))
            new_name = old.name if name is None else name
            self._check_topic(new_name, new_rules, topic_id)
            topic = dataclasses.replace(
                old,
                name=new_name,
                description=old.description if description is None else description,
                rules=new_rules,
                updated_at=now_rfc3339(),
            )
            self.topics[topic_id] = topic
            return topic

    def delete_topic(self, topic_id: str) -> None:
        with self.lock:
            self.topic(topic_id)
            for subscription in self.subscriptions_of(topic_id=topic_id):  # at-events.md cascade
                del self.subscriptions[subscription.id]
            del self.topics[topic_id]

    def _check_topic(self, name: str, rules: tuple[Rule, ...], topic_id: str | None) -> None:
        if not name.strip():
            raise invalid("A topic needs a 'name'")
        if any(t.name == name and t.id != topic_id for t in self.topics.values()):
            raise conflict(f"A topic named '{name[:64]}' already exists")
        unknown = sorted({r.source_id for r in rules} - set(self.sources))
        if unknown:
            raise invalid(f"Topic sources {[u[:128] for u in unknown]} are not sources here")
        self._limit("rules per topic", len(rules))

    # -- destinations --------------------------------------------------------------------------
    def add_destination(self, destination: Destination) -> Destination:
        with self.lock:
            self._limit("destinations", len(self.destinations) + 1)
            self.destinations[destination.id] = destination
            return destination

    def update_destination(
        self, destination_id: str, change: Callable[[Destination], Destination]
    ) -> Destination:
        with self.lock:
            destination = change(self.destination(destination_id))
            self.destinations[destination_id] = destination
            return destination

    def delete_destination(self, destination_id: str) -> None:
        with self.lock:
            self.destination(destination_id)
            for subscription in self.subscriptions_of(destination_id=destination_id):
                del self.subscriptions[subscription.id]  # at-events.md: the cascade
            del self.destinations[destination_id]

    # -- subscriptions -------------------------------------------------------------------------
    def add_subscription(self, subscription: Subscription) -> Subscription:
        with self.lock:
            self._limit("subscriptions", len(self.subscriptions) + 1)
            self.subscriptions[subscription.id] = subscription
            return subscription

    def update_subscription(self, subscription_id: str, changes: Mapping[str, Any]) -> Subscription:
        with self.lock:
            subscription = dataclasses.replace(
                self.subscription(subscription_id), **changes, updated_at=now_rfc3339()
            )
            self.subscriptions[subscription_id] = subscription
            return subscription

    def delete_subscription(self, subscription_id: str) -> None:
        with self.lock:
            self.subscription(subscription_id)
            del self.subscriptions[subscription_id]

    # -- routing -------------------------------------------------------------------------------
    def topics_for(self, notification: Mapping[str, Any]) -> set[str]:
        """The topics a notification enters: its source must exist and be enabled."""
        with self.lock:
            source = self.sources.get(str(notification.get("ibmensourceid")))
            if source is None or not source.enabled:
                return set()
            return {t.id for t in self.topics.values() if t.wants(notification)}

    def _limit(self, what: str, count: int) -> None:
        if self.plan == "lite" and count > LITE[what]:
            raise invalid(f"The Lite plan allows {LITE[what]} {what}")


def _keep_unchanged(old: tuple[Rule, ...], new: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """New rules for new sources; for a source already there, the same rules or a 400."""
    kept: list[Rule] = []
    for source_id in dict.fromkeys(r.source_id for r in new):
        before = [r for r in old if r.source_id == source_id]
        after = [r for r in new if r.source_id == source_id]
        if not before:
            kept.extend(after)
            continue
        if len(before) != len(after) or not all(
            a.same_as(b) for a, b in zip(before, after, strict=True)
        ):
            raise invalid(
                f"The rules of source '{source_id[:128]}' cannot be changed on the topic: "
                "remove the source from the topic, then add it again"
            )
        kept.extend(before)
    return tuple(kept)
