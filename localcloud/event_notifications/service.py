"""Event Notifications: Secrets Manager and custom sources, topics, subscriptions, and delivery.

Secrets Manager (the emulator) calls `publish_secret_event` on every event; an application sends
its own as a custom (API) source with `publish_notification` (the send-notifications API, send.py;
routes in routes.py). Each matching subscription gets the notification in a background thread:
webhook and Code Engine app destinations by HTTP POST with retries (see delivery.py), Code Engine
job destinations as a job run whose `ibmendata` environment variable holds the notification JSON
(`en-destination-codeengine.md`: "The event payload has been transmitted to Code Engine job by
using an environment variable ... `ibmendata`").

Sources go through topics as on the real service (topics.py, catalog.py): a topic's rules name
sources and filter their notifications; a subscription links a topic to a destination. Secrets
Manager is such a source once it has registered (`register_source`, called by
localcloud/secrets_manager/notifications.py) and while IAM authorizes it: "Event Source Manager"
from secrets-manager (its instance) to event-notifications (this instance), checked at each
event; a notification refused for want of it is recorded (`rejections`).

The in-process shortcut stays beside it: a subscription without a topic names the Secrets Manager
events it wants (`secret_rotated`, `secret_about_to_expire:in_10_days`, ...), or None for all,
registered or not, and gets no custom-source notification.

A Code Engine job destination created through the API (it names a project CRN) runs the job only
while IAM authorizes event-notifications (this instance) on codeengine (that project) with both
Viewer and Writer (`en-destination-codeengine.md`, "Using authorizations to grant access between
services": with one role only "you cannot trigger a job"); otherwise the attempt fails with 403,
final, recorded as a lost delivery.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.account import Site
from localcloud.event_notifications.catalog import Catalog, Subscription, new_id
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
from localcloud.event_notifications.probe import TestStatus, test_notification
from localcloud.event_notifications.send import (
    API,
    check_notification,
    delivered,
    invalid,
    not_found,
)
from localcloud.event_notifications.topics import SECRETS_MANAGER_TYPE, CustomSource, Rule, Topic

# IAM's service-to-service check, as LocalCloud.iam.authorized takes it: (source service,
# source instance, target service, target instance, role) -> bool.
Authorizer = Callable[[str, str, str, str, str], bool]
SOURCE_ROLE = "Event Source Manager"
JOB_ROLES = ("Viewer", "Writer")

Wants = Callable[[Subscription], bool]

__all__ = ["Authorizer", "EventNotifications", "Rejection", "Subscription"]


@dataclass(frozen=True)
class Rejection:
    """A source's notification that was not ingested, and why."""

    notification_id: str
    source_id: str
    reason: str
    at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def to_dict(self) -> dict[str, str]:
        return {
            "notification_id": self.notification_id,
            "source_id": self.source_id,
            "reason": self.reason,
            "at": self.at,
        }


def _deny(*_: str) -> bool:
    return False


class EventNotifications:
    def __init__(
        self,
        site: Site,
        job_runs: Callable[[], JobRunner],
        authorized: Authorizer = _deny,
    ) -> None:
        """`job_runs` (Code Engine's) is looked up at each job delivery: a test may replace them.
        `authorized` is IAM's check (LocalCloud wires `iam.authorized`)."""
        self.site = site
        self._job_runs = job_runs
        self._authorized = authorized
        # Delivery timing: the real values; tests shrink them on the instance.
        self.timeout = 10.0
        self.retries = 3
        self.backoff_min = 1.0
        self.backoff_max = 10.0
        self.catalog = Catalog()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._notifications: list[dict[str, Any]] = []
        self._deliveries: list[Delivery] = []
        self._rejections: list[Rejection] = []
        self._tests: dict[str, TestStatus] = {}
        self._workers: set[threading.Thread] = set()

    @property
    def api_url(self) -> str:
        """The SDK's service URL (`https://{region}.event-notifications.cloud.ibm.com/...`)."""
        return f"{self.site.url}{API}"

    # -- configuration (in-process API) --------------------------------------------------------
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
        """A job destination of the in-process shortcut: no project CRN, no IAM check."""
        if not job_name:
            raise ValueError("a Code Engine job destination needs a job name")
        return self._add(Destination(new_id(), name, "code_engine_job", job_name=job_name))

    def add_custom_source(self, name: str, *, description: str = "") -> str:
        """Register an API source; returns its id (`<uuid>:api`), the `ibmensourceid` it sends."""
        return self.catalog.put_source(CustomSource.new(name, description)).id

    def add_topic(self, name: str, *rules: Rule) -> str:
        """A topic fed by `rules`: each lets one source's matching notifications in."""
        if not name.strip():
            raise ValueError("a topic needs a name")
        with self.catalog.lock:
            unknown = sorted({r.source_id for r in rules} - set(self.catalog.sources))
            if unknown:
                raise KeyError(f"no custom sources {unknown}")
            topic = Topic(new_id(), name, tuple(rules))
            self.catalog.topics[topic.id] = topic
        return topic.id

    def subscribe(
        self,
        destination_id: str,
        event_sub_types: set[str] | None = None,
        *,
        topic_id: str | None = None,
    ) -> str:
        """Route the named Secrets Manager events (None: all) to the destination, or, with
        `topic_id`, the notifications that topic lets in."""
        if topic_id is not None and event_sub_types is not None:
            raise ValueError("a subscription names Secrets Manager events or a topic, not both")
        for selector in event_sub_types or ():
            check_selector(selector)
        with self.catalog.lock:
            if destination_id not in self.catalog.destinations:
                raise KeyError(f"no destination {destination_id!r}")
            if topic_id is not None and topic_id not in self.catalog.topics:
                raise KeyError(f"no topic {topic_id!r}")
            events = None if event_sub_types is None else frozenset(event_sub_types)
            sub = Subscription(new_id(), destination_id, events, topic_id)
            self.catalog.subscriptions[sub.id] = sub
        return sub.id

    def destinations(self) -> list[Destination]:
        with self.catalog.lock:
            return list(self.catalog.destinations.values())

    # -- service sources (Secrets Manager's registration) ---------------------------------
    def register_source(self, source_id: str, name: str, description: str = "") -> None:
        """Create or update the source of a registered service instance (id: its CRN)."""
        source = CustomSource(source_id, name, description, type=SECRETS_MANAGER_TYPE)
        self.catalog.put_source(source)

    def unregister_source(self, source_id: str) -> None:
        self.catalog.remove_service_source(source_id)

    def source_authorized(self) -> bool:
        """IAM lets Secrets Manager act as a source of this instance."""
        identity = self.site.identity
        return self._authorized(
            "secrets-manager",
            identity.sm_instance_id,
            "event-notifications",
            identity.en_instance_id,
            SOURCE_ROLE,
        )

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
        return [self._publish_secret(n, event) for n in notifications]

    def publish_test_event(self) -> list[str]:
        """What Secrets Manager's "Send test event" produces."""
        notification = notification_for_test_event(self.site.identity)
        return [self._publish_secret(notification, SecretEvent("test_event"))]

    def publish_notification(self, body: Mapping[str, Any]) -> str:
        """Send a custom source's notification (a `NotificationCreate` body), checked as the
        send-notifications API checks it (raises `EnError`); returns its `notification_id`."""
        check_notification(body)
        if body["ibmensourceid"] not in self.catalog.sources:
            source = body["ibmensourceid"][:80]
            raise invalid(f"'ibmensourceid' {source!r} is not a source of this instance")
        topics = self.catalog.topics_for(body)
        notification = delivered(json.loads(json.dumps(body)), new_id())
        return self._fan_out(notification, lambda s: s.topic_id in topics)

    def notifications(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(json.dumps(n)) for n in self._notifications]

    # -- destination tests -----------------------------------------------------------------
    def test_destination(self, destination_id: str) -> tuple[str, TestStatus | None]:
        """Send the test notification: (notification id, None) for a webhook, delivered in the
        background; (notification id, outcome) for the others, delivered before returning."""
        destination = self.catalog.destination(destination_id)
        notification = test_notification(self.site.identity)
        nid = str(notification["notification_id"])
        if destination.kind != "webhook":
            self._test(destination, notification)
            return nid, self.notification_status(nid)
        with self._lock:
            self._tests[nid] = TestStatus("inprogress")
            self._start_worker(self._test, destination, notification)
        return nid, None

    def notification_status(self, notification_id: str) -> TestStatus:
        with self._lock:
            if notification_id not in self._tests:
                raise not_found("Notification", notification_id)
            return self._tests[notification_id]

    # -- observation -----------------------------------------------------------------------
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def rejections(self) -> list[Rejection]:
        """Notifications of registered sources refused at ingestion (IAM authorization gone)."""
        with self._lock:
            return list(self._rejections)

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
        return self._add(Destination(new_id(), name, kind, url, None, custom, frozenset(sensitive)))

    def _add(self, destination: Destination) -> str:
        with self.catalog.lock:
            self.catalog.destinations[destination.id] = destination
        return destination.id

    def _publish_secret(self, notification: dict[str, Any], event: SecretEvent) -> str:
        """The shortcut's subscriptions, plus the topics of the registered source if IAM still
        authorizes it."""
        topics: set[str] = set()
        source_id = str(notification["ibmensourceid"])
        if source_id in self.catalog.sources:
            if self.source_authorized():
                topics = self.catalog.topics_for(notification)
            else:
                reason = (
                    f"no IAM authorization secrets-manager -> event-notifications "
                    f"granting '{SOURCE_ROLE}'"
                )
                with self._lock:
                    nid = str(notification["notification_id"])
                    self._rejections.append(Rejection(nid, source_id, reason))
        return self._fan_out(notification, lambda s: s.wants(event) or s.topic_id in topics)

    def _fan_out(self, notification: dict[str, Any], wants: Wants) -> str:
        with self.catalog.lock:
            targets = [
                self.catalog.destinations[s.destination_id]
                for s in self.catalog.subscriptions.values()
                if wants(s)
            ]
        with self._lock:
            self._notifications.append(notification)
            if not self._stop.is_set():
                for destination in targets:
                    self._start_worker(self._attempts, destination, notification)
        return str(notification["notification_id"])

    def _start_worker(
        self,
        work: Callable[[Destination, dict[str, Any]], None],
        destination: Destination,
        notification: dict[str, Any],
    ) -> None:
        """Called with the lock held."""
        worker = threading.Thread(
            target=self._run,
            args=(work, destination, notification),
            name=f"en-delivery-{destination.name}",
            daemon=True,
        )
        self._workers.add(worker)
        worker.start()

    def _run(
        self,
        work: Callable[[Destination, dict[str, Any]], None],
        destination: Destination,
        notification: dict[str, Any],
    ) -> None:
        try:
            work(destination, notification)
        finally:
            with self._idle:
                self._workers.discard(threading.current_thread())
                self._idle.notify_all()

    def _test(self, destination: Destination, notification: dict[str, Any]) -> None:
        result = self._attempt(destination, notification)
        outcome: Outcome = "delivered" if result.ok else "lost"
        with self._lock:
            self._deliveries.append(Delivery.of(destination, notification, 1, result, outcome))
            self._tests[str(notification["notification_id"])] = TestStatus.of(result)

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
            if destination.project_crn is not None and not self._job_authorized(destination):
                roles = " and ".join(JOB_ROLES)
                error = f"no IAM authorization event-notifications -> codeengine granting {roles}"
                return AttemptResult(403, error, 0.0)
            return run_job(self._job_runs(), destination, notification)
        return post_webhook(destination, notification, self.timeout)

    def _job_authorized(self, destination: Destination) -> bool:
        project = str(destination.project_crn).split(":")[7]
        en = self.site.identity.en_instance_id
        return all(
            self._authorized("event-notifications", en, "codeengine", project, role)
            for role in JOB_ROLES
        )
