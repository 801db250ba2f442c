"""A destination test (`POST .../destinations/{id}/test`): the notification it sends and the status
`GET .../notifications/{id}` reports.

The SDK (`test_destination`, `get_notifications_status`) and its integration test
(IBM/event-notifications-python-admin-sdk `test/integration/test_event_notifications_v1.py`,
`test_webhook_destination`) show: a webhook test answers 202 with
`{"status": "accepted", "notification_id", "destination_type"}`
(`TestDestinationResponseWebhookDestinationTestResponseConfig`), and the notification's status is
then read with `get_notifications_status` (200, `GetNotificationStatusResponse`: `status` one of
`success`, `failure`, `inprogress`, and `details` with `status_code` and `status_message`). Other
destinations answer 200 with `{"status": ...}`. `en-test-destination.md`: a successful test
delivers a test event; a failed one reports the destination's response code and message.

Unknown, and the stricter choice made here:
- The test notification's body is not documented, so a destination may rely on nothing but it
  being a JSON object. Sent: a shape no destination could have been written against, no CloudEvent
  `type` and no `data`: `notification_id`, `source` (the instance CRN), `time` and a `message`,
  with the destination's custom headers.
- One attempt, no retries; while it runs the status is `inprogress` with `status_code` 0.
- A synchronous test (Code Engine destinations) that fails answers 400 with the status and message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from localcloud.account import Identity
from localcloud.event_notifications.delivery import AttemptResult
from localcloud.event_notifications.payload import now_rfc3339

Status = Literal["success", "failure", "inprogress"]


def test_notification(identity: Identity) -> dict[str, Any]:
    return {
        "notification_id": str(uuid.uuid4()),
        "source": identity.en_instance_crn,
        "time": now_rfc3339(),
        "message": "Test notification from IBM Cloud Event Notifications",
    }


@dataclass(frozen=True)
class TestStatus:
    """What `get_notifications_status` reports for one test notification."""

    __test__ = False  # not a pytest class

    status: Status
    status_code: int = 0
    status_message: str = "in progress"

    @classmethod
    def of(cls, result: AttemptResult) -> TestStatus:
        if result.ok:
            return cls("success", result.status or 200, "OK")
        return cls("failure", result.status or 0, result.error or f"HTTP {result.status}")

    def to_dict(self) -> dict[str, Any]:
        details = {"status_code": self.status_code, "status_message": self.status_message}
        return {"status": self.status, "details": details}
