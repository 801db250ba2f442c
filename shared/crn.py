"""IBM Cloud Resource Names, parsed in one place.

`crn:v1:<cname>:<ctype>:<service-name>:<location>:<scope>:<service-instance>:<resource-type>:
<resource>` (IBM Cloud docs, "Cloud Resource Names"). An instance's own CRN ends in `::`; a CRN
written without the two empty trailing segments is accepted as the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

SEGMENTS = 10


@dataclass(frozen=True)
class Crn:
    service_name: str
    location: str  # a region such as `eu-de`, or `global`
    instance_prefix: str  # crn:v1:<cname>:<ctype>:<service-name>:<location>:<scope>:<instance>
    service_instance: str
    resource_type: str
    resource: str

    @property
    def instance(self) -> str:
        """The CRN of the service instance this names (or is): `...:<instance>::`."""
        return self.instance_prefix + "::"


def parse_crn(text: str) -> Crn | None:
    """The CRN in `text`, or None when it is not one."""
    parts = text.strip().split(":")
    if parts[0] != "crn" or not SEGMENTS - 2 <= len(parts) <= SEGMENTS:
        return None
    parts += [""] * (SEGMENTS - len(parts))
    return Crn(
        service_name=parts[4],
        location=parts[5],
        instance_prefix=":".join(parts[:8]),
        service_instance=parts[7],
        resource_type=parts[8],
        resource=parts[9],
    )


SECRETS_MANAGER = "secrets-manager"


def secrets_manager_instance(text: str) -> str | None:
    """The Secrets Manager instance CRN that `text` is or names a resource of, or None."""
    crn = parse_crn(text)
    if crn is None or crn.service_name != SECRETS_MANAGER or not crn.service_instance:
        return None
    return crn.instance


def instance_crn(service_name: str, location: str, account_id: str, instance: str) -> str:
    """The CRN of a service instance in IBM Cloud's public cloud: `crn:v1:bluemix:public:
    <service-name>:<location>:a/<account>:<instance>::`."""
    return f"crn:v1:bluemix:public:{service_name}:{location}:a/{account_id}:{instance}::"
