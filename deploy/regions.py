"""Where each service runs, as IBM documents it, and its public endpoint in a region. Pure.

The lists are the documentation's, so a typo (`us-southh`) is named before any call instead of
ending in a connection error; a region IBM adds later needs a line here (or the service's `url`
in certsync.yaml, which is used as given).
"""

from __future__ import annotations

# ibm-cloud-docs/codeengine `regions.md`, "Code Engine is available in the following regions".
CODE_ENGINE = (
    "br-sao",
    "ca-tor",
    "us-east",
    "us-south",
    "au-syd",
    "in-che",
    "jp-osa",
    "jp-tok",
    "eu-de",
    "eu-gb",
    "eu-es",
)
# ibm-cloud-docs/secrets-manager `endpoints.md`, "Supported regions".
SECRETS_MANAGER = (
    "us-south",
    "us-east",
    "ca-tor",
    "ca-mon",
    "br-sao",
    "eu-gb",
    "eu-de",
    "eu-es",
    "jp-tok",
    "jp-osa",
    "au-syd",
    "in-mum",
    "in-che",
)
# ibm-cloud-docs/event-notifications `en-regions-endpoints.md`, "Available regions".
EVENT_NOTIFICATIONS = (
    "us-south",
    "eu-gb",
    "au-syd",
    "eu-de",
    "eu-es",
    "ca-tor",
    "jp-tok",
    "jp-osa",
    "br-sao",
    "ca-mon",
    "us-east",
    "in-che",
    "in-mum",
)


def named(regions: tuple[str, ...]) -> str:
    return ", ".join(sorted(regions))


def code_engine_url(region: str) -> str:
    """`regions.md`, "endpoints for managing project resources": `api.<region>.codeengine...`."""
    return f"https://api.{region}.codeengine.cloud.ibm.com/v2"


def secrets_manager_url(instance_guid: str, region: str) -> str:
    """`endpoints.md`, public endpoints: `https://{instance_ID}.<region>.secrets-manager...`."""
    return f"https://{instance_guid}.{region}.secrets-manager.appdomain.cloud"


def event_notifications_url(region: str) -> str:
    """`en-regions-endpoints.md`, public endpoints (the SDK appends `/v1/instances/{guid}`)."""
    return f"https://{region}.event-notifications.cloud.ibm.com/event-notifications"
