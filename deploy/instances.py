"""Where the Secrets Manager and Event Notifications instances are: looked up, never assumed.

Each instance lives in a region of its own service's list, not necessarily the Code Engine
project's (secrets-manager `endpoints.md`, event-notifications `en-regions-endpoints.md`). The
Resource Controller (`ResourceControllerV2.get_resource_instance` by GUID) gives its CRN and
`region_id`; the CRN is what Event Notifications names a source by and what the trigger accepts,
the region is where its API answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deploy import regions
from shared.crn import Crn, parse_crn
from shared.errors import CertsyncError, NotFoundError

if TYPE_CHECKING:
    from deploy.clients import AccountClients

SECRETS_MANAGER, EVENT_NOTIFICATIONS = "secrets-manager", "event-notifications"
REGIONS = {
    SECRETS_MANAGER: regions.SECRETS_MANAGER,
    EVENT_NOTIFICATIONS: regions.EVENT_NOTIFICATIONS,
}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class InstanceError(CertsyncError):
    """An instance named in certsync.yaml is missing, of another service, or elsewhere."""


@dataclass(frozen=True)
class Wanted:
    key: str  # the certsync.yaml key that names it, e.g. "secrets_manager.instance_id"
    service: str  # the CRN's service name
    guid: str
    written_crn: str | None  # the CRN as written in certsync.yaml, if one was
    url: str | None  # the service URL override (`secrets_manager.url`, ...), if any


@dataclass(frozen=True)
class Instance:
    crn: str
    region: str
    url: str


def parse_instance_id(text: str, service: str) -> tuple[str, str | None, list[str]]:
    """(GUID, CRN or None, problems) for an instance named in certsync.yaml by its GUID or its
    CRN; the CRN's GUID is what is looked up, its region what the instance's must be. Pure."""
    if GUID.match(text.lower()):
        return text.lower(), None, []
    crn = parse_crn(text)
    if crn is None or crn.resource_type or not GUID.match(crn.service_instance.lower()):
        return (
            "",
            None,
            [
                f"expected the {service} instance's GUID or its CRN "
                f"(crn:v1:bluemix:public:{service}:<region>:a/<account>:<guid>::)"
            ],
        )
    problems = []
    if crn.service_name != service:
        problems.append(f"that CRN names a {crn.service_name!r} instance, not a {service!r} one")
    known = REGIONS.get(service, ())
    if crn.location not in known:
        problems.append(
            f"region {crn.location!r} in that CRN is not one {service} runs in "
            f"({regions.named(known)})"
        )
    return crn.service_instance.lower(), crn.instance, problems


def look_up(clients: AccountClients, wanted: Wanted) -> Instance:
    """The instance's CRN, region and API URL; InstanceError naming the key when it cannot be."""
    try:
        found = clients.call(
            lambda: clients.resource_controller.get_resource_instance(wanted.guid),
            f"look up {wanted.service} instance '{wanted.guid}' in the Resource Controller",
        )
    except NotFoundError:
        raise InstanceError(
            f"'{wanted.key}': no service instance '{wanted.guid}' in this account (the Resource "
            f"Controller answered 404); nothing was changed. Check the GUID or CRN with "
            f"'ibmcloud resource service-instances --service-name {wanted.service} --long'"
        ) from None
    return _checked(wanted, found)


def _checked(wanted: Wanted, found: dict[str, Any]) -> Instance:
    crn = parse_crn(str(found.get("crn") or found.get("id") or ""))
    region = str(found.get("region_id") or (crn.location if crn else ""))
    problem = (
        "the Resource Controller gave no CRN for it"
        if crn is None
        else _problem(wanted, found, crn)
    )
    if crn is None or problem:
        raise InstanceError(f"'{wanted.key}' ({wanted.guid}): {problem}; nothing was changed")
    return Instance(crn=crn.instance, region=region, url=wanted.url or _url(wanted, region))


def _problem(wanted: Wanted, found: dict[str, Any], crn: Crn) -> str | None:
    if crn.service_name != wanted.service:
        return f"it is a {crn.service_name!r} instance, not a {wanted.service!r} one"
    state = str(found.get("state") or "")
    if state != "active":
        return f"the instance is in state {state!r}, not 'active'"
    region = str(found.get("region_id") or crn.location)
    written = parse_crn(wanted.written_crn) if wanted.written_crn else None
    if written is not None and written.location != region:
        return (
            f"the CRN in certsync.yaml says region {written.location!r}, but the instance is in "
            f"{region!r} (Resource Controller): fix the CRN, or write the GUID alone"
        )
    if wanted.url is None and region not in REGIONS[wanted.service]:
        return (
            f"the instance is in region {region!r}, where {wanted.service} has no public endpoint "
            f"that certsync knows ({regions.named(REGIONS[wanted.service])}): set its 'url'"
        )
    return None


def _url(wanted: Wanted, region: str) -> str:
    if wanted.service == SECRETS_MANAGER:
        return regions.secrets_manager_url(wanted.guid, region)
    return regions.event_notifications_url(region)
