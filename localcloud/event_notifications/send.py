"""The send-notifications API of a custom source: the request checked as the real API checks it,
the notification its destinations receive, and Event Notifications' error envelope.

The SDK (`ibm-eventnotifications` 0.25, `EventNotificationsV1.send_notifications(instance_id,
body=NotificationCreate)`) posts the CloudEvent as JSON to `POST /v1/instances/{instance_id}/
notifications` under the service URL `https://{region}.event-notifications.cloud.ibm.com/
event-notifications`. The answer is 202 with a `NotificationResponse`, `{"notification_id": ...}`
(IBM/event-notifications-python-admin-sdk `test/integration/test_event_notifications_v1.py`
asserts 202 and reads `notification_id`), and the operation's other statuses, listed there, are
400, 401, 415 and 500.

Checked as documented (ibm-cloud-docs/event-notifications, `en-payload.md` unless named):
- the attributes `NotificationCreate.from_dict` requires: specversion, id, source, type,
  ibmensourceid, ibmendefaultshort, ibmendefaultlong;
- `specversion` "must be set to "1.0""; `datacontenttype`: "only "application/json" is
  supported"; `data` "must be a valid JSON object"; `time` "must be in the RFC 3339 format";
- `ibmensourceid` is "the ID of the source that is created in Event Notifications";
- "The size limit for a send notification request is limited to 64 KB" (`en-about.md`);
- errors carry `status_code`, `trace` and `errors[].code/message/more_info`, as the 403 example
  in `en-iam-assign-topic-subscription.md` shows.

Unknown, and the stricter choice made here:
- `ibmendefaultshort`/`ibmendefaultlong` are "optional" in the docs but required by the SDK's
  model, which is generated from the API definition: required.
- Required attributes must be non-empty strings; other attributes pass through unchecked.
- `time` needs a `T` and an offset (RFC 3339 as Go parses it), although a docs example shows a
  Go-formatted time, so the real service may be laxer.
- 64 KB is 64,000 bytes of request body; a larger one answers 400 (413 is not among the
  operation's statuses), as does an unknown source id (a bad value in the body).
- An unknown instance answers 404 (the real one may answer 401 or 403 from its access check).
- A repeated `source`+`id` is delivered again: the docs ask for unique ids and allow resending one
  after a failure, but do not say that the service drops duplicates.
- Binary content mode (`ce-` headers) is not emulated; structured mode is, as `application/json`
  (what the SDK sends) or `application/cloudevents+json`.
- A destination receives the attributes as sent plus `notification_id`, like the envelope of IBM
  sources (`en-map-notification-payload.md`).
- Error `code` strings are not published (the docs show only `authorization_error`): ours are
  descriptive. A missing or bad token is answered by the shared middleware (401, platform
  envelope without `more_info`).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from localcloud.http import JSON, BadRequest, json_response, read_json_object

API = "/event-notifications"
MAX_BYTES = 64_000
CLOUDEVENTS_JSON = "application/cloudevents+json"
MORE_INFO = "https://cloud.ibm.com/apidocs/event-notifications#send-notifications"
REQUIRED = (
    "specversion",
    "id",
    "source",
    "type",
    "ibmensourceid",
    "ibmendefaultshort",
    "ibmendefaultlong",
)
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")


class EnError(BadRequest):
    """An error answered in Event Notifications' envelope: the platform's, plus `more_info`."""

    def response(self) -> Response:
        trace = str(uuid.uuid4())
        error = {"code": self.code, "message": self.message, "more_info": MORE_INFO}
        body = {"status_code": self.status, "trace": trace, "errors": [error]}
        return json_response(body, self.status, {"X-Correlation-Id": trace})


def invalid(message: str) -> EnError:
    return EnError(message, status=400, code="bad_request")


def not_found(what: str, ident: str) -> EnError:
    return EnError(f"{what} '{ident[:64]}' not found", status=404, code="not_found")


async def read_notification(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, at most MAX_BYTES, in either structured media type."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raise invalid(f"request body is {len(raw)} bytes, more than the limit of {MAX_BYTES}")
    media_type = CLOUDEVENTS_JSON if ctype == CLOUDEVENTS_JSON else JSON
    try:
        return await read_json_object(request, media_type)
    except BadRequest as exc:
        raise EnError(exc.message, status=exc.status, code=exc.code) from None


def check_notification(body: Mapping[str, Any]) -> None:
    """Every problem of a `NotificationCreate` body at once, as one 400."""
    problems = [
        f"'{key}' is required and must be a non-empty string"
        for key in REQUIRED
        if not isinstance(body.get(key), str) or not body[key]
    ]
    if body.get("specversion", "1.0") != "1.0":
        problems.append(f"'specversion' must be '1.0', got {body['specversion']!r}")
    if body.get("datacontenttype", JSON) != JSON:
        problems.append(f"'datacontenttype' must be '{JSON}', got {body['datacontenttype']!r}")
    if "data" in body and not isinstance(body["data"], dict):
        problems.append("'data' must be a JSON object")
    if "time" in body and not _is_rfc3339(body["time"]):
        problems.append(f"'time' must be an RFC 3339 timestamp, got {str(body['time'])[:64]!r}")
    if problems:
        raise invalid("Invalid notification: " + "; ".join(problems))


def delivered(body: Mapping[str, Any], notification_id: str) -> dict[str, Any]:
    """What a destination receives: the attributes as sent, plus `notification_id`."""
    return {**body, "notification_id": notification_id}


def _is_rfc3339(value: Any) -> bool:
    if not isinstance(value, str) or not _RFC3339.match(value):
        return False
    try:
        dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return True
