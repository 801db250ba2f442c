"""Event Notifications adapter: publish an alert as certsync's custom source."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Protocol

from job.alerts import Alert
from shared.retry import RetryPolicy
from shared.sdk import call_api

SOURCE = "certsync"


class EventNotificationsApi(Protocol):
    def send_notifications(self, instance_id: str, **kwargs: Any) -> Any: ...


class Notifier:
    """Publishes alerts as the custom source `source_id` of instance `instance_id`."""

    def __init__(
        self, api: EventNotificationsApi, instance_id: str, source_id: str, *, policy: RetryPolicy
    ) -> None:
        self._api = api
        self._instance = instance_id
        self._source = source_id
        self._policy = policy

    def publish(self, alert: Alert, now: dt.datetime) -> None:
        # Imported here: only runs that send an alert pay for loading the SDK (~0.1 s).
        from ibm_eventnotifications.event_notifications_v1 import NotificationCreate

        body = NotificationCreate(
            specversion="1.0",
            id=str(uuid.uuid4()),
            source=SOURCE,
            type=alert.type,
            ibmensourceid=self._source,
            ibmendefaultshort=alert.short,
            ibmendefaultlong=alert.long,
            time=now,
            ibmenseverity=alert.severity,
            data=alert.data,
            datacontenttype="application/json",
        )
        call_api(
            lambda: self._api.send_notifications(self._instance, body=body),
            what=f"publish alert {alert.type!r} for {alert.target!r}",
            policy=self._policy,
        )
