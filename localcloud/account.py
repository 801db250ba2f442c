"""Who the emulated account is, and what a service may know of the cloud that hosts it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Identity:
    """Who and where this emulated account is.

    `region` is the default Code Engine project's. The Secrets Manager and Event Notifications
    instances live in their own regions (`sm_region`, `en_region`; empty: `region`), as on a real
    account, where each instance is created in a region of its service's own list
    (secrets-manager `endpoints.md`, event-notifications `en-regions-endpoints.md`) whatever
    region the Code Engine project is in. Their CRNs carry that region.
    """

    account_id: str = "b0c0ffee0000000000000000000000a1"
    region: str = "us-south"
    project_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sm_instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    en_instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sm_region: str = ""
    en_region: str = ""

    def __post_init__(self) -> None:
        # frozen: the defaults that depend on `region` are filled in once, here
        object.__setattr__(self, "sm_region", self.sm_region or self.region)
        object.__setattr__(self, "en_region", self.en_region or self.region)

    @property
    def sm_instance_crn(self) -> str:
        return (
            f"crn:v1:bluemix:public:secrets-manager:{self.sm_region}:a/{self.account_id}:"
            f"{self.sm_instance_id}::"
        )

    @property
    def en_instance_crn(self) -> str:
        return (
            f"crn:v1:bluemix:public:event-notifications:{self.en_region}:a/{self.account_id}:"
            f"{self.en_instance_id}::"
        )

    def secret_crn(self, secret_id: str) -> str:
        return self.sm_instance_crn.removesuffix("::") + f":secret:{secret_id}"


class TokenIssuer(Protocol):
    """IAM as the services see it: the issuer of compute-resource tokens (`Iam` is one; this
    module imports no service, so every service, IAM too, may import it)."""

    def compute_resource_token(self, crn: str, component_type: str, component_name: str) -> str:
        """A token for the Code Engine `job` or `application` `component_name` of project `crn`."""
        ...


class Site(Protocol):
    """The cloud as a service sees it: the account, and the base URL every service answers on
    (known once the server has started, so read it when needed)."""

    @property
    def identity(self) -> Identity: ...

    @property
    def url(self) -> str: ...

    @property
    def iam(self) -> TokenIssuer:
        """IAM, which issues the compute-resource tokens of Code Engine components."""
        ...
