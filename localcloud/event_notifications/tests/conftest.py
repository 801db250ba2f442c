"""Fixtures of the Event Notifications contract tests: a receiver, and a cloud that is not served
(publishing and delivery need no server) with delivery timing shrunk for tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud import LocalCloud
from localcloud.event_notifications import EventNotifications
from localcloud.event_notifications.tests.support import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    r.thread.join(5)


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
