"""Fixtures of the Event Notifications contract tests: two receivers, a cloud that is not served
(publishing and delivery need no server) with delivery timing shrunk for tests, the same cloud
served with an API key for the SDK, and an SDK client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ibm_eventnotifications.event_notifications_v1 import EventNotificationsV1

from localcloud import LocalCloud
from localcloud.event_notifications import EventNotifications
from localcloud.event_notifications.tests.support import APIKEY, Receiver, sdk_client


def _serve() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    r.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _serve()


@pytest.fixture
def other_receiver() -> Iterator[Receiver]:
    yield from _serve()


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    cloud = LocalCloud()
    en = cloud.event_notifications
    en.timeout, en.backoff_min, en.backoff_max = 2.0, 0.01, 0.05
    yield cloud
    assert en.wait_idle(10), "deliveries still running at teardown"
    cloud.stop()


@pytest.fixture
def en(cloud: LocalCloud) -> EventNotifications:
    return cloud.event_notifications


@pytest.fixture
def served(cloud: LocalCloud) -> LocalCloud:
    cloud.iam.add_apikey(APIKEY)
    return cloud.start()


@pytest.fixture
def sdk(served: LocalCloud) -> Iterator[EventNotificationsV1]:
    service = sdk_client(served)
    yield service
    service.http_client.close()
