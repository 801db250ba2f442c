"""Secrets Manager as a source of Event Notifications: its registration (through
`ibm-secrets-manager-sdk`) and the source it makes appear in Event Notifications.

Two things a real account does that a first reading misses:
- The source's id is the Secrets Manager instance CRN (the id topics name), but a CRN is not a
  valid source id in a request path (`en-cli.md`, `source --id`: 1 to 100 characters of
  `[a-zA-Z0-9-:_]`; a CRN is longer and holds a `/`). So the source is found by listing the
  sources (the SDK's `SourcesPager`) and matching the id, never read by id.
- A new IAM authorization takes time to take effect: IBM's Terraform modules wait 30 s after
  creating one before using it (terraform-ibm-modules, e.g. the Cloud Logs module's
  `time_sleep.wait_for_en_authorization_policy` after its "Event Source Manager" authorization,
  "workaround for https://github.com/IBM-Cloud/terraform-provider-ibm/issues/4478"). Until then
  Secrets Manager is refused; the status it answers is not documented (403 assumed). A 403 here is
  retried for up to a minute, under the one retry layer, with a progress line.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from ibm_eventnotifications.event_notifications_v1 import SourcesPager

from deploy.clients import Clients
from shared.errors import PermanentError, RetryableError
from shared.retry import RetryPolicy, call_with_retry
from shared.sdk import call_once

WHAT = "register Secrets Manager with Event Notifications"
# How long a new authorization may take to let Secrets Manager register (see above).
PROPAGATION = RetryPolicy(attempts=60, total_seconds=60.0, initial_wait=1.0, max_wait=8.0)


def secrets_manager_source(clients: Clients, instance: str, crn: str) -> dict[str, Any] | None:
    """The Event Notifications source of the Secrets Manager instance `crn`, or None."""
    pager = SourcesPager(client=clients.event_notifications, instance_id=instance, limit=100)
    sources = clients.pages(pager, "list Event Notifications sources")
    return next((s for s in sources if s.get("id") == crn), None)


def register(
    clients: Clients, body: dict[str, str], progress: Callable[[str], None]
) -> dict[str, Any]:
    """Create the registration, waiting up to `PROPAGATION.total_seconds` while IAM answers 403."""
    started = time.monotonic()

    def attempt() -> dict[str, Any]:
        try:
            return call_once(
                lambda: clients.secrets_manager.create_notifications_registration(**body),
                what=WHAT,
            )
        except PermanentError as exc:
            if exc.status != 403:
                raise
            progress(
                f"waiting for IAM: Secrets Manager may not register with Event Notifications yet "
                f"(HTTP 403, {time.monotonic() - started:.0f} s); a new service authorization "
                f"takes effect within about a minute"
            )
            raise RetryableError(str(exc), status=403) from None

    policy = dataclasses.replace(PROPAGATION, sleep=clients.policy.sleep)
    try:
        return call_with_retry(attempt, policy, operation=WHAT)
    except RetryableError as exc:
        if exc.status != 403:
            raise
        raise PermanentError(
            f"{exc}. The service authorization secrets-manager -> event-notifications ('Event "
            f"Source Manager') has not let Secrets Manager register after "
            f"{policy.total_seconds:.0f} s: check that it exists (ibmcloud iam "
            f"authorization-policies), then run apply again",
            status=403,
        ) from None
