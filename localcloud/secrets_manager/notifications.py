"""Secrets Manager's registration with Event Notifications, `/api/v2/notifications/registration`
(`notifications_routes.py`), as the SDK's `SecretsManagerV2` calls it:
`create_notifications_registration` (POST, 201, `NotificationsRegistration`),
`get_notifications_registration` (GET, 200),
`delete_notifications_registration` (DELETE, 204), `get_notifications_registration_test`
(GET `.../test`, 204: the SDK's Go example expects 204; the docs' prose says "200 OK").

Documented (ibm-cloud-docs/secrets-manager `framework/event-notifications.md`):
- registering needs an IAM authorization secrets-manager -> event-notifications with the "Event
  Source Manager" role; Secrets Manager "uses the existing authorization to unregister", so the
  authorization must still exist to delete the registration;
- the source appears in Event Notifications under the given name and description; its id is the
  Secrets Manager instance CRN (the id topics name);
- the test event is `com.ibm.cloud.secrets-manager.test_event`, delivered through the topics.
Terraform's `ibm_sm_en_registration` updates by calling create again: a second create replaces the
registration (201 again).

Unknown, and the stricter choice made here:
- An Event Notifications CRN other than this account's instance answers 400, a missing
  authorization 403 (code `forbidden`), both in the platform envelope Secrets Manager uses.
- Without a registration, delete and test answer 404 like get.
- The test fails with 403 when the authorization has gone since registering.
- Source names and descriptions are limited only to what the API definition's other free-text
  fields take: a name of 1-256 characters, a description of at most 1024.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from localcloud.account import Site
from localcloud.http import BadRequest

SOURCE_ROLE = "Event Source Manager"
Authorizer = Callable[[str, str, str, str, str], bool]


class SourceRegistry(Protocol):
    """What Secrets Manager asks of Event Notifications (`EventNotifications`)."""

    def register_source(self, source_id: str, name: str, description: str = "") -> None: ...

    def unregister_source(self, source_id: str) -> None: ...

    def publish_test_event(self) -> list[str]: ...


@dataclass(frozen=True)
class Registration:
    event_notifications_instance_crn: str
    source_name: str
    source_description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """`NotificationsRegistration`: only the instance CRN."""
        return {"event_notifications_instance_crn": self.event_notifications_instance_crn}


class Notifications:
    def __init__(
        self, site: Site, events: Callable[[], SourceRegistry], authorized: Authorizer
    ) -> None:
        self.site = site
        self._events = events
        self._authorized = authorized
        self._lock = threading.Lock()
        self._registration: Registration | None = None

    def register(self, crn: str, name: str, description: str = "") -> Registration:
        identity = self.site.identity
        if crn != identity.en_instance_crn:
            raise BadRequest(
                f"Invalid event_notifications_instance_crn '{crn[:256]}': not an Event "
                "Notifications instance of this account"
            )
        self._check_authorized()
        registration = Registration(crn, name, description)
        with self._lock:
            self._events().register_source(identity.sm_instance_crn, name, description)
            self._registration = registration
        return registration

    def get(self) -> Registration:
        with self._lock:
            if self._registration is None:
                raise BadRequest(
                    "Not found: notifications registration does not exist",
                    status=404,
                    code="not_found",
                )
            return self._registration

    def delete(self) -> None:
        self.get()
        self._check_authorized()
        with self._lock:
            self._events().unregister_source(self.site.identity.sm_instance_crn)
            self._registration = None

    def send_test(self) -> list[str]:
        self.get()
        self._check_authorized()
        return self._events().publish_test_event()

    def _check_authorized(self) -> None:
        identity = self.site.identity
        if not self._authorized(
            "secrets-manager",
            identity.sm_instance_id,
            "event-notifications",
            identity.en_instance_id,
            SOURCE_ROLE,
        ):
            raise BadRequest(
                "Forbidden: no IAM authorization lets secrets-manager instance "
                f"'{identity.sm_instance_id}' act as a source of event-notifications instance "
                f"'{identity.en_instance_id}' (role '{SOURCE_ROLE}')",
                status=403,
                code="forbidden",
            )
