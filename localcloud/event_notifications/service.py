"""Event Notifications: Secrets Manager and custom sources, topics, subscriptions, and delivery.

Secrets Manager (the emulator) calls `publish_secret_event` on every event; an application sends
its own as a custom (API) source with `publish_notification` (the send-notifications API, send.py;
routes in routes.py). Each matching subscription gets the notification in a background thread:
webhook and Code Engine app destinations by HTTP POST with retries (see delivery.py), Code Engine
job destinations as a job run whose `ibmendata` environment variable holds the notification JSON
(`en-destination-codeengine.md`: "The event payload has been transmitted to Code Engine job by
using an environment variable ... `ibmendata`").

For Secrets Manager (payload.py), topics are folded into subscriptions: a subscription names the
events it wants (`secret_rotated`, `secret_about_to_expire:in_10_days`, ...), or None for all,
including `test_event`. Custom sources go through topics as on the real service (topics.py): a
topic's rules name sources and filter their events; a subscription links a topic to a destination.
The two never mix: a Secrets Manager subscription gets no custom-source notification, and a
topic's subscription no Secrets Manager event.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.account import Site
from localcloud.event_notifications.delivery import (
    AttemptResult,
    Delivery,
    Destination,
    JobRunner,
    Kind,
    Outcome,
    backoff,
    check_webhook,
    post_webhook,
    run_job,
)
from localcloud.event_notifications.payload import (
    SecretEvent,
    check_selector,
    notification_for_test_event,
    secret_notifications,
)
from localcloud.event_notifications.send import API, check_notification, delivered, invalid
from localcloud.event_notifications.topics import CustomSource, Rule, Topic


@dataclass(frozen=True)
class Subscription:
    id: str
    destination_id: str
    events: frozenset[str] | None  # None: every Secrets Manager event
    topic_id: str | None = None  # set: a topic's custom-source notifications, no Secrets Manager's

    def wants(self, event: SecretEvent) -> bool:
        if self.topic_id is not None:
            return False
        return self.events is None or any(event.matches(s) for s in self.events)


Wants = Callable[[Subscription], bool]


class EventNotifications:
    def __init__(self, site: Site, code_engine: Callable[[], JobRunner]) -> None:
        """`code_engine` is looked up at each job delivery: a test may replace the service."""
        self.site = site
        self._code_engine = code_engine
        # Delivery timing: the real values; tests shrink them on the instance.
        self.timeout = 10.0
        self.retries = 3
        self.backoff_min = 1.0
        self.backoff_max = 10.0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._destinations: dict[str, Destination] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._sources: dict[str, CustomSource] = {}
        self._topics: dict[str, Topic] = {}
        self._notifications: list[dict[str, Any]] = []
        self._deliveries: list[Delivery] = []
        self._workers: set[threading.Thread] = set()

    @property
    def api_url(self) -> str:
        """The SDK's service URL (`https://{region}.event-notifications.cloud.ibm.com/...`)."""
        return f"{self.site.url}{API}"

    # -- configuration ---------------------------------------------------------------------
    def add_webhook_destination(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        sensitive_headers: set[str] | None = None,
        name: str = "webhook",
    ) -> str:
        return self._add_http("webhook", url, headers, sensitive_headers, name)

    def add_code_engine_app_destination(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        sensitive_headers: set[str] | None = None,
        name: str = "code-engine-app",
    ) -> str:
        """Delivered exactly like a webhook, to the app's URL."""
        return self._add_http("code_engine_app", url, headers, sensitive_headers, name)

    def add_code_engine_job_destination(
        self, job_name: str, *, name: str = "code-engine-job"
    ) -> str:
        if not job_name:
            raise ValueError("a Code Engine job destination needs a job name")
        return self._add(Destination(_new_id(), name, "code_engine_job", job_name=job_name))

    def add_custom_source(self, name: str, *, description: str = "") -> str:
        """Register an API source; returns its id (`<uuid>:api`), the `ibmensourceid` it sends."""
        source = CustomSource.new(name, description)
        with self._lock:
            self._sources[source.id] = source
        return source.id

    def add_topic(self, name: str, *rules: Rule) -> str:
        """A topic fed by `rules`: each lets one custom source's matching notifications in."""
        if not name.strip():
            raise ValueError("a topic needs a name")
        with self._lock:
            unknown = sorted({r.source_id for r in rules} - set(self._sources))
            if unknown:
                raise KeyError(f"no custom sources {unknown}")
            topic = Topic(_new_id(), name, tuple(rules))
            self._topics[topic.id] = topic
        return topic.id

    def subscribe(
        self,
        destination_id: str,
        event_sub_types: set[str] | None = None,
        *,
        topic_id: str | None = None,
    ) -> str:
        """Route the named Secrets Manager events (None: all) to the destination, or, with
        `topic_id`, the custom-source notifications that topic lets in."""
        if topic_id is not None and event_sub_types is not None:
            raise ValueError("a subscription names Secrets Manager events or a topic, not both")
        for selector in event_sub_types or ():
            check_selector(selector)
        with self._lock:
            if destination_id not in self._destinations:
                raise KeyError(f"no destination {destination_id!r}")
            if topic_id is not None and topic_id not in self._topics:
                raise KeyError(f"no topic {topic_id!r}")
            events = None if event_sub_types is None else frozenset(event_sub_types)
            sub = Subscription(_new_id(), destination_id, events, topic_id)
            self._subscriptions[sub.id] = sub
        return sub.id

    def destinations(self) -> list[Destination]:
        with self._lock:
            return list(self._destinations.values())

    # -- publishing ------------------------------------------------------------------------
    def publish_secret_event(
        self, *, event_sub_type: str, secret_type: str, secrets: list[dict[str, Any]]
    ) -> list[str]:
        """Publish a Secrets Manager event; returns the notification ids (one per 100 secrets).

        `event_sub_type` names the event: `secret_rotated`, `secret_rotation_failed`,
        `secret_expired`, `secret_about_to_expire:in_10_days`, ... (prefix optional).
        """
        event = SecretEvent.parse(event_sub_type)
        notifications = secret_notifications(self.site.identity, event, secret_type, secrets)
        return [self._fan_out(n, lambda s: s.wants(event)) for n in notifications]

    def publish_test_event(self) -> list[str]:
        """What Secrets Manager's "Send test event" produces."""
        notification = notification_for_test_event(self.site.identity)
        test_event = SecretEvent("test_event")
        return [self._fan_out(notification, lambda s: s.wants(test_event))]

    def publish_notification(self, body: Mapping[str, Any]) -> str:
        """Send a custom source's notification (a `NotificationCreate` body), checked as the
        send-notifications API checks it (raises `EnError`); returns its `notification_id`."""
        check_notification(body)
        with self._lock:
            if body["ibmensourceid"] not in self._sources:
                source = body["ibmensourceid"][:80]
                raise invalid(f"'ibmensourceid' {source!r} is not a source of this instance")
            topics = {t.id for t in self._topics.values() if t.wants(body)}
        notification = delivered(json.loads(json.dumps(body)), _new_id())
        return self._fan_out(notification, lambda s: s.topic_id in topics)

    def notifications(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(json.dumps(n)) for n in self._notifications]

    # -- observation -----------------------------------------------------------------------
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no delivery is in progress; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._workers, timeout)

    def shutdown(self, timeout: float = 2.0) -> None:
        """Stop delivering: backoffs end at once, in-flight attempts get `timeout` to finish."""
        self._stop.set()
        with self._lock:
            workers = list(self._workers)
        deadline = time.monotonic() + timeout
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))

    # -- internals -------------------------------------------------------------------------
    def _add_http(
        self,
        kind: Kind,
        url: str,
        headers: dict[str, str] | None,
        sensitive_headers: set[str] | None,
        name: str,
    ) -> str:
        custom, sensitive = dict(headers or {}), set(sensitive_headers or ())
        check_webhook(url, custom, sensitive)
        return self._add(
            Destination(_new_id(), name, kind, url, None, custom, frozenset(sensitive))
        )

    def _add(self, destination: Destination) -> str:
        with self._lock:
            self._destinations[destination.id] = destination
        return destination.id

    def _fan_out(self, notification: dict[str, Any], wants: Wants) -> str:
        with self._lock:
            self._notifications.append(notification)
            targets = [
                self._destinations[s.destination_id]
                for s in self._subscriptions.values()
                if wants(s)
            ]
            if not self._stop.is_set():
                for destination in targets:
                    self._start_worker(destination, notification)
        return str(notification["notification_id"])

    def _start_worker(self, destination: Destination, notification: dict[str, Any]) -> None:
        """Called with the lock held."""
        worker = threading.Thread(
            target=self._deliver,
            args=(destination, notification),
            name=f"en-delivery-{destination.name}",
            daemon=True,
        )
        self._workers.add(worker)
        worker.start()

    def _deliver(self, destination: Destination, notification: dict[str, Any]) -> None:
        try:
            self._attempts(destination, notification)
        finally:
            with self._idle:
                self._workers.discard(threading.current_thread())
                self._idle.notify_all()

    def _attempts(self, destination: Destination, notification: dict[str, Any]) -> None:
        attempts = 1 + self.retries
        for attempt in range(1, attempts + 1):
            result = self._attempt(destination, notification)
            final = result.ok or not result.retryable or attempt == attempts
            outcome: Outcome = "delivered" if result.ok else ("lost" if final else "retrying")
            delivery = Delivery.of(destination, notification, attempt, result, outcome)
            with self._lock:
                self._deliveries.append(delivery)
            if final:
                return
            wait = backoff(
                attempt,
                minimum=self.backoff_min,
                maximum=self.backoff_max,
                retry_after=result.retry_after,
            )
            if self._stop.wait(wait):
                return

    def _attempt(self, destination: Destination, notification: dict[str, Any]) -> AttemptResult:
        if destination.kind == "code_engine_job":
            return run_job(self._code_engine(), destination, notification)
        return post_webhook(destination, notification, self.timeout)


def _new_id() -> str:
    return str(uuid.uuid4())
