"""The Resource Controller's view of the account: one record per service instance.

The real API (https://resource-controller.cloud.ibm.com, `ResourceControllerV2` in
ibm_platform_services/resource_controller_v2.py) answers `GET /v2/resource_instances/{id}` for "a
resource instance by URL-encoded CRN or GUID", with a `ResourceInstance`. The fields kept here are
the ones the SDK's model documents and a client may read: `id` (the instance's CRN, as the API
reference's example response shows), `guid`, `url`, `crn`, `name`, `region_id` ("the deployment
location where the instance was provisioned"), `account_id`, `resource_group_id`,
`resource_group_crn`, `resource_id` (the catalog offering's id), `resource_plan_id`,
`target_crn`, `type`, `state` ("if the instance is deleted, it will return removed") and
`created_at`. The instances are the account's Secrets Manager and Event Notifications instances,
each in its own region (`Identity.sm_region`, `Identity.en_region`). Code Engine projects (also
resource instances on a real account) are not listed: nothing here looks them up.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from localcloud.account import Site

RESOURCE_GROUP_ID = "0be5ad401ae913d8ff665d92680664ed"  # the account's "Default" group (made up)
CREATED_AT = "2025-01-06T09:00:00.000Z"
# Global catalog offering ids. Secrets Manager's is published (IBM's catalog, also in
# infracost's IBM provider map); Event Notifications' is not found in IBM's docs: a stand-in.
CATALOG_IDS = {
    "secrets-manager": "ebc0cdb0-af2a-11ea-98c7-29e5db822649",
    "event-notifications": "event-notifications-local-catalog-id",
}


@dataclass(frozen=True)
class Instance:
    service: str  # the CRN's service name: "secrets-manager", "event-notifications"
    guid: str
    crn: str
    region: str
    name: str
    state: str = "active"


class ResourceController:
    def __init__(self, site: Site) -> None:
        self.site = site
        self._lock = threading.Lock()
        self._removed: set[str] = set()

    def instances(self) -> list[Instance]:
        identity = self.site.identity
        return [
            Instance(
                "secrets-manager",
                identity.sm_instance_id,
                identity.sm_instance_crn,
                identity.sm_region,
                "secrets-manager-local",
                self._state(identity.sm_instance_id),
            ),
            Instance(
                "event-notifications",
                identity.en_instance_id,
                identity.en_instance_crn,
                identity.en_region,
                "event-notifications-local",
                self._state(identity.en_instance_id),
            ),
        ]

    def remove(self, guid: str) -> None:
        """Delete an instance: the API then answers it with `state: removed` (the SDK's
        `ResourceInstance.state` docstring), as during the reclamation period."""
        with self._lock:
            self._removed.add(guid)

    def find(self, id_or_crn: str) -> Instance | None:
        """By GUID, or by CRN (with or without the trailing `::`)."""
        wanted = id_or_crn.strip()
        for instance in self.instances():
            if wanted in (instance.guid, instance.crn, instance.crn.removesuffix("::")):
                return instance
        return None

    def to_dict(self, instance: Instance) -> dict[str, Any]:
        account = self.site.identity.account_id
        group_crn = f"crn:v1:bluemix:public:resource-controller::a/{account}::resource-group:"
        plan = f"{instance.service}-standard"
        body: dict[str, Any] = {
            "id": instance.crn,
            "guid": instance.guid,
            "url": f"/v2/resource_instances/{instance.guid}",
            "crn": instance.crn,
            "name": instance.name,
            "region_id": instance.region,
            "account_id": account,
            "resource_group_id": RESOURCE_GROUP_ID,
            "resource_group_crn": group_crn + RESOURCE_GROUP_ID,
            "resource_id": CATALOG_IDS[instance.service],
            "resource_plan_id": plan,
            "target_crn": (
                f"crn:v1:bluemix:public:globalcatalog::::deployment:{plan}%3A{instance.region}"
            ),
            "type": "service_instance",
            "state": instance.state,
            "created_at": CREATED_AT,
        }
        if instance.state == "removed":
            body["deleted_at"] = CREATED_AT
        return body

    def _state(self, guid: str) -> str:
        with self._lock:
            return "removed" if guid in self._removed else "active"
